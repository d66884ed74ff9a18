"""What every channel does: verify and parse inbound, send text, set up and tear down.

Adding a channel is one subpackage with a BaseChannel subclass, plus its line in
`registry.CHANNELS`. The class declares everything the rest of the service needs to know:
its settings model and which of its fields are secrets or required (the integrations API,
encryption at rest, masking), the server's env values that fill fields an agent leaves out,
its webhook routes (mounted by app.py from the registry), what the owner pastes into the
platform's dashboard (`GET /api/agents/{id}/channels/setup`) and whether the server side is
configured (`/health`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from botcraft.channels.events import InboundEvent
from botcraft.channels.settings import ChannelSettings

if TYPE_CHECKING:
    from fastapi import APIRouter

    from botcraft.config import Settings
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
    # What the owner fills in for this channel; see channels/integrations.py.
    settings_model: ClassVar[type[ChannelSettings]]
    # Fields encrypted at rest and masked in every answer.
    secret_fields: ClassVar[tuple[str, ...]] = ()
    # Fields a connection cannot do without (a server default counts).
    required_fields: ClassVar[tuple[str, ...]] = ()
    # Free-form replies allowed only this long after the customer's last message (Meta).
    reply_window_hours: ClassVar[int | None] = None

    @classmethod
    def routers(cls) -> list[APIRouter]:
        """The channel's HTTP routes (its webhook), mounted by app.py."""
        return []

    @classmethod
    def server_defaults(cls, settings: Settings) -> dict[str, Any]:
        """The env values a one-business install uses where an agent leaves a field out."""
        return {}

    @classmethod
    def first_values(cls, settings: Settings) -> dict[str, Any]:
        """Stored with the channel when it is first connected, unless the owner set them."""
        return {}

    @classmethod
    def setup_info(cls, settings: Settings) -> dict[str, Any]:
        """What the owner pastes into the platform's dashboard."""
        return {}

    @classmethod
    def server_configured(cls, settings: Settings) -> bool:
        """Whether this server has what the channel needs of it (an app secret, a verify token)."""
        return True

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
