"""Instagram Direct: Instagram Login (graph.instagram.com) or the Facebook page-token flow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from botcraft.channels.base import ChannelContext
from botcraft.channels.events import InboundEvent
from botcraft.channels.instagram.parse import parse_instagram
from botcraft.channels.instagram.settings import InstagramSettings
from botcraft.channels.meta.channel import MetaChannel
from botcraft.channels.meta.graph import GraphError, instagram_check, instagram_send_text, split_for_instagram

if TYPE_CHECKING:
    from botcraft.config import Settings


class InstagramChannel(MetaChannel):
    name: ClassVar[str] = "instagram"
    settings_model = InstagramSettings
    secret_fields = ("access_token",)
    required_fields = ("access_token", "business_account_id")

    @classmethod
    def meta_secrets(cls, settings: Settings) -> tuple[str, str]:
        return settings.instagram_verify_token, settings.instagram_app_secret

    @classmethod
    def server_defaults(cls, settings: Settings) -> dict[str, Any]:
        values = {"access_token": settings.instagram_access_token,
                  "business_account_id": settings.instagram_business_account_id,
                  "page_id": settings.instagram_page_id}
        return {k: v for k, v in values.items() if v}

    def _client(self, ctx: ChannelContext) -> Any:
        # With a page id, messages go through the Facebook Page (Facebook Login); otherwise
        # through Instagram Login's own host with the account's token.
        settings = self.runtime.settings
        return self.graph(settings.graph_api_base if ctx.get("page_id") else settings.instagram_api_base)

    def _sender_id(self, ctx: ChannelContext) -> str:
        return str(ctx.get("page_id") or ctx.get("business_account_id"))

    def parse(self, payload: dict[str, Any]) -> list[InboundEvent]:
        return parse_instagram(payload)

    def rate_key(self, ctx: ChannelContext) -> str:
        return f"instagram:{ctx.get('business_account_id')}"

    async def setup(self, ctx: ChannelContext) -> dict[str, Any]:
        try:
            account = await instagram_check(self._client(ctx), self._sender_id(ctx), ctx.get("access_token"))
        except GraphError as exc:
            raise self.setup_error(exc, "instagram.access_token") from exc
        return {"mode": "webhook", "route_key": ctx.get("business_account_id"),
                "details": {"username": account.get("username"), "page_id": ctx.get("page_id")}}

    async def send_text(self, ctx: ChannelContext, chat_id: str, text: str) -> str | None:
        last = None
        for part in split_for_instagram(text):
            try:
                last = await instagram_send_text(self._client(ctx), self._sender_id(ctx), ctx.get("access_token"),
                                                 chat_id, part)
            except GraphError as exc:
                raise self.send_error(exc) from exc
        return last
