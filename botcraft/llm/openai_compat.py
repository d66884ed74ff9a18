"""An LLMProvider for OpenAI and every server that speaks its chat-completions API
(Ollama, vLLM, llama.cpp server, LM Studio, OpenRouter), on the official ``openai`` SDK.

Retries are ours, not the SDK's (the client is built with ``max_retries=0``): the SDK sleeps
for any ``Retry-After`` up to two minutes, which would hold a customer's turn hostage. Here a
server-named wait is honoured only up to ``max_retry_wait_s``; beyond that the call fails at
once with :class:`LLMUnavailable` (its ``retry_after`` says how long the server asked for),
and the dialogue engine answers from the documents instead of a worker sitting idle. Every
call also has an overall budget (``total_timeout_s``) that retries and back-off must fit in.

SDK clients hold a connection pool and are costly to build, so they are shared: one per
event loop and (base URL, API key). Providers themselves are cheap; build one per agent.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import logging
import math
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import openai
from openai import AsyncOpenAI

from botcraft.backoff import backoff_seconds
from botcraft.llm.base import (
    ChatMessage,
    Completion,
    LLMError,
    LLMProvider,
    LLMUnavailable,
    StreamEvent,
    TextDelta,
)
from botcraft.llm.transport import close_later, model_http_client
from botcraft.metrics.instruments import LLM_ERRORS, LLM_LATENCY
from botcraft.netguard import BlockedAddress

__all__ = ["OpenAICompatProvider", "aclose_clients"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MAX_RETRY_WAIT_S = 20.0
MAX_CLIENTS_PER_LOOP = 64
# A client dropped from the shared ones is closed this long after, once the calls it may still
# carry are over (a call's budget is 3 × LLM_TIMEOUT_SECONDS: 90 s by default).
RETIRED_CLIENT_CLOSE_S = 600.0
# Local servers (Ollama, llama.cpp) need no key, but the SDK refuses to start without one.
NO_KEY_PLACEHOLDER = "sk-no-key-required"
_INITIAL_BACKOFF_S = 0.5
_MAX_BACKOFF_S = 8.0

T = TypeVar("T")


class OpenAICompatProvider(LLMProvider):
    """Chat completions over an OpenAI-compatible HTTP API.

    ``timeout_s`` bounds each attempt (for streams: each wait for the next chunk);
    ``max_retries`` counts retries after the first attempt; ``max_retry_wait_s`` is the
    longest server-requested wait we sit out; ``total_timeout_s`` (default ``3 *
    timeout_s``) bounds the whole call including retries. ``stream_usage=False`` omits
    ``stream_options`` for servers that reject it (usage is then ``None``).
    """

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        model: str,
        timeout_s: float = 30.0,
        max_retries: int = 3,
        *,
        max_retry_wait_s: float = DEFAULT_MAX_RETRY_WAIT_S,
        total_timeout_s: float | None = None,
        stream_usage: bool = True,
        client: AsyncOpenAI | None = None,
        public_only: bool = False,
    ) -> None:
        if not model:
            raise ValueError("model is required")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.model = model
        self.base_url = _normalize_base_url(base_url)
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self.max_retry_wait_s = float(max_retry_wait_s)
        self.total_timeout_s = float(total_timeout_s or 3 * self.timeout_s)
        self.stream_usage = stream_usage
        self._api_key = api_key or NO_KEY_PLACEHOLDER
        self._client = client
        # An owner's own server: connections go to public addresses only (botcraft.netguard).
        self.public_only = public_only

    def __repr__(self) -> str:
        return f"OpenAICompatProvider(base_url={self.base_url!r}, model={self.model!r})"

    @property
    def client(self) -> AsyncOpenAI:
        """The SDK client: the injected one, or the shared one for this loop, URL and key."""
        if self._client is not None:
            return self._client
        return _shared_client(self._api_key, self.base_url, self.public_only)

    # --- LLMProvider -----------------------------------------------------------------------

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        request = self._request(messages, temperature, max_tokens)
        client = self.client

        async def attempt(limits: openai.Timeout) -> Completion:
            # The SDK's own POST, without `chat.completions.create`'s walk of the request
            # through its TypedDict hints: for our plain JSON body it changes nothing and cost
            # about a third of a customer's answer in CPU (bench/channels_e2e.py). The reply is
            # taken as the parsed JSON (`cast_to=object`), not built into ChatCompletion's
            # models: of the few fields read, that build was a fifth of the call's CPU.
            response = await client.post("/chat/completions", body=request, cast_to=object,
                                         options={"timeout": limits})
            return self._to_completion(response)

        started = time.perf_counter()
        try:
            return await self._with_retries(attempt)
        except LLMError as exc:
            LLM_ERRORS.labels(exc.code).inc()
            raise
        finally:
            LLM_LATENCY.labels("complete").observe(time.perf_counter() - started)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[StreamEvent]:
        started = time.perf_counter()
        try:
            async for event in self._stream(messages, temperature, max_tokens):
                yield event
        except LLMError as exc:
            LLM_ERRORS.labels(exc.code).inc()
            raise
        finally:
            LLM_LATENCY.labels("stream").observe(time.perf_counter() - started)

    async def _stream(
        self, messages: Sequence[ChatMessage], temperature: float | None, max_tokens: int | None
    ) -> AsyncIterator[StreamEvent]:
        request = self._request(messages, temperature, max_tokens)
        request["stream"] = True
        if self.stream_usage:
            request["stream_options"] = {"include_usage": True}
        client = self.client
        deadline = time.monotonic() + self.total_timeout_s
        attempt = 0
        while True:
            parts: list[str] = []
            usage: Any = None
            model = self.model
            finish_reason: str | None = None
            try:
                limits = self._attempt_timeout(deadline, attempt)
                stream = await client.chat.completions.create(**request, timeout=limits)
                async with stream:
                    async for chunk in stream:
                        model = chunk.model or model
                        if chunk.usage is not None:
                            usage = chunk.usage
                        for choice in chunk.choices:
                            if choice.index != 0:
                                continue
                            if choice.finish_reason:
                                finish_reason = choice.finish_reason
                            text = choice.delta.content if choice.delta else None
                            if text:
                                parts.append(text)
                                yield TextDelta(text)
                break
            except openai.OpenAIError as exc:
                err = _map_error(exc)
                if parts:
                    # The caller already showed this text; starting over would repeat it.
                    raise LLMUnavailable(
                        f"the model's answer broke off: {err.message}",
                        code="stream_interrupted",
                        status_code=err.status_code,
                    ) from exc
                await self._before_retry(err, attempt, deadline, exc)
                attempt += 1
        yield Completion(
            text="".join(parts),
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            model=model,
            finish_reason=finish_reason,
        )

    async def with_retries(self, call: Callable[[openai.Timeout], Awaitable[T]]) -> T:
        """Run any SDK call under this provider's timeouts, retries and Retry-After rules
        (the embeddings client uses it for `/v1/embeddings`)."""
        return await self._with_retries(call)

    # --- internals -------------------------------------------------------------------------

    def _request(
        self,
        messages: Sequence[ChatMessage],
        temperature: float | None,
        max_tokens: int | None,
    ) -> dict[str, Any]:
        if not messages:
            raise LLMError("no messages to send", code="bad_request")
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
        }
        # Omitted rather than sent as null: some models (o-series) reject any temperature.
        if temperature is not None:
            request["temperature"] = temperature
        if max_tokens is not None:
            request["max_tokens"] = max_tokens
        return request

    def _to_completion(self, response: object) -> Completion:
        """The completion in a chat.completion object (parsed JSON)."""
        choices = response.get("choices") if isinstance(response, dict) else None
        if not isinstance(response, dict) or not isinstance(choices, list) or not choices \
                or not isinstance(choices[0], dict):
            raise LLMError("the model returned no choices", code="invalid_response")
        choice = choices[0]
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        usage = response.get("usage")
        counts = usage if isinstance(usage, dict) else {}
        reason = choice.get("finish_reason")
        return Completion(
            text=content if isinstance(content, str) else "",
            prompt_tokens=_count(counts.get("prompt_tokens")),
            completion_tokens=_count(counts.get("completion_tokens")),
            model=str(response.get("model") or self.model),
            finish_reason=reason if isinstance(reason, str) else None,
        )

    def _attempt_timeout(self, deadline: float, attempt: int) -> openai.Timeout:
        remaining = deadline - time.monotonic()
        if remaining <= 0.05:
            raise LLMUnavailable(
                f"no time left for attempt {attempt + 1} within {self.total_timeout_s:g} s",
                code="timeout",
            )
        per_attempt = min(self.timeout_s, remaining)
        return openai.Timeout(per_attempt, connect=min(5.0, per_attempt))

    async def _with_retries(self, call: Callable[[openai.Timeout], Awaitable[T]]) -> T:
        deadline = time.monotonic() + self.total_timeout_s
        attempt = 0
        while True:
            timeout = self._attempt_timeout(deadline, attempt)
            try:
                return await call(timeout)
            except openai.OpenAIError as exc:
                err = _map_error(exc)
                await self._before_retry(err, attempt, deadline, exc)
                attempt += 1

    async def _before_retry(
        self, err: LLMError, attempt: int, deadline: float, cause: BaseException
    ) -> None:
        """Sleep before the next attempt, or raise if there must not be one."""
        if not err.retryable:
            raise err from cause
        if attempt >= self.max_retries:
            raise LLMUnavailable(
                f"{err.message} (gave up after {attempt + 1} attempts)",
                code=err.code,
                status_code=err.status_code,
                retry_after=err.retry_after,
            ) from cause
        if err.retry_after is not None and err.retry_after > self.max_retry_wait_s:
            raise LLMUnavailable(
                f"{err.message} (server asks to wait {err.retry_after:g} s)",
                code=err.code,
                status_code=err.status_code,
                retry_after=err.retry_after,
            ) from cause
        if err.retry_after is not None:
            delay = max(0.0, err.retry_after)
        else:
            delay = backoff_seconds(attempt + 1, base=_INITIAL_BACKOFF_S, cap=_MAX_BACKOFF_S)
        if time.monotonic() + delay >= deadline:
            raise LLMUnavailable(
                f"{err.message} (out of time for retries within {self.total_timeout_s:g} s)",
                code=err.code,
                status_code=err.status_code,
                retry_after=err.retry_after,
            ) from cause
        log.warning(
            "llm retry: model=%s code=%s status=%s attempt=%d delay=%.2fs",
            self.model,
            err.code,
            err.status_code,
            attempt + 1,
            delay,
        )
        await asyncio.sleep(delay)


def _count(value: object) -> int | None:
    """A token count as the server sent it; anything else (absent, a string) is unknown."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- error mapping -------------------------------------------------------------------------


