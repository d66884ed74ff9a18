"""What the dialogue engine needs from a language model, independent of the vendor.

A provider answers a list of chat messages either at once (:meth:`LLMProvider.complete`) or
as a stream (:meth:`LLMProvider.stream`). A stream yields :class:`TextDelta` events as text
arrives and ends with exactly one :class:`Completion`, which carries the whole text and the
token usage, so callers never have to reassemble or guess usage themselves::

    async for event in provider.stream(messages):
        if isinstance(event, TextDelta):
            await push_to_client(event.text)
        else:
            completion = event

Failures are :class:`LLMError`. ``retryable`` says whether trying again later can help
(rate limits, outages, timeouts) or not (bad key, unknown model, request too long);
:class:`LLMUnavailable` is the retryable kind raised once the provider has used up its own
retries, with ``retry_after`` when the server named a time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    prompt_tokens: int | None
    completion_tokens: int | None
    model: str
    finish_reason: str | None = None

    @property
    def total_tokens(self) -> int | None:
        if self.prompt_tokens is None or self.completion_tokens is None:
            return None
        return self.prompt_tokens + self.completion_tokens

    @property
    def truncated(self) -> bool:
        """The model stopped at the token limit, not at the end of its answer."""
        return self.finish_reason == "length"


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


StreamEvent = TextDelta | Completion


class LLMError(Exception):
    """The model could not answer.

    ``code`` is a stable machine-readable reason: ``auth``, ``permission``, ``not_found``,
    ``bad_request``, ``context_length``, ``quota``, ``rate_limited``, ``server_error``,
    ``timeout``, ``connection``, ``stream_interrupted``, ``invalid_response``.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        code: str = "error",
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code
        self.status_code = status_code
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, code={self.code!r}, "
            f"retryable={self.retryable}, status_code={self.status_code}, "
            f"retry_after={self.retry_after})"
        )


class LLMUnavailable(LLMError):
    """Temporarily unavailable after the provider's own retries: try again later."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "unavailable",
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            retryable=True,
            code=code,
            status_code=status_code,
            retry_after=retry_after,
        )


class LLMProvider(ABC):
    """A chat model. Implementations are safe to share between concurrent turns."""

    model: str

    @abstractmethod
    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        """The whole answer at once."""

    @abstractmethod
    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Text deltas as they arrive, then one final :class:`Completion`.

        An error before the first delta may have been retried; once text has been yielded a
        failure raises :class:`LLMUnavailable` (``code="stream_interrupted"``) rather than
        starting over and repeating text the caller already showed.
        """

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most providers hold nothing
        """Release connections; the default does nothing."""
