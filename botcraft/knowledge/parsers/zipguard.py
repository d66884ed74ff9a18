"""Refuse zip bombs before an Office parser inflates a DOCX or XLSX."""

from __future__ import annotations

import zipfile
from pathlib import Path

from botcraft.i18n import N_
from botcraft.knowledge.parsers.base import ExtractionError, ExtractLimits

# Small members (styles, relationships) routinely compress 100x+; only large ones can hurt.
_RATIO_CHECK_MIN_BYTES = 1024 * 1024


def check_zip(path: Path, limits: ExtractLimits, what: str) -> None:
    """Raise ExtractionError if the archive would inflate past the limits.

    Reads only the central directory. Python's zipfile never inflates a member past its
    declared size, so the declared sizes are what python-docx can be made to read.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ExtractionError(
            N_("The {format} file is damaged or incomplete. Open it, save it again and re-upload.").format(format=what)
        ) from exc
    total = 0
    for info in members:
        total += info.file_size
        if (
            info.file_size >= _RATIO_CHECK_MIN_BYTES
            and info.file_size > limits.max_compression_ratio * max(info.compress_size, 1)
        ):
            raise ExtractionError(_too_big(what))
    if total > limits.max_uncompressed_bytes:
        raise ExtractionError(_too_big(what))


def _too_big(what: str) -> str:
    return N_("The {format} file unpacks to far more data than a real document holds, "
              "so it was refused. Save it again from Word or Excel and re-upload.").format(format=what)
