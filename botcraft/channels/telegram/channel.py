"""Telegram through aiogram's Bot API client, pointed at TELEGRAM_API_BASE."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any, ClassVar

import structlog
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import AnswerCallbackQuery, GetUpdates, SendChatAction, SendMessage
from aiogram.methods.base import Response
from aiogram.types import BotCommand

from botcraft.channels.base import BaseChannel, ChannelContext, ChannelSetupError, SendError
from botcraft.channels.events import EventKind, InboundEvent
from botcraft.channels.telegram.format import render_parts
from botcraft.channels.telegram.parse import parse_update
from botcraft.channels.telegram.settings import TelegramSettings

if TYPE_CHECKING:
    from fastapi import APIRouter

    from botcraft.config import Settings

log = structlog.get_logger("botcraft.telegram")

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
WEBHOOK_PATH = "/webhook/telegram"
COMMANDS = {
    "ru": [BotCommand(command="start", description="Начать разговор"),
           BotCommand(command="help", description="Что умеет бот")],
    "en": [BotCommand(command="start", description="Start the conversation"),
           BotCommand(command="help", description="What the bot can do")],
}


# aiogram parses every answer as Response[T], a pydantic generic model that pydantic keeps in a
# weak cache; once collected it is built again (a model class: ~2% of the serving process's
# CPU in bench/channels_e2e). Holding the ones every message uses keeps them built.
_RESPONSE_MODELS = tuple(Response[m.__returning__] for m in (  # type: ignore[name-defined]
    SendMessage, SendChatAction, GetUpdates, AnswerCallbackQuery))


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TelegramChannel(BaseChannel):
    name: ClassVar[str] = "telegram"
    settings_model = TelegramSettings
    secret_fields = ("token",)
    required_fields = ("token",)

    @classmethod
    def routers(cls) -> list[APIRouter]:
        from botcraft.channels.telegram.webhook import router

        return [router]

    @classmethod
    def first_values(cls, settings: Settings) -> dict[str, Any]:
        return {"webhook_mode": settings.telegram_webhook_mode}

    @classmethod
    def setup_info(cls, settings: Settings) -> dict[str, Any]:
        base = settings.public_base_url
        return {"webhook_url": base + WEBHOOK_PATH if base else None}

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        self._bots: dict[str, Bot] = {}

    def bot(self, token: str) -> Bot:
        """One client per token: aiogram keeps a connection pool per session."""
        bot = self._bots.get(token)
        if bot is None:
            api = TelegramAPIServer.from_base(self.runtime.settings.telegram_api_base)
            bot = self._bots[token] = Bot(token, session=AiohttpSession(api=api))
        return bot

    def parse(self, payload: dict[str, Any]) -> list[InboundEvent]:
        return [parse_update(payload)]

    def channel_message_id(self, event: InboundEvent) -> str | None:
        # Telegram message ids are unique per chat only.
        return f"{event.chat_id}:{event.message_id}" if event.message_id else None

    def rate_key(self, ctx: ChannelContext) -> str:
        return f"telegram:{str(ctx.get('token')).split(':', 1)[0]}"

    def send_rates(self) -> tuple[float, float]:
        settings = self.runtime.settings
        return settings.telegram_rate_per_bot, settings.telegram_rate_per_chat

    async def setup(self, ctx: ChannelContext) -> dict[str, Any]:
        bot = self.bot(ctx.get("token"))
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError as exc:
            raise ChannelSetupError(f"Telegram refused this bot token: {exc.message}", field="telegram.token") from exc
        except TelegramNetworkError as exc:  # a subclass of TelegramAPIError: first
            raise ChannelSetupError("Telegram could not be reached; please try again.") from exc
        except TelegramAPIError as exc:
            raise ChannelSetupError(f"Telegram answered: {exc.message}", field="telegram.token") from exc
        await self._describe(bot, ctx)
        details = {"bot_id": me.id, "bot_username": me.username, "bot_name": me.first_name}
        state: dict[str, Any] = {"route_key": str(me.id), "details": details, "webhook_secret_hash": None}
        if ctx.get("webhook_mode"):
            base = self.runtime.settings.public_base_url
            if not base:
                raise ChannelSetupError(
                    "Webhook mode needs PUBLIC_BASE_URL (the public https address of this server); "
                    "set it, or use polling mode.", field="telegram.webhook_mode")
            secret = secrets.token_urlsafe(48)  # A-Z a-z 0-9 _ - as Telegram requires
            try:
                await bot.set_webhook(base + WEBHOOK_PATH, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
            except TelegramAPIError as exc:
                raise ChannelSetupError(f"Telegram refused the webhook: {exc.message}") from exc
            return state | {"mode": "webhook", "webhook_secret_hash": secret_hash(secret)}
        try:
            await bot.delete_webhook(drop_pending_updates=False)
        except TelegramAPIError as exc:
            raise ChannelSetupError(f"Telegram answered: {exc.message}") from exc
        return state | {"mode": "polling"}

    async def _describe(self, bot: Bot, ctx: ChannelContext) -> None:
        """The bot's profile from the agent: best effort, a failure here does not block connecting."""
        language = ctx.get("agent_language") or "ru"
        description = (ctx.get("agent_description") or ctx.get("agent_name") or "").strip()
        try:
            if description:
                await bot.set_my_description(description=description[:512])
                await bot.set_my_short_description(short_description=description[:120])
            await bot.set_my_commands(COMMANDS.get(language, COMMANDS["ru"]))
        except TelegramAPIError as exc:
            log.warning("telegram_describe_failed", error=exc.message)

    async def teardown(self, ctx: ChannelContext) -> None:
        try:
            await self.bot(ctx.get("token")).delete_webhook(drop_pending_updates=False)
        except (TelegramAPIError, TelegramNetworkError) as exc:
            log.warning("telegram_teardown_failed", error=str(exc))

    async def send_text(self, ctx: ChannelContext, chat_id: str, text: str) -> str | None:
        bot = self.bot(ctx.get("token"))
        last: str | None = None
        for html, plain in render_parts(text):
            try:
                try:
                    sent = await bot.send_message(int(chat_id), html, parse_mode="HTML")
                except TelegramBadRequest as exc:
                    if "can't parse entities" not in exc.message.lower():
                        raise
                    # Our HTML should always parse; if Telegram disagrees, the words still go out.
                    sent = await bot.send_message(int(chat_id), plain, parse_mode=None)
            except TelegramRetryAfter as exc:
                raise SendError(f"Telegram asks to wait {exc.retry_after} s", retry_after=exc.retry_after) from exc
            except TelegramForbiddenError as exc:
                raise SendError(f"Telegram: {exc.message}", blocked=True) from exc
            except (TelegramNetworkError, TelegramServerError) as exc:
                raise SendError(f"Telegram is unavailable: {exc}", retryable=True) from exc
            except TelegramAPIError as exc:
                raise SendError(f"Telegram refused the message: {exc.message}") from exc
            last = f"{chat_id}:{sent.message_id}"
        return last

    async def typing(self, ctx: ChannelContext, chat_id: str) -> None:
        try:
            await self.bot(ctx.get("token")).send_chat_action(int(chat_id), "typing")
        except (TelegramAPIError, TelegramNetworkError, ValueError):
            pass  # cosmetic

    async def on_inbound(self, ctx: ChannelContext, event: InboundEvent) -> None:
        if event.kind == EventKind.CALLBACK and event.callback_id:
            try:
                await self.bot(ctx.get("token")).answer_callback_query(event.callback_id)
            except (TelegramAPIError, TelegramNetworkError) as exc:
                log.info("callback_answer_failed", error=str(exc))

    async def aclose(self) -> None:
        for bot in self._bots.values():
            await bot.session.close()
        self._bots.clear()
