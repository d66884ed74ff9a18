"""The platform's own bot (TELEGRAM_TOKEN): it opens the web app as a Telegram Mini App.

Updates go first to `on_update` (the owner's loop: replies to notifications, their buttons,
linking an account); whatever it leaves, such as `/start`, gets a button that opens
PUBLIC_BASE_URL inside Telegram, and the same link is set as the chat menu button. In webhook mode its updates arrive at
/webhook/telegram with a secret derived from JWT_SECRET_KEY; otherwise this process polls
(run polling in one process only: Telegram answers a second poller with 409).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import AiogramError, TelegramAPIError, TelegramNetworkError, TelegramRetryAfter
from aiogram.types import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, MenuButtonWebApp, WebAppInfo

from botcraft.backoff import backoff_seconds
from botcraft.channels.telegram.channel import WEBHOOK_PATH
from botcraft.config import Settings

log = structlog.get_logger("botcraft.platform_bot")

WELCOME_RU = ("Здравствуйте! BotCraft помогает создать ИИ-ассистента для вашего бизнеса: он отвечает "
              "клиентам в Telegram, WhatsApp и Instagram по вашим документам.")
NO_URL_RU = "Веб-приложение ещё не настроено: администратору нужно указать PUBLIC_BASE_URL."
ALLOWED_UPDATES = ["message", "callback_query"]
# Handles an update and says whether it did.
UpdateHandler = Callable[[dict[str, Any]], Awaitable[bool]]


def platform_secret(settings: Settings) -> str:
    """Stable across restarts and processes, and never guessable without JWT_SECRET_KEY."""
    return hmac.new(settings.jwt_secret_key.encode(), b"platform-bot-webhook", hashlib.sha256).hexdigest()


class PlatformBot:
    def __init__(self, settings: Settings, *, polling: bool, on_update: UpdateHandler | None = None) -> None:
        self.settings = settings
        self.on_update = on_update
        api = TelegramAPIServer.from_base(settings.telegram_api_base)
        self.bot = Bot(settings.telegram_token, session=AiohttpSession(api=api))
        self.polling = polling
        self._task: asyncio.Task[None] | None = None

    @property
    def app_url(self) -> str | None:
        url = self.settings.public_base_url
        return url + "/" if url.startswith("https://") else None  # Telegram opens only https apps

    async def start(self) -> None:
        try:
            await self.bot.set_my_commands([BotCommand(command="start", description="Открыть BotCraft")])
            if self.app_url:
                await self.bot.set_chat_menu_button(
                    menu_button=MenuButtonWebApp(text="BotCraft", web_app=WebAppInfo(url=self.app_url)))
            if self.settings.telegram_webhook_mode and self.settings.public_base_url:
                await self.bot.set_webhook(self.settings.public_base_url + WEBHOOK_PATH,
                                           secret_token=platform_secret(self.settings), allowed_updates=ALLOWED_UPDATES)
                return
            await self.bot.delete_webhook(drop_pending_updates=False)
        except (TelegramAPIError, TelegramNetworkError) as exc:
            log.warning("platform_bot_setup_failed", error=str(exc))
            return
        if self.polling:
            self._task = asyncio.create_task(self._poll(), name="platform bot poller")

    async def handle(self, update: dict[str, Any]) -> None:
        if self.on_update is not None:
            try:
                if await self.on_update(update):
                    return
            except Exception:  # noqa: BLE001 - one bad update must not stop the bot
                log.exception("platform_bot_update_failed")
                return
        message = update.get("message") or {}
        chat = message.get("chat") or {}
        if chat.get("type") != "private" or "id" not in chat:
            return
        markup = None
        text = WELCOME_RU if self.app_url else NO_URL_RU
        if self.app_url:
            markup = InlineKeyboardMarkup(inline_keyboard=[[
                InlineKeyboardButton(text="Открыть BotCraft", web_app=WebAppInfo(url=self.app_url))]])
        try:
            await self.bot.send_message(chat["id"], text, reply_markup=markup)
        except (TelegramAPIError, TelegramNetworkError) as exc:
            log.info("platform_bot_reply_failed", error=str(exc))

    async def _poll(self) -> None:
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(offset=offset, timeout=self.settings.telegram_poll_timeout,
                                                     allowed_updates=ALLOWED_UPDATES,
                                                     request_timeout=self.settings.telegram_poll_timeout + 10)
                failures = 0
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
                continue
            except AiogramError as exc:  # API errors, network errors, undecodable answers
                failures += 1
                log.warning("platform_bot_poll_failed", error=str(exc))
                await asyncio.sleep(backoff_seconds(failures, base=2.0, cap=60.0))
                continue
            for update in updates:
                offset = update.update_id + 1
                await self.handle(update.model_dump(mode="json", by_alias=True, exclude_none=True))

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.bot.session.close()
        except Exception as exc:  # noqa: BLE001 - shutting down must not fail on a client error
            log.warning("platform_bot_close_failed", error=str(exc))
