"""Job kinds and their handlers: a plain dict filled by `@handler("kind")`.

A handler receives the process's Runtime and the claimed job. It is run at least once and
possibly more (a worker can die after the work but before marking it done), so every
handler is idempotent: it checks in the database whether its effect already happened.

A kind may also name an `on_dead` handler, run once its job has failed for the last time
(or its workers died on every attempt): the place to leave a trace a person sees, such as
flagging a customer's conversation, so that nothing ends in a dead job nobody looks at.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botcraft.jobs.queue import ClaimedJob
    from botcraft.runtime import Runtime

Handler = Callable[["Runtime", "ClaimedJob"], Awaitable[Any]]
# Called with the kind's payload and the last error, after the job is marked dead.
DeadHandler = Callable[["Runtime", dict[str, Any], str], Awaitable[None]]

HANDLERS: dict[str, Handler] = {}
DEAD_HANDLERS: dict[str, DeadHandler] = {}


class PermanentJobError(Exception):
    """Retrying cannot help (bad input): the job goes straight to dead with this message."""


def handler(kind: str, *, on_dead: DeadHandler | None = None) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if kind in HANDLERS and HANDLERS[kind] is not fn:
            raise RuntimeError(f"two handlers for job kind {kind!r}")
        HANDLERS[kind] = fn
        if on_dead is not None:
            DEAD_HANDLERS[kind] = on_dead
        return fn

    return register


class RetryLater(Exception):
    """Try again after `seconds` (a platform's retry_after), or with the usual backoff when None."""

    def __init__(self, reason: str, *, seconds: float | None = None) -> None:
        super().__init__(reason)
        self.seconds = seconds
