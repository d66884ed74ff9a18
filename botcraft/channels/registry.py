"""Every channel BotCraft speaks. Adding one is a BaseChannel subclass and a line here."""

from __future__ import annotations

from botcraft.channels.base import BaseChannel
from botcraft.channels.instagram import InstagramChannel
from botcraft.channels.telegram import TelegramChannel
from botcraft.channels.whatsapp import WhatsAppChannel

CHANNELS: dict[str, type[BaseChannel]] = {
    TelegramChannel.name: TelegramChannel,
    WhatsAppChannel.name: WhatsAppChannel,
    InstagramChannel.name: InstagramChannel,
}
