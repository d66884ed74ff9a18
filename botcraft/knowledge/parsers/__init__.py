"""Turn an uploaded file into passages of text; every failure is an ExtractionError."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from botcraft.i18n import N_
from botcraft.knowledge.parsers.base import (
    Extraction,
    ExtractionError,
    ExtractLimits,
    Passage,
    clean_text,
)
from botcraft.knowledge.parsers.docx import parse_docx
from botcraft.knowledge.parsers.image import ocr_image, parse_image
from botcraft.knowledge.parsers.pdf import parse_pdf
from botcraft.knowledge.parsers.xlsx import parse_xlsx

__all__ = [
    "ExtractLimits",
    "Extraction",
    "ExtractionError",
    "Passage",
    "clean_text",
    "extract",
    "ocr_image",
]

PARSERS: dict[str, Callable[[Path, ExtractLimits], Extraction]] = {
    "pdf": parse_pdf,
    "docx": parse_docx,
    "xlsx": parse_xlsx,
    "jpg": parse_image,
    "png": parse_image,
}


def extract(path: Path, file_type: str, limits: ExtractLimits) -> Extraction:
    """Passages of the file at `path`, whose type was decided by `sniff.detect_type`."""
    parser = PARSERS.get(file_type)
    if parser is None:
        raise ExtractionError(N_("Files of type {file_type} cannot be read.").format(file_type=file_type))
    try:
        extraction = parser(path, limits)
    except ExtractionError:
        raise
    except MemoryError as exc:
        raise ExtractionError(
            "The file is too large to process. Split it into smaller files."
        ) from exc
    except Exception as exc:
        # Parsers turn the failures they know into clear reasons; anything a library throws
        # on a malformed file beyond those still means "unreadable", not a crashed job.
        # The original exception stays attached as __cause__ for the logs.
        raise ExtractionError(
            "The file could not be read; it may be damaged. Save it again and re-upload."
        ) from exc
    if not extraction.passages:
        raise ExtractionError(
            "No text was found in this file. If it is a scan or a photo, "
            "upload a sharper image where the text is clearly readable."
        )
    return extraction
