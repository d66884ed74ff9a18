"""Pure ASGI middleware: request ids with access logs and request metrics, and body size limits.

Pure ASGI (not BaseHTTPMiddleware) keeps streaming responses streaming and costs little
on the hot path.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botcraft import i18n
from botcraft.i18n import N_, translate
from botcraft.metrics.instruments import record_request

access_log = structlog.get_logger("botcraft.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Request ids only need to be unique, not unguessable: a random prefix per process and a
# counter (a fresh token from the OS per request was a syscall per request, measurable in
# bench/channels_e2e on this machine).
_ID_PREFIX = secrets.token_hex(4)
_request_numbers = itertools.count(1)


def _new_request_id() -> str:
    return f"{_ID_PREFIX}-{next(_request_numbers):x}"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else _new_request_id()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        language = i18n.current.set(i18n.choose(_header(scope, b"accept-language")))
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            record_request(scope, status, elapsed)
            access_log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round(elapsed * 1000, 1),
            )
            structlog.contextvars.unbind_contextvars("request_id")
            i18n.current.reset(language)


@dataclass(frozen=True)
class BodyLimit:
    """The most bytes a request may send, and the words and code of its 413."""

    max_bytes: int
    detail: str = ""
    code: str = "payload_too_large"

    @property
    def message(self) -> str:
        return self.detail or N_("The request is too large: the limit is {size}.").format(
            size=_human_size(self.max_bytes))


class BodyTooLarge(HTTPException):
    """An HTTPException so that FastAPI's body parsing re-raises it as a 413 unchanged."""

    def __init__(self, limit: BodyLimit) -> None:
        super().__init__(413, limit.message)


# How much of a refused body is read and thrown away so that the client gets its answer.
# HTTP clients (urllib, httpx, requests, browsers) send the whole body before they read the
# response; a server that closes the connection with bytes still unread makes the kernel
# answer with a TCP reset, and the client sees "connection reset" instead of the 413.
# Past this much the connection is closed anyway: the client is not listening.
DRAIN_LIMIT_BYTES = 256 * 1024 * 1024


class BodySizeLimitMiddleware:
    """413 for bodies over the limit, decided from Content-Length or while streaming.

    `limit_for(scope)` lets uploads have their own, larger limit; the upload handler
    still counts bytes itself so that nothing over MAX_UPLOAD_MB reaches the disk.

    Whatever the answer (a 413, a 404 before an upload was read, any error), a request
    body the app left unread is read to its end (up to DRAIN_LIMIT_BYTES) and discarded
    before the answer goes out, so that the client receives it; beyond that the answer
    says `Connection: close`. A client that asked `Expect: 100-continue` has sent nothing
    yet: it gets the refusal at once and never sends the body.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], BodyLimit]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        received = 0
        body_done = not _may_have_body(scope)
        response_started = False
        waiting_for_continue = (_header(scope, b"expect") or "").lower() == "100-continue"

        async def counting_receive() -> Message:
            nonlocal received, body_done, waiting_for_continue
            waiting_for_continue = False  # uvicorn sends "100 Continue" on the first receive
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit.max_bytes:
                    raise BodyTooLarge(limit)
            elif message["type"] == "http.disconnect":
                body_done = True
            return message

        async def draining_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                if not body_done and not await self._drain(receive, waiting_for_continue, received):
                    message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > limit.max_bytes:
            await _send_413(draining_send, limit)
            return
        try:
            await self.app(scope, counting_receive, draining_send)
        except BodyTooLarge:
            if not response_started:
                await _send_413(draining_send, limit)

    @staticmethod
    async def _drain(receive: Receive, waiting_for_continue: bool, received: int) -> bool:
        """Read the rest of the body and throw it away; False if the connection must close."""
        if waiting_for_continue:
            return False
        while received <= DRAIN_LIMIT_BYTES:
            message = await receive()
            if message["type"] != "http.request":
                return False  # the client went away
            received += len(message.get("body", b""))
            if not message.get("more_body", False):
                return True
        return False


def _may_have_body(scope: Scope) -> bool:
    declared = _header(scope, b"content-length")
    if declared is not None:
        return declared.strip() != "0"
    return _header(scope, b"transfer-encoding") is not None


async def _send_413(send: Send, limit: BodyLimit) -> None:
    body = json.dumps({"detail": translate(limit.message), "code": limit.code}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _human_size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def client_ip(scope: MutableMapping[str, Any]) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"
