"""The `process_document` job: parse in a child process, then replace the chunks at once."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import delete, insert

from botcraft.i18n import N_
from botcraft.jobs.queue import ClaimedJob
from botcraft.knowledge import embedding
from botcraft.knowledge.storage import tmp_dir
from botcraft.models import Chunk, ChunkVector, Document, utcnow
from botcraft.runtime import Runtime

log = structlog.get_logger("botcraft.knowledge")

_INSERT_BATCH = 2000


@dataclass(frozen=True)
class ParseLimits:
    max_pages: int = 1000
    time_limit_s: float = 120.0


class _NoText(Exception):
    """Raised inside the storing transaction so that nothing of an empty result is kept."""


class ParseFailed(Exception):
    """The document cannot be read; `reason` is for the owner."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _parser_slots(runtime: Runtime) -> asyncio.Semaphore:
    # One parse per core at a time: parsing is CPU-bound, more would only queue in the OS.
    return runtime.parser_slots


async def parse_in_child(path: Path, file_type: str, limits: ParseLimits, out: Path) -> int | None:
    """Run the parser child; its chunks are left in `out` as JSON lines. Returns the page count."""
    request = json.dumps({"path": str(path), "file_type": file_type, "limits": asdict(limits), "out": str(out)})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "botcraft.knowledge.parse_child", str(os.getpid()),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(request.encode()), timeout=limits.time_limit_s + 5)
    except TimeoutError:
        raise ParseFailed(
            N_("Reading the file took longer than {seconds} seconds; split it into smaller files.").format(
                seconds=int(limits.time_limit_s))
        ) from None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        log.warning("parser_crashed", returncode=process.returncode, stderr=stderr.decode(errors="replace")[-2000:])
        raise ParseFailed("The file could not be read: it seems damaged or uses features we do not support.")
    with out.open(encoding="utf-8") as lines:
        header = json.loads(lines.readline() or "{}")
    if "error" in header:
        raise ParseFailed(str(header["error"]))
    pages: int | None = header.get("pages")
    return pages


def _chunk_batches(out: Path, document_id: int, agent_id: int) -> Iterator[list[dict[str, Any]]]:
    """The child's chunks as insert rows, a batch at a time (the header line skipped)."""
    batch: list[dict[str, Any]] = []
    with out.open(encoding="utf-8") as lines:
        lines.readline()
        for line in lines:
            c = json.loads(line)
            batch.append({
                "document_id": document_id, "agent_id": agent_id, "ordinal": c["ordinal"], "text": c["text"],
                "search_text": c["search_text"], "page": c["page"], "sheet": c["sheet"],
                "row_start": c["row_start"], "row_end": c["row_end"],
            })
            if len(batch) >= _INSERT_BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


async def process_document(runtime: Runtime, job: ClaimedJob) -> None:
    document_id = int(job.payload["document_id"])
    db = runtime.db
    async with db.transaction() as session:
        document = await session.get(Document, document_id)
        if document is None:
            return  # deleted since: nothing to do
        document.status, document.error = "processing", None
        path = runtime.settings.data_dir / document.file_path
        file_type = document.file_type
        agent_id = document.agent_id

    limits = ParseLimits(max_pages=runtime.settings.max_document_pages,
                         time_limit_s=runtime.settings.document_time_limit_seconds)
    # Its own file per attempt: a worker whose lease ran out may still be writing its own.
    out = tmp_dir(runtime.settings.data_dir) / f"chunks-{document_id}-{job.id}-{secrets.token_hex(4)}.jsonl"
    try:
        try:
            if not path.exists():
                raise ParseFailed("The stored file is missing; upload it again.")
            async with _parser_slots(runtime):
                pages = await parse_in_child(path, file_type, limits, out)
        except ParseFailed as exc:
            await _mark_failed(runtime, document_id, exc.reason)
            return
        except Exception:
            if job.attempts >= job.max_attempts:
                reason = N_("Processing failed repeatedly; try uploading the file again.")
                await _mark_failed(runtime, document_id, reason)
            raise
        try:
            await _store_chunks(runtime, document_id, agent_id, out, pages)
        except _NoText:
            await _mark_failed(runtime, document_id, N_("No text was found in the file."))
    finally:
        out.unlink(missing_ok=True)


async def _store_chunks(runtime: Runtime, document_id: int, agent_id: int, out: Path, pages: int | None) -> None:
    async with runtime.db.transaction() as session:
        document = await session.get(Document, document_id)
        if document is None:
            return
        # Replacing (not appending) keeps a retried or reprocessed job from doubling chunks.
        await session.execute(delete(Chunk).where(Chunk.document_id == document_id))
        await session.execute(delete(ChunkVector).where(ChunkVector.document_id == document_id))
        count = 0
        for batch in _chunk_batches(out, document_id, agent_id):
            await session.execute(insert(Chunk), batch)
            count += len(batch)
        if count == 0:
            raise _NoText
        document.status = "ready"
        document.error = None
        document.chunk_count = count
        document.pages = pages
        document.processed_at = utcnow()
        embedding.queue_for(session, document)  # ready for words now; meaning follows in jobs
    log.info("document_ready", document_id=document_id, chunks=count)


async def _mark_failed(runtime: Runtime, document_id: int, reason: str) -> None:
    async with runtime.db.transaction() as session:
        document = await session.get(Document, document_id)
        if document is None:
            return
        await session.execute(delete(Chunk).where(Chunk.document_id == document_id))
        await session.execute(delete(ChunkVector).where(ChunkVector.document_id == document_id))
        document.status, document.error = "failed", reason
        document.embedding_status, document.embedded_count, document.embedding_total = None, 0, 0
        document.chunk_count = 0
        document.processed_at = utcnow()
    log.info("document_failed", document_id=document_id, reason=reason)
