"""WhatsApp Business Cloud API: webhook in, Graph API `/{phone_number_id}/messages` out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import structlog

from botcraft.channels.base import ChannelContext
from botcraft.channels.events import EventKind, InboundEvent
from botcraft.channels.meta.channel import MetaChannel
from botcraft.channels.meta.graph import GraphError, split_for_whatsapp, whatsapp_mark_read, whatsapp_send_text
from botcraft.channels.whatsapp.parse import parse_whatsapp
from botcraft.channels.whatsapp.settings import WhatsAppSettings

if TYPE_CHECKING:
    from botcraft.config import Settings

log = structlog.get_logger("botcraft.whatsapp")


class WhatsAppChannel(MetaChannel):
    name: ClassVar[str] = "whatsapp"
    settings_model = WhatsAppSettings
    secret_fields = ("access_token",)
    required_fields = ("access_token", "phone_number_id")

    @classmethod
    def meta_secrets(cls, settings: Settings) -> tuple[str, str]:
        return settings.whatsapp_verify_token, settings.whatsapp_app_secret

    @classmethod
    def server_defaults(cls, settings: Settings) -> dict[str, Any]:
        values = {"access_token": settings.whatsapp_access_token,
                  "phone_number_id": settings.whatsapp_phone_number_id}
        return {k: v for k, v in values.items() if v}

    def _client(self) -> Any:
        return self.graph(self.runtime.settings.graph_api_base)

    def parse(self, payload: dict[str, Any]) -> list[InboundEvent]:
        return parse_whatsapp(payload)

    def rate_key(self, ctx: ChannelContext) -> str:
        return f"whatsapp:{ctx.get('phone_number_id')}"

    async def setup(self, ctx: ChannelContext) -> dict[str, Any]:
        phone_number_id = ctx.get("phone_number_id")
        try:
            number = await self._client().request(
                "GET", phone_number_id, token=ctx.get("access_token"),
                params={"fields": "display_phone_number,verified_name"},
            )
        except GraphError as exc:
            raise self.setup_error(exc, "whatsapp.access_token") from exc
        details = {k: number[k] for k in ("display_phone_number", "verified_name") if k in number}
        return {"mode": "webhook", "route_key": phone_number_id, "details": details}

    async def send_text(self, ctx: ChannelContext, chat_id: str, text: str) -> str | None:
        last = None
        for part in split_for_whatsapp(text):
            try:
                last = await whatsapp_send_text(self._client(), ctx.get("phone_number_id"), ctx.get("access_token"),
                                                chat_id, part)
            except GraphError as exc:
                raise self.send_error(exc) from exc
        return last

    async def on_inbound(self, ctx: ChannelContext, event: InboundEvent) -> None:
        if event.kind in (EventKind.MESSAGE, EventKind.MEDIA) and event.message_id:
            try:  # blue ticks: the customer sees we have read it
                await whatsapp_mark_read(self._client(), ctx.get("phone_number_id"), ctx.get("access_token"),
                                         event.message_id)
            except GraphError as exc:
                log.info("mark_read_failed", error=exc.user_message)
