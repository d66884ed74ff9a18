"""Types shared by the document parsers, and the text cleanup they all apply."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from botcraft.i18n import N_


@dataclass(frozen=True, slots=True)
class Passage:
    """One structural unit of a document (heading, paragraph, table row, page), in order."""

    text: str
    kind: str  # "heading" | "paragraph" | "table_row" | "row" | "page_text" | "ocr"
    page: int | None = None  # 1-based PDF page
    sheet: str | None = None  # XLSX sheet name
    row: int | None = None  # 1-based spreadsheet row number


@dataclass
class Extraction:
    passages: list[Passage]
    pages: int | None  # PDF pages / 1 for images / None otherwise


@dataclass(frozen=True)
class ExtractLimits:
    max_pages: int = 1000
    time_limit_s: float = 120.0
    max_uncompressed_bytes: int = 200 * 1024 * 1024  # zip bomb guard for docx/xlsx
    max_compression_ratio: float = 200.0
    max_image_pixels: int = 50_000_000  # decompression bomb guard
    ocr_languages: str = "rus+eng"


class ExtractionError(Exception):
    """The file cannot be turned into text; `reason` is shown to the owner as is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Deadline:
    """Wall-clock budget for one extraction, checked between units of work."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def check(self) -> None:
        if time.monotonic() > self._end:
            raise ExtractionError(
                N_("Reading this file took longer than {seconds} seconds. "
                   "Split it into smaller files and upload them separately.").format(seconds=f"{self.seconds:g}")
            )


# A line-end hyphen that PDF text layers mark as soft ("достав-\nка"): rejoin the word.
_SOFT_HYPHEN_BREAK = re.compile("[\x02\u00ad\ufffe][ \t]*\n[ \t]*")
# C0/C1 controls except \t and \n, and invisible characters that split words when indexed.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200d\u2060\ufeff\ufffe\uffff]")
# Whitespace other than " " and "\n": tabs, NBSP, thin and other typographic spaces.
_ODD_SPACE = re.compile("[\t\x0b\x0c\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_MULTI_SPACE = re.compile("  +")
_SPACE_AT_LINE_END = re.compile(" \n ?|\n ")
_BLANK_LINES = re.compile("\n{3,}")


def clean_text(text: str) -> str:
    """Normalise whitespace and drop control characters, keeping lines and paragraph breaks.

    A blank line separates paragraphs; single newlines (PDF line ends, breaks in a cell) stay.
    This runs over every extracted character, so each step is skipped when a cheap check
    shows it has nothing to do (the usual case), and the patterns match only what changes.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Every control, invisible or non-ASCII space character is non-printable.
    if not text.replace("\n", " ").isprintable():
        text = _SOFT_HYPHEN_BREAK.sub("", text)
        text = _INVISIBLE.sub("", text)
        text = _ODD_SPACE.sub(" ", text)
    if "  " in text:
        text = _MULTI_SPACE.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _SPACE_AT_LINE_END.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def clean_inline(text: str) -> str:
    """Cleanup for a value that must stay on one line (a table cell, a heading)."""
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text  # the usual case, checked at C speed: once per spreadsheet cell
    return " ".join(_INVISIBLE.sub("", text).split())
