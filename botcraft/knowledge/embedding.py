"""The `embed_document` job: vectors for a document that is already `ready` for word search.

- Queued by processing in the transaction that makes the document ready, and at start-up for
  every ready document whose vectors are of another model (the model changed): those are
  re-embedded, and search meanwhile compares only vectors of the model in use.
- Works in batches, each committed with the document's progress (`embedded 240/800`), so a
  worker killed in the middle loses one batch at most; the next attempt starts after what is
  stored. A span's vector is unique per (document, model, first ordinal), so a batch that is
  committed twice is stored once.
- Bounded cost: at most EMBEDDINGS_MAX_VECTORS_PER_DOCUMENT vectors per document. A longer
  document (a 150,000-row price list) gets one vector per run of neighbouring chunks, from
  their first SPAN_CHARS characters; every row stays findable by words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.embeddings.base import EmbeddingError
from botcraft.i18n import N_
from botcraft.jobs.kinds import EMBED_DOCUMENT
from botcraft.jobs.queue import ClaimedJob, complete_in, enqueue
from botcraft.jobs.registry import PermanentJobError, RetryLater
from botcraft.knowledge import meaning
from botcraft.models import Chunk, ChunkVector, Document
from botcraft.runtime import Runtime

log = structlog.get_logger("botcraft.knowledge")

# Text of one vector: e5 reads at most 512 tokens at once; past that it averages windows,
# costing time in proportion. 1,500 characters is about one window of Russian text.
SPAN_CHARS = 1500
_BATCH = 32


@dataclass(frozen=True)
class Span:
    start: int  # first chunk ordinal
    end: int  # last chunk ordinal
    text: str


class _SpanBuilder:
    """Spans from chunks taken in ordinal order: one per chunk, or runs of `size` neighbours.

    Only a run's first SPAN_CHARS characters are kept, so memory follows the number of
    vectors, not the size of the document (a 150,000-row price list)."""

    def __init__(self, count: int, max_vectors: int) -> None:
        self.size = max(1, math.ceil(count / max(1, max_vectors)))
        self.spans: list[Span] = []
        self._taken = 0
        self._start = self._end = 0
        self._texts: list[str] = []
        self._length = 0

    def add(self, ordinal: int, text: str) -> None:
        if self._taken % self.size == 0:
            self._close()
            self._start = ordinal
        self._end = ordinal
        if self._length < SPAN_CHARS:
            self._texts.append(text)
            self._length += len(text) + 1
        self._taken += 1

    def finish(self) -> list[Span]:
        self._close()
        return self.spans

    def _close(self) -> None:
        if self._texts:
            self.spans.append(Span(self._start, self._end, "\n".join(self._texts)[:SPAN_CHARS]))
        self._texts, self._length = [], 0


async def read_spans(session: AsyncSession, document_id: int, max_vectors: int) -> list[Span]:
    """The document's spans, its chunks streamed in ordinal order (never all in memory)."""
    count = await session.scalar(select(func.count()).select_from(Chunk).where(Chunk.document_id == document_id))
    builder = _SpanBuilder(int(count or 0), max_vectors)
    result = await session.stream(
        select(Chunk.ordinal, Chunk.text).where(Chunk.document_id == document_id).order_by(Chunk.ordinal))
    async for partition in result.partitions(2000):
        for ordinal, text in partition:
            builder.add(ordinal, text)
    return builder.finish()


def queue_for(session: AsyncSession, document: Document) -> None:
    """In the transaction that makes `document` ready: its vectors are to be computed."""
    current = meaning.current()
    if current is None:
        document.embedding_status, document.embedding_model = None, None
        document.embedded_count = document.embedding_total = 0
        return
    document.embedding_status, document.embedding_model = "queued", current.model
    document.embedded_count, document.embedding_total, document.embedding_error = 0, 0, None
    enqueue(session, EMBED_DOCUMENT, {"document_id": document.id, "model": current.model}, max_attempts=10)


async def queue_model_change(runtime: Runtime) -> int:
    """Queue re-embedding of every ready document whose vectors are of another model.

    A conditional UPDATE claims the documents, so several processes starting at once queue
    each document once.
    """
    current = meaning.current()
    if current is None:
        return 0
    model = current.model
    async with runtime.db.transaction() as session:
        ids = list((await session.execute(
            update(Document)
            .where(Document.status == "ready",
                   (Document.embedding_model.is_(None)) | (Document.embedding_model != model))
            .values(embedding_status="queued", embedding_model=model, embedded_count=0,
                    embedding_total=0, embedding_error=None)
            .returning(Document.id)
            .execution_options(synchronize_session=False)
        )).scalars())
        for document_id in ids:
            enqueue(session, EMBED_DOCUMENT, {"document_id": document_id, "model": model}, max_attempts=10)
    if ids:
        log.info("reembedding_queued", documents=len(ids), model=model)
    return len(ids)


