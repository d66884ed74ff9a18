"""A fake OpenAI-compatible embeddings server: ``POST /v1/embeddings``.

Vectors are deterministic: words hashed into ``dim`` buckets, so texts that share words are
close. Tests script what the next requests get, in order:

    fake = EmbeddingsFake(dim=64)
    fake.rate_limit(retry_after=1)   # 429 with Retry-After: 1
    fake.fail(503)                   # a server error
    fake.wrong_dimension(32)         # a 200 whose vectors have 32 values
    fake.delay(5)                    # answers after 5 s (longer than the client waits)
    with fake.serve():
        ...
    fake.requests                    # every request: time, model, inputs

Errors are shaped like OpenAI's ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import FakeService

_WORD = re.compile(r"\w+")


@dataclass
class Recorded:
    at: float
    model: str
    inputs: list[str]
    body: dict[str, Any]


def vector(text: str, dim: int) -> list[float]:
    out = np.zeros(dim, dtype=np.float32)
    for word in _WORD.findall(text.lower()):
        out[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dim] += 1.0
    norm = float(np.linalg.norm(out)) or 1.0
    return [float(x) / norm for x in out]


class EmbeddingsFake(FakeService):
    def __init__(self, dim: int = 64, *, seconds_per_request: float = 0.0) -> None:
        super().__init__()
        self.dim = dim
        self.seconds_per_request = seconds_per_request
        self.requests: list[Recorded] = []
        self._script: deque[tuple[str, Any]] = deque()
        self.app = Starlette(routes=[Route("/v1/embeddings", self._embeddings, methods=["POST"])])

    def rate_limit(self, retry_after: float) -> None:
        self._script.append(("429", retry_after))

    def fail(self, status: int = 500) -> None:
        self._script.append(("status", status))

    def wrong_dimension(self, dim: int) -> None:
        self._script.append(("dim", dim))

    def delay(self, seconds: float) -> None:
        self._script.append(("delay", seconds))

    @property
    def inputs(self) -> list[str]:
        return [text for r in self.requests for text in r.inputs]

    async def _embeddings(self, request: Request) -> JSONResponse:
        body = await request.json()
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        with self._lock:
            self.requests.append(Recorded(time.monotonic(), body.get("model", ""), list(inputs), body))
            step = self._script.popleft() if self._script else ("ok", None)
        kind, value = step
        if self.seconds_per_request:
            await asyncio.sleep(self.seconds_per_request)
        if kind == "429":
            return JSONResponse(_error("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
                                status_code=429, headers={"Retry-After": str(value)})
        if kind == "status":
            return JSONResponse(_error("The server had an error", "server_error", None), status_code=value)
        if kind == "delay":
            await asyncio.sleep(value)
        dim = value if kind == "dim" else self.dim
        data = [{"object": "embedding", "index": i, "embedding": vector(t, dim)} for i, t in enumerate(inputs)]
        tokens = sum(len(_WORD.findall(t)) for t in inputs)
        return JSONResponse({"object": "list", "data": data, "model": body.get("model", ""),
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


def _error(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
