"""Uploaded files on disk, stored once by content hash under DATA_DIR/files/."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.models import Document


def tmp_dir(data_dir: Path) -> Path:
    path = data_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def relative_path(sha256: str) -> str:
    return f"files/{sha256[:2]}/{sha256}"


def store(data_dir: Path, temp_file: Path, sha256: str) -> str:
    """Move a finished upload into place; the same content is kept once."""
    relative = relative_path(sha256)
    target = data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        temp_file.unlink(missing_ok=True)
    else:
        os.replace(temp_file, target)  # atomic: a reader never sees half a file
    return relative


async def remove_unreferenced(db: AsyncSession, data_dir: Path, sha256s: Iterable[str]) -> None:
    """Delete files no document points at any more (call after the deleting commit)."""
    wanted = set(sha256s)
    if not wanted:
        return
    still_used = set(await db.scalars(select(Document.sha256).where(Document.sha256.in_(wanted))))
    for sha in wanted - still_used:
        (data_dir / relative_path(sha)).unlink(missing_ok=True)
