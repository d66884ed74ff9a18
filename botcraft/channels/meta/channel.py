"""What WhatsApp and Instagram share: one Graph client per host, one error mapping."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from botcraft.channels.base import BaseChannel, ChannelSetupError, SendError
from botcraft.channels.meta.graph import (
    GraphAuthError,
    GraphClient,
    GraphError,
    GraphPermissionError,
    GraphRateLimited,
    GraphWindowClosed,
)

if TYPE_CHECKING:
    from fastapi import APIRouter

    from botcraft.config import Settings


class MetaChannel(BaseChannel):
    """A channel of a Meta app: its webhook at /webhook/<name>, checked with the app's secret."""

    reply_window_hours: ClassVar[int | None] = 24

    @classmethod
    def meta_secrets(cls, settings: Settings) -> tuple[str, str]:
        """(verify token, app secret) of the Meta app this channel's webhook belongs to."""
        raise NotImplementedError

    @classmethod
    def routers(cls) -> list[APIRouter]:
        from botcraft.channels.meta.webhooks import webhook_router

        return [webhook_router(cls.name, cls.meta_secrets)]

    @classmethod
    def setup_info(cls, settings: Settings) -> dict[str, Any]:
        base = settings.public_base_url
        return {"webhook_url": f"{base}/webhook/{cls.name}" if base else None,
                "verify_token": cls.meta_secrets(settings)[0] or None}

    @classmethod
    def server_configured(cls, settings: Settings) -> bool:
        return all(cls.meta_secrets(settings))

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        self._clients: dict[str, GraphClient] = {}

    def graph(self, base_url: str) -> GraphClient:
        client = self._clients.get(base_url)
        if client is None:
            client = self._clients[base_url] = GraphClient(
                base_url, self.runtime.settings.graph_api_version, http=self.runtime.http
            )
        return client

    @staticmethod
    def setup_error(exc: GraphError, field: str) -> ChannelSetupError:
        if isinstance(exc, GraphAuthError | GraphPermissionError):
            return ChannelSetupError(exc.user_message, field=field)
        return ChannelSetupError(f"Meta answered: {exc.user_message}")

    @staticmethod
    def send_error(exc: GraphError) -> SendError:
        if isinstance(exc, GraphWindowClosed):
            return SendError(exc.user_message, window_closed=True)
        if isinstance(exc, GraphRateLimited):
            return SendError(exc.user_message, retryable=True)
        return SendError(exc.user_message, retryable=exc.retryable)
