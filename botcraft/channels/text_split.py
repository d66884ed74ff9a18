"""Cut long text into parts that fit a messenger's length limit.

Telegram and WhatsApp refuse messages over 4096 characters, Instagram over 1000. A cut in
the middle of a word reads badly, so each part ends at the largest natural boundary that
fits: a paragraph, then a line (list items), then a sentence, then a word, and only when a
single "word" is longer than the limit (a URL, a base64 blob) in the middle of it.

Every splitter here works on plain text. Markdown and HTML callers split their source with
`split_spans` and render each part themselves (see telegram/format.py), so that no part ever
starts or ends inside a tag, an entity or a code block.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Length = Callable[[str], int]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts in (an emoji can count as 2).

    Measuring this way is never shorter than len(), so a part that fits by this measure
    fits whichever way the platform counts.
    """
    return len(text.encode("utf-16-le")) // 2


def utf8_len(text: str) -> int:
    """Length in UTF-8 bytes: Instagram's DM limit is 1000 bytes (a Cyrillic letter is 2)."""
    return len(text.encode("utf-8"))


# Boundaries from the largest to the smallest. Sentence ends allow a closing quote or
# bracket after the punctuation («Да.» / (см. выше.)) — two fixed-width lookbehinds,
# because Python's lookbehind cannot have alternatives of different widths.
_LEVELS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\n[ \t]*\n\s*"),  # paragraph: one or more blank lines
    re.compile(r"\n"),  # line
    re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"'»”)\]]))\s+"),  # sentence
    re.compile(r"\s+"),  # word
)


def split_plain(text: str, limit: int, length: Length = len) -> list[str]:
    """Split `text` into stripped parts of at most `limit` (by `length`), in order.

    Empty or whitespace-only text gives []. Text that fits is returned as one part.
    """
    return [text[start:end] for start, end in split_spans(text, limit, length)]


def split_spans(text: str, limit: int, length: Length = len) -> list[tuple[int, int]]:
    """Like split_plain, but as (start, end) offsets into `text`.

    Offsets let a caller that holds richer data per character (styles, tags) cut that data
    at exactly the same places.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    spans: list[tuple[int, int]] = []
    _split(text, 0, len(text), 0, limit, length, spans)
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split(
    text: str,
    start: int,
    end: int,
    level: int,
    limit: int,
    length: Length,
    out: list[tuple[int, int]],
) -> None:
    start, end = _trim(text, start, end)
    if start >= end:
        return
    if length(text[start:end]) <= limit:
        out.append((start, end))
        return
    if level == len(_LEVELS):
        _hard_cut(text, start, end, limit, length, out)
        return

    # The pieces between separators of this level, as spans of `text`.
    pieces: list[tuple[int, int]] = []
    cursor = start
    for match in _LEVELS[level].finditer(text, start, end):
        if match.start() > cursor:
            pieces.append((cursor, match.start()))
        cursor = match.end()
    if cursor < end:
        pieces.append((cursor, end))
    if len(pieces) <= 1:
        _split(text, start, end, level + 1, limit, length, out)
        return

    # Greedy packing: keep adding pieces (with the original separators between them)
    # while the part still fits; a piece that alone is too long goes one level down.
    current: tuple[int, int] | None = None
    for piece_start, piece_end in pieces:
        if current is not None and length(text[current[0] : piece_end]) <= limit:
            current = (current[0], piece_end)
            continue
        if current is not None:
            out.append(_trim(text, *current))
            current = None
        if length(text[piece_start:piece_end]) <= limit:
            current = (piece_start, piece_end)
        else:
            _split(text, piece_start, piece_end, level + 1, limit, length, out)
    if current is not None:
        out.append(_trim(text, *current))


def _hard_cut(
    text: str, start: int, end: int, limit: int, length: Length, out: list[tuple[int, int]]
) -> None:
    while start < end:
        # The longest prefix that fits: binary search, since `length` may count a
        # character as more than one unit (UTF-16 surrogate pairs).
        low, high = 1, min(limit, end - start)
        while low < high:
            middle = (low + high + 1) // 2
            if length(text[start : start + middle]) <= limit:
                low = middle
            else:
                high = middle - 1
        out.append((start, start + low))
        start += low
