"""Decide what an uploaded file is from its content; the file name is never trusted."""

from __future__ import annotations

import zipfile
from pathlib import Path

SUPPORTED_FORMATS = ("PDF", "DOCX", "XLSX", "JPG", "PNG")

# How many leading bytes callers should read and pass as `head`.
HEAD_BYTES = 8192

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_PDF = b"%PDF-"
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CONTENT_TYPES = "[Content_Types].xml"
_DOCX_MAIN = "word/document.xml"
_XLSX_MAIN = "xl/workbook.xml"


def detect_type(head: bytes, path: str | Path) -> str | None:
    """Return "pdf", "docx", "xlsx", "jpg" or "png", or None for anything else.

    `head` is the start of the file (at least the first few hundred bytes); `path` is only
    read for zip containers, whose type is decided by their member names.
    """
    if head.startswith(_PNG):
        return "png"
    if head.startswith(_JPEG):
        return "jpg"
    # Readers (and pdfium) accept junk before the header within the first kilobyte.
    if _PDF in head[:1024]:
        return "pdf"
    if head.startswith(_ZIP):
        return _office_type(_zip_names(head, Path(path)))
    return None


def _office_type(names: set[str]) -> str | None:
    if _CONTENT_TYPES not in names:
        return None
    if _DOCX_MAIN in names:
        return "docx"
    if _XLSX_MAIN in names:
        return "xlsx"
    return None


def _zip_names(head: bytes, path: Path) -> set[str]:
    try:
        with zipfile.ZipFile(path) as zf:
            return set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        # No readable central directory (a truncated upload): fall back to the local file
        # headers at the start, so a damaged DOCX is reported as damaged, not as "unknown".
        return _local_header_names(head)


def _local_header_names(head: bytes) -> set[str]:
    names: set[str] = set()
    pos = 0
    while head.startswith(_ZIP, pos) and pos + 30 <= len(head):
        compressed = int.from_bytes(head[pos + 18 : pos + 22], "little")
        name_len = int.from_bytes(head[pos + 26 : pos + 28], "little")
        extra_len = int.from_bytes(head[pos + 28 : pos + 30], "little")
        name_end = pos + 30 + name_len
        if name_end > len(head):
            break
        names.add(head[pos + 30 : name_end].decode("utf-8", "replace"))
        pos = name_end + extra_len + compressed
    return names