def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> Any:
    """Insert vectors, skipping any already stored (a batch committed by a killed worker)."""
    dialect = session.get_bind().dialect.name
    stmt = (sqlite_insert if dialect == "sqlite" else pg_insert)(ChunkVector).values(rows)
    return stmt.on_conflict_do_nothing(index_elements=["document_id", "model", "ordinal_start"])


async def embed_document(runtime: Runtime, job: ClaimedJob) -> None:
    current = meaning.current()
    document_id, model = int(job.payload["document_id"]), str(job.payload["model"])
    if current is None or current.model != model:
        return  # embeddings turned off or the model changed since: start-up queued the new one
    db = runtime.db
    async with db.transaction() as session:
        document = await session.get(Document, document_id)
        if document is None or document.status != "ready" or document.embedding_model != model:
            return  # deleted, reprocessed or superseded: a newer job has it
        processed_at, agent_id = document.processed_at, document.agent_id
        spans = await read_spans(session, document_id, current.max_vectors_per_document)
        done = set((await session.execute(
            select(ChunkVector.ordinal_start).where(ChunkVector.document_id == document_id,
                                                    ChunkVector.model == model)
        )).scalars())
        document.embedding_status, document.embedding_total = "running", len(spans)
        document.embedded_count, document.embedding_error = len(done), None
    pending = [s for s in spans if s.start not in done]
    for i in range(0, len(pending), _BATCH):
        batch = pending[i:i + _BATCH]
        try:
            vectors = await current.embedder.embed_passages([s.text for s in batch])
        except EmbeddingError as exc:
            if exc.retryable and job.attempts < job.max_attempts:
                raise RetryLater(str(exc), seconds=exc.retry_after) from exc
            reason = N_("Search by meaning could not be prepared ({reason}); word search still finds this "
                        "document.").format(reason=str(exc))
            await _mark_failed(runtime, document_id, model, reason)
            raise PermanentJobError(str(exc)) from exc
        if not await _store(runtime, document_id=document_id, agent_id=agent_id, model=model,
                            processed_at=processed_at, batch=batch, vectors=vectors):
            return  # the document changed under us; its new job takes over
    async with db.transaction() as session:
        document = await session.get(Document, document_id)
        if document is None or document.processed_at != processed_at or document.embedding_model != model:
            return
        # Vectors of an earlier model are dropped once this one covers the document.
        await session.execute(delete(ChunkVector).where(ChunkVector.document_id == document_id,
                                                        ChunkVector.model != model))
        document.embedding_status = "ready"
        document.embedded_count = await _stored(session, document_id, model)
        await session.run_sync(lambda sync: complete_in(sync.connection(), job))
    log.info("document_embedded", document_id=document_id, vectors=len(spans), model=model)


async def _stored(session: AsyncSession, document_id: int, model: str) -> int:
    count = await session.scalar(select(func.count()).select_from(ChunkVector).where(
        ChunkVector.document_id == document_id, ChunkVector.model == model))
    return int(count or 0)


async def _store(runtime: Runtime, *, document_id: int, agent_id: int, model: str, processed_at: Any,
                 batch: list[Span], vectors: np.ndarray) -> bool:
    async with runtime.db.transaction() as session:
        document = await session.get(Document, document_id, with_for_update=True)
        if document is None or document.processed_at != processed_at or document.embedding_model != model:
            return False
        dim = int(vectors.shape[1])
        rows = [{"document_id": document_id, "agent_id": agent_id, "model": model, "dim": dim,
                 "ordinal_start": s.start, "ordinal_end": s.end,
                 "vector": np.ascontiguousarray(v, dtype=np.float32).tobytes()}
                for s, v in zip(batch, vectors, strict=True)]
        await session.execute(_insert(session, rows))
        document.embedded_count = await _stored(session, document_id, model)
    return True


async def _mark_failed(runtime: Runtime, document_id: int, model: str, reason: str) -> None:
    async with runtime.db.transaction() as session:
        await session.execute(
            update(Document).where(Document.id == document_id, Document.embedding_model == model)
            .values(embedding_status="failed", embedding_error=reason[:1000])
            .execution_options(synchronize_session=False)
        )
