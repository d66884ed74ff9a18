"""The platform bot's client for notices (one per process, also in `botcraft worker`)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from botcraft.notifications.texts import word
from botcraft.runtime import Runtime

# Callback data of the buttons under a notice ("n:<action>:<id>", well under Telegram's 64 bytes).
TAKE_OVER, HAND_BACK, REMEMBER = "take", "bot", "save"


class PlatformClient:
    """An aiogram Bot closed with the runtime (the Bot itself has no aclose)."""

    def __init__(self, token: str, api_base: str) -> None:
        self.bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))

    async def aclose(self) -> None:
        await self.bot.session.close()


def platform_client(runtime: Runtime) -> Bot | None:
    """The platform bot's client, or None when TELEGRAM_TOKEN is not set."""
    settings = runtime.settings
    if not settings.telegram_token:
        return None
    if runtime.notify_client is None:
        runtime.notify_client = PlatformClient(settings.telegram_token, settings.telegram_api_base)
    assert isinstance(runtime.notify_client, PlatformClient)
    return runtime.notify_client.bot


def conversation_url(public_base_url: str, conversation_id: int) -> str | None:
    """The web app opened at one conversation; None without a public https address."""
    if not public_base_url.startswith("https://"):
        return None  # Telegram opens only https Mini Apps
    return f"{public_base_url}/?conversation={conversation_id}"


def callback(action: str, item_id: int) -> str:
    return f"n:{action}:{item_id}"


def parse_callback(data: str | None) -> tuple[str, int] | None:
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != "n" or not parts[2].isdigit():
        return None
    return parts[1], int(parts[2])


def notice_keyboard(notification_id: int, url: str | None, *, human_mode: bool, resolved: bool,
                    language: str) -> InlineKeyboardMarkup | None:
    rows: list[list[InlineKeyboardButton]] = []
    if url:
        rows.append([InlineKeyboardButton(text=word("open", language), web_app=WebAppInfo(url=url))])
    if not resolved:
        action, label = (HAND_BACK, "hand_back") if human_mode else (TAKE_OVER, "take_over")
        rows.append([InlineKeyboardButton(text=word(label, language), callback_data=callback(action, notification_id))])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def remember_keyboard(owner_message_id: int, language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=word("remember", language), callback_data=callback(REMEMBER, owner_message_id))]])
