"""A fake OpenAI-compatible server: ``/v1/chat/completions`` (plain and SSE) and ``/v1/models``.

Tests script what the next requests get; anything not scripted gets ``default_reply``.

    ai = OpenAIFake(api_key="sk-test")
    ai.rate_limit(retry_after=1)                     # first request: 429 + Retry-After: 1
    ai.reply(lambda req: "Доставка стоит 300 ₽")     # second: an answer built from the request
    with ai.serve():
        client = AsyncOpenAI(api_key="sk-test", base_url=ai.base_url + "/v1")
        ...
    assert "Прайс-лист" in ai.chat_requests[-1].json["messages"][0]["content"]

Bodies, headers and status codes follow the OpenAI API: ``chat.completion`` objects with
``usage``, ``chat.completion.chunk`` SSE events ending in ``data: [DONE]`` (plus a final usage
chunk when ``stream_options.include_usage``), and errors shaped
``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tests.fakes.server import FakeService

__all__ = [
    "Delay",
    "Error",
    "OpenAIFake",
    "RecordedRequest",
    "Reply",
    "approx_tokens",
]

ReplyFn = Callable[[dict], "str | Reply | Awaitable[str | Reply]"]


def approx_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer (~4 characters a token)."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


@dataclass
class Reply:
    """A successful answer. ``text`` may be a function of the request JSON (sync or async).

    Served as a ``chat.completion`` or, when the request says ``stream: true``, as chunks of
    ``chunk_size`` characters, ``chunk_delay`` seconds apart. ``break_after_chunks`` drops
    the connection mid-stream; ``stream_error`` sends an in-stream ``{"error": ...}`` event
    at that point instead.
    """

    text: str | ReplyFn = "Здравствуйте! Чем могу помочь?"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"
    model: str | None = None
    chunk_size: int = 8
    chunk_delay: float = 0.0
    break_after_chunks: int | None = None
    stream_error: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Error:
    """An error answer with OpenAI's body shape."""

    status: int
    message: str
    type: str | None
    code: str | None = None
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Delay:
    """Wait ``seconds`` before answering with ``then`` (to force client timeouts)."""

    seconds: float
    then: Reply | Error | None = None


@dataclass
class Page:
    """A 200 that is not the API's answer: a web page, or JSON of another shape, at the URL
    (a base URL pointing at a site or a proxy's landing page instead of the model server)."""

    body: str
    content_type: str = "text/html; charset=utf-8"


Behaviour = Reply | Error | Delay | Page


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    json: Any
    at: float
    # The client's end of the TCP connection the request came on: one port, one connection.
    client_port: int | None = None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    @property
    def messages(self) -> list[dict]:
        return list((self.json or {}).get("messages") or [])

    @property
    def prompt_text(self) -> str:
        """All message contents joined, for 'the prompt contains X' assertions."""
        parts = []
        for m in self.messages:
            content = m.get("content")
            if isinstance(content, list):  # content parts
                content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            parts.append(str(content or ""))
        return "\n".join(parts)


def _default_reply(request: dict) -> str:
    messages = request.get("messages") or []
    last_user = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "")
    return f"Ответ на вопрос: {last_user}"