def _blocked(exc: BaseException) -> BlockedAddress | None:
    """The netguard refusal somewhere in the exception's chain, if that is what failed."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, BlockedAddress):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _map_error(exc: openai.OpenAIError) -> LLMError:
    if isinstance(exc, openai.APITimeoutError):
        return LLMError("the model did not answer in time", retryable=True, code="timeout")
    if isinstance(exc, openai.APIConnectionError) and _blocked(exc):
        return LLMError(f"the model server is not allowed: {_blocked(exc)}", retryable=False, code="blocked_address")
    if isinstance(exc, openai.APIConnectionError):
        return LLMError(
            f"cannot reach the model server: {exc.__cause__ or exc}",
            retryable=True,
            code="connection",
        )
    if isinstance(exc, openai.APIStatusError):
        return _map_status_error(exc)
    if isinstance(exc, openai.APIResponseValidationError):
        return LLMError("the model server sent an unexpected response", code="invalid_response")
    if isinstance(exc, openai.APIError):
        # An error event inside a 200 stream: the server failed mid-answer.
        return LLMError(
            f"the model server failed: {exc.message}", retryable=True, code="server_error"
        )
    return LLMError(f"model client error: {exc}", code="error")


def _map_status_error(exc: openai.APIStatusError) -> LLMError:
    status = exc.status_code
    body_code = str(exc.code or "") if exc.code is not None else ""
    body_type = str(getattr(exc, "type", "") or "")
    message = _server_message(exc)
    retry_after = _retry_after(exc.response.headers)
    if status == 401:
        code, retryable = "auth", False
    elif status == 403:
        code, retryable = "permission", False
    elif status == 404:
        code, retryable = "not_found", False
    elif status == 429:
        if "insufficient_quota" in (body_code, body_type):
            # Billing, not load: waiting will not help.
            code, retryable = "quota", False
        else:
            code, retryable = "rate_limited", True
    elif status in (408, 409) or status >= 500:
        code, retryable = ("timeout" if status == 408 else "server_error"), True
    elif body_code == "context_length_exceeded":
        code, retryable = "context_length", False
    else:
        code, retryable = "bad_request", False
    should_retry = exc.response.headers.get("x-should-retry")
    if should_retry in ("true", "false") and code not in ("quota", "auth"):
        retryable = should_retry == "true"
    return LLMError(
        f"{status}: {message}",
        retryable=retryable,
        code=code,
        status_code=status,
        retry_after=retry_after,
    )


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return exc.message


def _retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date)."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            if name == "retry-after-ms":
                continue
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
            seconds = when.timestamp() - time.time()
        if math.isfinite(seconds):
            return max(0.0, seconds)
        return math.inf
    return None


# --- shared clients ------------------------------------------------------------------------

# Connection pools belong to the loop that opened them, so clients are kept per loop
# and vanish with it (tests run a loop per test; servers run one).
_ClientCache = OrderedDict[tuple[str, str, bool], AsyncOpenAI]
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _ClientCache] = (
    weakref.WeakKeyDictionary()
)
_closing: set[asyncio.Task[None]] = set()  # retired clients' pending closes (the loop keeps weak refs)


def _normalize_base_url(base_url: str | None) -> str:
    return (base_url or DEFAULT_BASE_URL).strip().rstrip("/")


def _shared_client(api_key: str, base_url: str, public_only: bool) -> AsyncOpenAI:
    loop = asyncio.get_running_loop()
    per_loop = _clients.get(loop)
    if per_loop is None:
        per_loop = _clients[loop] = OrderedDict()
    key = (base_url, hashlib.sha256(api_key.encode()).hexdigest(), public_only)
    client = per_loop.get(key)
    if client is not None:
        per_loop.move_to_end(key)
        return client
    client = AsyncOpenAI(
        api_key=api_key,
        base_url=base_url,
        max_retries=0,  # see the module docstring
        timeout=openai.Timeout(60.0, connect=5.0),  # every call passes its own
        http_client=model_http_client(public_only=public_only),
    )
    per_loop[key] = client
    if len(per_loop) > MAX_CLIENTS_PER_LOOP:
        # Not closed at once: a call may still be using it.
        _, retired = per_loop.popitem(last=False)
        closing = loop.create_task(close_later(retired, RETIRED_CLIENT_CLOSE_S))
        _closing.add(closing)
        closing.add_done_callback(_closing.discard)
    return client


async def aclose_clients() -> None:
    """Close the shared clients of the running loop (call at application shutdown)."""
    per_loop = _clients.pop(asyncio.get_running_loop(), None)
    for client in (per_loop or {}).values():
        await client.close()
