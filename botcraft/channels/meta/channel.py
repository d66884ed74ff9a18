"""What WhatsApp and Instagram share: one Graph client per host, one error mapping."""

from __future__ import annotations

from typing import Any, ClassVar

from botcraft.channels.base import BaseChannel, ChannelSetupError, SendError
from botcraft.channels.meta.graph import (
    GraphAuthError,
    GraphClient,
    GraphError,
    GraphPermissionError,
    GraphRateLimited,
    GraphWindowClosed,
)


class MetaChannel(BaseChannel):
    reply_window_hours: ClassVar[int | None] = 24

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