class OpenAIFake(FakeService):
    """Fake OpenAI API. ``api_key=None`` accepts any bearer token; ``models`` lists the models
    that exist (others answer 404 ``model_not_found``); ``None`` accepts any model."""

    def __init__(
        self,
        *,
        api_key: str | None = "sk-test-key",
        models: list[str] | None = None,
        default_reply: str | ReplyFn = _default_reply,
    ) -> None:
        super().__init__()
        self.api_keys: set[str] | None = {api_key} if api_key else None
        self.models = models
        self.default_reply: Reply = Reply(text=default_reply)
        self._script: deque[Behaviour] = deque()
        self._requests: list[RecordedRequest] = []
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/models", self._list_models, methods=["GET"]),
                Route("/v1/models/{model:path}", self._get_model, methods=["GET"]),
                Route("/{path:path}", self._unknown, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )

    # --- scripting -------------------------------------------------------------------------

    def enqueue(self, *behaviours: Behaviour) -> None:
        """Answer the next chat requests with these, in order."""
        with self._lock:
            self._script.extend(behaviours)

    def reply(self, text: str | ReplyFn, **kwargs: Any) -> None:
        self.enqueue(Reply(text=text, **kwargs))

    def rate_limit(
        self,
        retry_after: float | None = 1,
        *,
        times: int = 1,
        message: str | None = None,
    ) -> None:
        """429 ``rate_limit_exceeded``, with ``Retry-After`` when given."""
        headers = {"retry-after": _fmt_seconds(retry_after)} if retry_after is not None else {}
        headers.update({"x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "0"})
        wait = f"{retry_after}s" if retry_after is not None else "20s"
        msg = message or (
            "Rate limit reached for gpt-4o-mini in organization org-test on requests per min "
            f"(RPM): Limit 3, Used 3, Requested 1. Please try again in {wait}. Visit "
            "https://platform.openai.com/account/rate-limits to learn more."
        )
        for _ in range(times):
            self.enqueue(Error(429, msg, "requests", "rate_limit_exceeded", headers=headers))

    def insufficient_quota(self) -> None:
        """429 that must not be retried: the account has no money left."""
        self.enqueue(
            Error(
                429,
                "You exceeded your current quota, please check your plan and billing details. "
                "For more information on this error, read the docs: "
                "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                "insufficient_quota",
                "insufficient_quota",
            )
        )

    def server_error(self, status: int = 500, *, times: int = 1) -> None:
        """5xx as OpenAI sends them (500 server_error, 503 overloaded, ...)."""
        messages = {
            500: "The server had an error while processing your request. Sorry about that!",
            502: "Bad gateway.",
            503: "The engine is currently overloaded, please try again later.",
        }
        msg = messages.get(status, "The server had an error while processing your request.")
        for _ in range(times):
            self.enqueue(Error(status, msg, "server_error", None))

    def delay(self, seconds: float, then: Reply | Error | None = None) -> None:
        self.enqueue(Delay(seconds, then))

    def bad_request(self, message: str, *, param: str | None = None, code: str | None = None):
        self.enqueue(Error(400, message, "invalid_request_error", code, param))

    def context_length_exceeded(self) -> None:
        self.bad_request(
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 130001 tokens. Please reduce the length of the messages.",
            param="messages",
            code="context_length_exceeded",
        )

    def pending(self) -> int:
        """Scripted behaviours not yet consumed."""
        with self._lock:
            return len(self._script)

    # --- inspection ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, including rejected ones."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def last_request(self) -> RecordedRequest | None:
        reqs = self.requests
        return reqs[-1] if reqs else None

    # --- HTTP ------------------------------------------------------------------------------

    async def _record(self, request: Request) -> RecordedRequest:
        self._remember_loop()
        body = await request.body()
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        rec = RecordedRequest(
            method=request.method,
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            json=data,
            at=time.monotonic(),
            client_port=request.client.port if request.client else None,
        )
        with self._lock:
            self._requests.append(rec)
        return rec

    def _auth_error(self, rec: RecordedRequest) -> Response | None:
        auth = rec.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return _error_response(
                Error(
                    401,
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), "
                    "or as the password field (with blank username) if you're accessing the API "
                    "from your browser and are prompted for a username. You can obtain an API key "
                    "from https://platform.openai.com/account/api-keys.",
                    "invalid_request_error",
                    None,
                )
            )
        key = auth[7:].strip()
        if self.api_keys is not None and key not in self.api_keys:
            masked = key[:3] + "*" * max(0, len(key) - 7) + key[-4:] if len(key) > 7 else "***"
            return _error_response(
                Error(
                    401,
                    f"Incorrect API key provided: {masked}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    "invalid_request_error",
                    "invalid_api_key",
                )
            )
        return None

    async def _unknown(self, request: Request) -> Response:
        rec = await self._record(request)
        return _error_response(
            Error(404, f"Invalid URL ({rec.method} {rec.path})", "invalid_request_error", None)
        )

    async def _list_models(self, request: Request) -> Response:
        rec = await self._record(request)
        if (err := self._auth_error(rec)) is not None:
            return err
        names = self.models or ["gpt-4o-mini", "gpt-4o"]
        return JSONResponse({"object": "list", "data": [_model_object(n) for n in names]})

    async def _get_model(self, request: Request) -> Response:
        rec = await self._record(request)
        if (err := self._auth_error(rec)) is not None:
            return err
        name = request.path_params["model"]
        if self.models is not None and name not in self.models:
            return _model_not_found(name)
        return JSONResponse(_model_object(name))

    async def _chat_completions(self, request: Request) -> Response:
        rec = await self._record(request)
        if (err := self._auth_error(rec)) is not None:
            return err
        body = rec.json
        if not isinstance(body, dict):
            return _error_response(
                Error(
                    400,
                    "We could not parse the JSON body of your request. (HINT: This likely means "
                    "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                    "payload, but what was sent was not valid JSON.)",
                    "invalid_request_error",
                    None,
                )
            )
        model = body.get("model")
        if not model:
            return _error_response(
                Error(400, "you must provide a model parameter", "invalid_request_error", None)
            )
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _error_response(
                Error(
                    400,
                    "[] is too short - 'messages'",
                    "invalid_request_error",
                    None,
                    param="messages",
                )
            )
        for idx, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in (
                "system",
                "developer",
                "user",
                "assistant",
                "tool",
                "function",
            ):
                return _error_response(
                    Error(
                        400,
                        f"Invalid value for 'messages[{idx}].role'.",
                        "invalid_request_error",
                        "invalid_value",
                        param=f"messages[{idx}].role",
                    )
                )
        if self.models is not None and model not in self.models:
            return _model_not_found(model)

        with self._lock:
            behaviour: Behaviour = self._script.popleft() if self._script else self.default_reply
        if isinstance(behaviour, Delay):
            if not await _wait_unless_gone(request, behaviour.seconds):
                return Response(status_code=499)  # the client gave up; nobody reads this
            behaviour = behaviour.then or self.default_reply
        if isinstance(behaviour, Error):
            return _error_response(behaviour)
        if isinstance(behaviour, Page):
            return Response(behaviour.body, media_type=behaviour.content_type)
        return await self._answer(behaviour, body)

    async def _answer(self, reply: Reply, body: dict) -> Response:
        text_or_reply = reply.text(body) if callable(reply.text) else reply.text
        if inspect.isawaitable(text_or_reply):
            text_or_reply = await text_or_reply
        if isinstance(text_or_reply, Reply):  # a reply function may return a full Reply
            reply = text_or_reply
            text = reply.text if isinstance(reply.text, str) else str(reply.text)
        else:
            text = str(text_or_reply)
        model = reply.model or body["model"]
        prompt_text = "\n".join(
            str(m.get("content") or "") for m in body.get("messages", []) if isinstance(m, dict)
        )
        prompt_tokens = (
            reply.prompt_tokens
            if reply.prompt_tokens is not None
            else approx_tokens(prompt_text) + 4 * len(body.get("messages", []))
        )
        completion_tokens = (
            reply.completion_tokens if reply.completion_tokens is not None else approx_tokens(text)
        )
        usage = _usage(prompt_tokens, completion_tokens)
        completion_id = "chatcmpl-" + secrets.token_urlsafe(21).replace("-", "A").replace("_", "b")
        created = int(time.time())
        headers = {
            "x-request-id": "req_" + secrets.token_hex(16),
            "openai-processing-ms": "42",
            "openai-version": "2020-10-01",
            **reply.headers,
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return _SSEResponse(
                self._chunks(reply, text, model, completion_id, created, usage, include_usage),
                media_type="text/event-stream; charset=utf-8",
                headers=headers,
            )
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": text,
                            "refusal": None,
                            "annotations": [],
                        },
                        "logprobs": None,
                        "finish_reason": reply.finish_reason,
                    }
                ],
                "usage": usage,
                "service_tier": "default",
                "system_fingerprint": "fp_fake0000",
            },
            headers=headers,
        )

    async def _chunks(
        self,
        reply: Reply,
        text: str,
        model: str,
        completion_id: str,
        created: int,
        usage: dict,
        include_usage: bool,
    ) -> AsyncIterator[bytes]:
        def event(choices: list[dict], **extra: Any) -> bytes:
            chunk: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "service_tier": "default",
                "system_fingerprint": "fp_fake0000",
                "choices": choices,
            }
            if include_usage:
                chunk["usage"] = None  # OpenAI sends null on every chunk but the last
            chunk.update(extra)
            return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()

        def choice(delta: dict, finish_reason: str | None = None) -> list[dict]:
            return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]

        yield event(choice({"role": "assistant", "content": "", "refusal": None}))
        size = max(1, reply.chunk_size)
        pieces = [text[i : i + size] for i in range(0, len(text), size)]
        for n, piece in enumerate(pieces):
            if reply.break_after_chunks is not None and n >= reply.break_after_chunks:
                if reply.stream_error is not None:
                    yield f"data: {json.dumps({'error': reply.stream_error})}\n\n".encode()
                    return
                raise _DropConnection
            if reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            yield event(choice({"content": piece}))
        yield event(choice({}, reply.finish_reason))
        if include_usage:
            yield event([], usage=usage)
        yield b"data: [DONE]\n\n"


class _DropConnection(Exception):
    """Raised by a chunk generator to cut the connection mid-stream."""


class _SSEResponse(StreamingResponse):
    """Streams chunks; on :class:`_DropConnection` it ends without the final empty chunk,
    so the server closes the socket and the client sees a truncated body, as when a
    provider's connection breaks mid-answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        try:
            async for chunk in self.body_iterator:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except _DropConnection:
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _wait_unless_gone(request: Request, seconds: float) -> bool:
    """Sleep ``seconds``; False as soon as the client disconnects (e.g. its timeout hit)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if await request.is_disconnected():
            return False
        await asyncio.sleep(min(0.02, left))
    return True


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _model_object(name: str) -> dict:
    return {"id": name, "object": "model", "created": 1721172741, "owned_by": "system"}


def _model_not_found(name: str) -> Response:
    return _error_response(
        Error(
            404,
            f"The model `{name}` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        )
    )


def _error_response(err: Error) -> Response:
    body = {
        "error": {"message": err.message, "type": err.type, "param": err.param, "code": err.code}
    }
    headers = {"x-request-id": "req_" + secrets.token_hex(16), **err.headers}
    return JSONResponse(body, status_code=err.status, headers=headers)
