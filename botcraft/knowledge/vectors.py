"""The in-process vector index: per agent and model, one float32 matrix in memory.

Vectors live in our own table (`chunk_vectors`) on both databases; this Debian has no
pgvector, and an agent's knowledge is bounded (MAX_DOCUMENTS_PER_AGENT documents, at most
EMBEDDINGS_MAX_VECTORS_PER_DOCUMENT vectors each), so an exact search over one matrix per
agent in memory is fast enough (bench/README.md: about 100k vectors) and behaves the same on SQLite and
PostgreSQL. The index is kept by document: each search reads one small row per document
(its processed time and vector count) and reloads only documents that changed, so vectors
written by another process are seen at the next search, and deleted or reprocessed
documents leave it. All agents' matrices together stay under EMBEDDINGS_INDEX_MEMORY_MB,
least recently searched evicted first.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.embeddings.base import Vectors
from botcraft.models import ChunkVector, Document

DocState = tuple[datetime | None, int]


@dataclass(frozen=True)
class SpanMatch:
    document_id: int
    ordinal_start: int
    ordinal_end: int
    similarity: float


@dataclass(frozen=True)
class _Block:
    """One document's vectors: rows [first, first + count) of its agent's matrix."""

    state: DocState
    first: int
    count: int


@dataclass
class AgentIndex:
    """All of an agent's vectors in one matrix, document after document: a search is one
    matrix-vector product (50 products of one document each cost a third more at 100k rows)."""

    dim: int
    blocks: dict[int, _Block]
    matrix: Vectors
    document_ids: np.ndarray  # per row
    starts: np.ndarray
    ends: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.matrix.nbytes)

    @property
    def size(self) -> int:
        return int(self.matrix.shape[0])

    def nearest(self, question: Vectors, k: int) -> list[SpanMatch]:
        """The k closest spans, by an exact search."""
        if not self.size or k <= 0 or question.shape[0] != self.dim:
            return []
        sims = self.matrix @ question
        k = min(k, sims.shape[0])
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [SpanMatch(int(self.document_ids[i]), int(self.starts[i]), int(self.ends[i]), float(sims[i]))
                for i in top]


class VectorIndex:
    def __init__(self, memory_mb: int) -> None:
        self.memory_bytes = memory_mb * 1024 * 1024
        self._agents: OrderedDict[tuple[int, str], AgentIndex] = OrderedDict()
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._agents.values())

    async def for_agent(self, session: AsyncSession, agent_id: int, model: str) -> AgentIndex | None:
        key = (agent_id, model)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            rows = (await session.execute(
                select(Document.id, Document.processed_at, Document.embedded_count).where(
                    Document.agent_id == agent_id, Document.embedding_model == model,
                    Document.status == "ready", Document.embedded_count > 0)
            )).all()
            states: dict[int, DocState] = {r[0]: (r[1], r[2]) for r in rows}
            index = self._agents.get(key)
            if not states:
                self._agents.pop(key, None)
                return None
            if index is not None and {d: b.state for d, b in index.blocks.items()} == states:
                self._agents.move_to_end(key)
                return index
            index = await self._refresh(session, index, model, states)
            self._agents[key] = index
            self._agents.move_to_end(key)
            self._evict(keep=key)
            return index

    async def _refresh(self, session: AsyncSession, index: AgentIndex | None, model: str,
                       states: dict[int, DocState]) -> AgentIndex:
        kept = {} if index is None else {d: b for d, b in index.blocks.items() if b.state == states.get(d)}
        stale = [d for d in states if d not in kept]
        dim = index.dim if index is not None else 0
        loaded: dict[int, list[tuple[int, int, bytes]]] = {d: [] for d in stale}
        for chunk in range(0, len(stale), 50):
            result = await session.execute(
                select(ChunkVector.document_id, ChunkVector.ordinal_start, ChunkVector.ordinal_end,
                       ChunkVector.dim, ChunkVector.vector)
                .where(ChunkVector.document_id.in_(stale[chunk:chunk + 50]), ChunkVector.model == model)
                .order_by(ChunkVector.document_id, ChunkVector.ordinal_start)
            )
            for doc_id, start, end, row_dim, vector in result:
                if dim == 0:
                    dim = row_dim
                if row_dim == dim:  # one model, one dimension; anything else is never compared
                    loaded[doc_id].append((start, end, vector))
        # One matrix filled in place: the old rows that stay, then each reloaded document's.
        total = sum(b.count for b in kept.values()) + sum(len(spans) for spans in loaded.values())
        matrix = np.empty((total, dim or 1), dtype=np.float32)
        document_ids = np.empty(total, dtype=np.int64)
        starts, ends = np.empty(total, dtype=np.int64), np.empty(total, dtype=np.int64)
        blocks: dict[int, _Block] = {}
        first = 0
        for doc_id, block in kept.items():
            assert index is not None
            rows, to = slice(block.first, block.first + block.count), slice(first, first + block.count)
            matrix[to], starts[to], ends[to] = index.matrix[rows], index.starts[rows], index.ends[rows]
            blocks[doc_id] = _Block(block.state, first, block.count)
            first += block.count
        for doc_id, spans in loaded.items():
            to = slice(first, first + len(spans))
            if spans:
                matrix[to] = np.frombuffer(b"".join(v for _, _, v in spans), dtype=np.float32).reshape(len(spans), dim)
                starts[to] = [s for s, _, _ in spans]
                ends[to] = [e for _, e, _ in spans]
            blocks[doc_id] = _Block(states[doc_id], first, len(spans))
            first += len(spans)
        for doc_id, block in blocks.items():
            document_ids[block.first:block.first + block.count] = doc_id
        return AgentIndex(dim=dim, blocks=blocks, matrix=matrix, document_ids=document_ids, starts=starts, ends=ends)

    def _evict(self, keep: tuple[int, str]) -> None:
        while self.nbytes > self.memory_bytes and len(self._agents) > 1:
            oldest = next(iter(self._agents))
            if oldest == keep:
                self._agents.move_to_end(oldest)
                continue
            self._agents.pop(oldest)

    def forget(self) -> None:
        self._agents.clear()
