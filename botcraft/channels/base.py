"""What every channel does: verify and parse inbound, send text, set up and tear down.

A channel is one subclass of BaseChannel plus a line in `registry.CHANNELS`. Its settings
and secrets are still described in agents/integrations.py and its webhook (if any) is routed
in router.py or meta/webhooks.py: moving those into the channel class is unfinished work.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from botcraft.channels.events import InboundEvent

if TYPE_CHECKING:
    from botcraft.runtime import Runtime


class ChannelSetupError(Exception):
    """Connecting failed; the message is for the owner (the platform's own words included)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class SendError(Exception):
    """Sending failed. `retry_after` and `retryable` say whether and when to try again."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        blocked: bool = False,
        window_closed: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable or retry_after is not None
        self.retry_after = retry_after
        self.blocked = blocked
        self.window_closed = window_closed


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """One agent's settings for one channel, secrets decrypted, for the code that talks to it."""

    agent_id: int
    settings: dict[str, Any]

    def get(self, key: str) -> Any:
        return self.settings.get(key)


class BaseChannel(ABC):
    name: ClassVar[str]
    # Free-form replies allowed only this long after the customer's last message (Meta).
    reply_window_hours: ClassVar[int | None] = None

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @abstractmethod
    def parse(self, payload: dict[str, Any]) -> list[InboundEvent]:
        """Platform payload → common events (never raises on odd shapes)."""

    @abstractmethod
    async def send_text(self, ctx: ChannelContext, chat_id: str, text: str) -> str | None:
        """Send one answer (split as the platform needs); the platform id of the last part."""

    @abstractmethod
    async def setup(self, ctx: ChannelContext) -> dict[str, Any]:
        """Validate the settings with the platform and register what it needs.

        Returns the state to keep: {"mode", "route_key", "details", "webhook_secret_hash"}.
        Raises ChannelSetupError with words for the owner.
        """

    async def teardown(self, ctx: ChannelContext) -> None:  # noqa: B027 - most need nothing
        """Undo setup (delete webhooks); errors are logged, never raised."""

    async def on_inbound(self, ctx: ChannelContext, event: InboundEvent) -> None:  # noqa: B027
        """Acknowledge an inbound event on the platform (mark read, answer a callback)."""

    async def typing(self, ctx: ChannelContext, chat_id: str) -> None:  # noqa: B027
        """Show that an answer is being made, where the platform can."""

    def channel_message_id(self, event: InboundEvent) -> str | None:
        """The unique key of an inbound message (per agent and channel)."""
        return event.message_id

    def rate_key(self, ctx: ChannelContext) -> str:
        """What outbound rate limits are counted against (a bot token, a phone number)."""
        return f"{self.name}:{ctx.agent_id}"

    def send_rates(self) -> tuple[float, float]:
        """(messages a second per sender, per chat) this platform allows."""
        settings = self.runtime.settings
        return settings.meta_rate_per_sender, settings.telegram_rate_per_chat

    async def aclose(self) -> None:  # noqa: B027
        """Release clients at shutdown."""
