"""What search and indexing need from an embedding model, whoever computes it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from botcraft.embeddings.profiles import Profile

Vectors = npt.NDArray[np.float32]


class EmbeddingError(Exception):
    """The vectors could not be computed. `retryable`: trying later can help (outage, rate
    limit, timeout); `retry_after`: seconds the server asked for, when it said."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Embedder(ABC):
    """Unit-length float32 vectors for questions and passages.

    `model` names the vectors: stored beside each one, and vectors of different names are
    never compared. Implementations add the model's own prefixes ("query: " for e5) so
    callers pass plain text.
    """

    mode: str
    model: str
    profile: Profile

    @abstractmethod
    async def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """One row per question, for search: short, latency matters."""

    @abstractmethod
    async def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """One row per passage, for indexing: throughput matters."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release what the embedder holds; the default holds nothing."""


def normalized(rows: Vectors) -> Vectors:
    """Unit length, so a dot product is the cosine (servers do not all normalise)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (rows / norms).astype(np.float32, copy=False)
