"""The in-process vector index: per agent and model, one float32 matrix in memory.

Vectors live in our own table (`chunk_vectors`) on both databases; this Debian has no
pgvector, and an agent's knowledge is bounded (MAX_DOCUMENTS_PER_AGENT documents, at most
EMBEDDINGS_MAX_VECTORS_PER_DOCUMENT vectors each), so an exact search over a matrix per
document in memory is fast enough (bench/README.md: about 100k vectors) and behaves the same on SQLite and
PostgreSQL. The index is kept per document: each search reads one small row per document
(its processed time and vector count) and reloads only documents that changed, so vectors
written by another process are seen at the next search, and deleted or reprocessed
documents leave it. All agents' matrices together stay under EMBEDDINGS_INDEX_MEMORY_MB,
least recently searched evicted first.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
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


@dataclass
class _Block:
    state: DocState
    matrix: Vectors
    starts: np.ndarray
    ends: np.ndarray


@dataclass
class AgentIndex:
    dim: int
    blocks: dict[int, _Block] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return sum(int(b.matrix.nbytes) for b in self.blocks.values())

    @property
    def size(self) -> int:
        return sum(int(b.matrix.shape[0]) for b in self.blocks.values())

    def nearest(self, question: Vectors, k: int) -> list[SpanMatch]:
        """The k closest spans: an exact search, one matrix product per document."""
        dim = question.shape[0]
        blocks = [(d, b) for d, b in self.blocks.items() if b.matrix.shape[0] and b.matrix.shape[1] == dim]
        if not blocks or k <= 0:
            return []
        sims = np.concatenate([b.matrix @ question for _, b in blocks])
        owner = np.concatenate([np.full(b.matrix.shape[0], i, dtype=np.int32) for i, (_, b) in enumerate(blocks)])
        offsets = np.cumsum([0] + [b.matrix.shape[0] for _, b in blocks])
        k = min(k, sims.shape[0])
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        matches = []
        for i in top:
            doc_id, block = blocks[owner[i]]
            row = int(i - offsets[owner[i]])
            matches.append(SpanMatch(doc_id, int(block.starts[row]), int(block.ends[row]), float(sims[i])))
        return matches


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
        blocks = {} if index is None else {d: b for d, b in index.blocks.items() if b.state == states.get(d)}
        stale = [d for d in states if d not in blocks]
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
        for doc_id, spans in loaded.items():
            matrix = np.frombuffer(b"".join(v for _, _, v in spans), dtype=np.float32).reshape(len(spans), dim or 1)
            blocks[doc_id] = _Block(states[doc_id], matrix,
                                    np.asarray([s for s, _, _ in spans], dtype=np.int64),
                                    np.asarray([e for _, e, _ in spans], dtype=np.int64))
        return AgentIndex(dim=dim, blocks=blocks)

    def _evict(self, keep: tuple[int, str]) -> None:
        while self.nbytes > self.memory_bytes and len(self._agents) > 1:
            oldest = next(iter(self._agents))
            if oldest == keep:
                self._agents.move_to_end(oldest)
                continue
            self._agents.pop(oldest)

    def forget(self) -> None:
        self._agents.clear()
