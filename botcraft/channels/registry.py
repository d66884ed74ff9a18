"""Every channel BotCraft speaks. Adding one is a BaseChannel subclass and a line here."""

from __future__ import annotations

from botcraft.channels.base import BaseChannel
from botcraft.channels.telegram import TelegramChannel

CHANNELS: dict[str, type[BaseChannel]] = {
    TelegramChannel.name: TelegramChannel,
}
