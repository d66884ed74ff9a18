"""Group passages into chunks: the units that are indexed, retrieved and quoted as sources.

Rules: a chunk never spans two pages or two sheets; a spreadsheet or table row is a chunk
of its own (one price-list row is one fact to retrieve); paragraphs are packed up to about
`target_words`; a heading is put in front of what follows it; a passage longer than
`max_words` is cut at sentence ends (or line ends, for lists and PDF tables).

Structure is context: a PDF page's heading (its first line, when short and not a sentence)
is put in front of every chunk cut from the page, and a spreadsheet row's searchable text
starts with its sheet's name ("Доставка"), so "доставка в Самару" finds "Самара | 3 дня".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from botcraft.knowledge.parsers.base import Passage

_ROW_KINDS = frozenset({"row", "table_row"})
# A sentence end: . ! ? … (and closing quotes or brackets) and the whitespace after them.
_SENTENCE_END = re.compile(r"[.!?…][\"»)\]]*\s+")


@dataclass(frozen=True, slots=True)
class Chunk:
    ordinal: int
    text: str
    page: int | None
    sheet: str | None
    row_start: int | None
    row_end: int | None

    def searchable_text(self) -> str:
        """What is indexed: the text, after the sheet's name for a spreadsheet row."""
        return f"{self.sheet}\n{self.text}" if self.sheet else self.text


def chunk_passages(
    passages: Iterable[Passage], target_words: int = 180, max_words: int = 300
) -> list[Chunk]:
    builder = _Builder(target_words, max_words)
    for passage in passages:
        builder.add(passage)
    builder.flush()
    builder.flush_heading()
    return builder.chunks


class _Builder:
    def __init__(self, target_words: int, max_words: int) -> None:
        self.target_words = target_words
        self.max_words = max_words
        self.chunks: list[Chunk] = []
        self.parts: list[str] = []  # paragraphs waiting to become one chunk
        self.words = 0
        self.at: Passage | None = None  # the first passage of the pending paragraphs
        self.heading = ""  # heading(s) waiting for the next chunk
        self.heading_at: Passage | None = None

    def add(self, passage: Passage) -> None:
        if self.at is not None and not _same_place(self.at, passage):
            self.flush()
        if self.heading_at is not None and not _same_place(self.heading_at, passage):
            self.flush_heading()
        if passage.kind == "heading":
            self.flush()
            self.heading = f"{self.heading}\n{passage.text}" if self.heading else passage.text
            if self.heading_at is None:
                self.heading_at = passage
        elif passage.kind in _ROW_KINDS:
            self.flush()
            for piece in _split(passage.text, self.target_words, self.max_words):
                self.emit(self._with_heading(piece), passage)
        else:
            pieces = _split(passage.text, self.target_words, self.max_words)
            heading = _page_heading(passage) if len(pieces) > 1 else ""
            for i, piece in enumerate(pieces):
                self._append(f"{heading}\n{piece}" if i and heading else piece, passage)

    def _append(self, text: str, passage: Passage) -> None:
        words = _count_words(text)
        if self.parts and self.words + words > self.target_words:
            self.flush()
        if not self.parts:
            self.at = passage
        self.parts.append(text)
        self.words += words

    def flush(self) -> None:
        if self.parts and self.at is not None:
            self.emit(self._with_heading("\n\n".join(self.parts)), self.at)
        self.parts, self.words, self.at = [], 0, None

    def flush_heading(self) -> None:
        """A heading with nothing after it (on its page) is still searchable text."""
        if self.heading_at is not None:
            self.emit(self.heading, self.heading_at)
        self.heading, self.heading_at = "", None

    def _with_heading(self, text: str) -> str:
        if not self.heading:
            return text
        text = f"{self.heading}\n\n{text}"
        self.heading, self.heading_at = "", None
        return text

    def emit(self, text: str, at: Passage) -> None:
        self.chunks.append(Chunk(len(self.chunks), text, at.page, at.sheet, at.row, at.row))


_PAGE_KINDS = frozenset({"page_text", "ocr"})
_PRICE_LIKE = re.compile(r"[₽$€]|\bруб|\d{3,}")


def _page_heading(passage: Passage) -> str:
    """A PDF page's first line when it reads as a heading: short, and not a sentence."""
    if passage.kind not in _PAGE_KINDS or passage.page is None:
        return ""
    first = passage.text.split("\n", 1)[0].strip()
    if len(first) > 80 or _count_words(first) > 10 or first.endswith((".", ",", ";", ":", "!", "?")) \
            or _PRICE_LIKE.search(first):
        return ""  # a sentence, or the first item of a list ("Товар 1 … 100 ₽")
    return first


def _same_place(a: Passage, b: Passage) -> bool:
    return a.page == b.page and a.sheet == b.sheet


def _count_words(text: str) -> int:
    # Passages are cleaned (single spaces, newlines), so separators count the words; this
    # runs on every passage, and str.count is several times faster than str.split.
    return text.count(" ") + text.count("\n") + 1


def _split(text: str, target_words: int, max_words: int) -> list[str]:
    """`text` itself if short enough, else pieces of at most about `target_words` each.

    Each cut is the last sentence end (else line end, else word end) before `target_words`
    words; only the region around each cut is searched, never the whole text sentence by
    sentence, since PDF pages come here several hundred words at a time.
    """
    pieces = []
    while _count_words(text) > max_words:
        limit = _words_prefix(target_words).match(text)
        end = limit.end() if limit else len(text)
        window_start = end // 2
        cut = end
        for match in _SENTENCE_END.finditer(text, window_start, end):
            cut = match.end()
        if cut == end:
            newline = text.rfind("\n", window_start, end)
            cut = newline + 1 if newline != -1 else end
        pieces.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        pieces.append(text)
    return pieces


@functools.cache
def _words_prefix(words: int) -> re.Pattern[str]:
    return re.compile(rf"\s*(?:\S+\s+){{{words}}}")
