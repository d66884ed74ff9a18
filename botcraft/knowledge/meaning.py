"""Search by meaning in this process: the embedder, the vector index and the decision of
what is close enough. Installed once per process (the app's lifespan, `botcraft worker`);
`search()` finds it with `current()`, so its signature stays that of word search.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.config import Settings
from botcraft.embeddings import closeness
from botcraft.embeddings.base import Embedder, EmbeddingError
from botcraft.embeddings.factory import build_embedder
from botcraft.knowledge.vectors import SpanMatch, VectorIndex

log = structlog.get_logger("botcraft.knowledge")


@dataclass(frozen=True)
class MeaningMatch:
    span: SpanMatch
    # similarity minus the question's background (embeddings.closeness); None when unknown
    margin: float | None
    close: bool


class Meaning:
    def __init__(self, embedder: Embedder, settings: Settings) -> None:
        self.embedder = embedder
        self.index = VectorIndex(settings.embeddings_index_memory_mb)
        self.max_vectors_per_document = settings.embeddings_max_vectors_per_document
        self.query_timeout_s = settings.embeddings_timeout_seconds

    @property
    def model(self) -> str:
        return self.embedder.model

    async def find(self, session: AsyncSession, agent_id: int, query: str, k: int) -> list[MeaningMatch]:
        """The k spans closest to the question; [] when the agent has no vectors yet."""
        index = await self.index.for_agent(session, agent_id, self.model)
        if index is None:
            return []
        vector = (await asyncio.wait_for(self.embedder.embed_queries([query]), self.query_timeout_s))[0]
        spans = index.nearest(vector, k)
        threshold = self.embedder.profile.min_margin
        try:
            base: float | None = closeness.baseline(vector, await closeness.background(self.embedder))
        except (EmbeddingError, TimeoutError) as exc:
            log.warning("meaning_background_unavailable", error=str(exc))
            base = None
        matches = []
        for span in spans:
            margin = None if base is None else span.similarity - base
            close = margin is not None and threshold is not None and margin >= threshold
            matches.append(MeaningMatch(span, margin, close))
        return matches

    def warm_up(self) -> None:
        """Load the local model and its background now, not at a customer's first question."""
        if self.embedder.mode == "local":
            self._warming = asyncio.create_task(self._warm())

    async def _warm(self) -> None:
        try:
            await closeness.background(self.embedder)
        except Exception:  # noqa: BLE001 - the first search tries again
            log.exception("meaning_warm_up_failed")

    async def aclose(self) -> None:
        warming = getattr(self, "_warming", None)
        if warming is not None and not warming.done():
            warming.cancel()
        global _current
        if _current is self:
            _current = None
        await self.embedder.aclose()


_current: Meaning | None = None


def install(settings: Settings) -> Meaning | None:
    """Build this process's search by meaning (None with EMBEDDINGS=off) and make it current."""
    global _current
    embedder = build_embedder(settings)
    _current = Meaning(embedder, settings) if embedder is not None else None
    return _current


def current() -> Meaning | None:
    return _current
