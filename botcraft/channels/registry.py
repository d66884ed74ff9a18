"""Every channel BotCraft speaks. Adding one is a BaseChannel subclass and a line here."""

from __future__ import annotations

from botcraft.channels.base import BaseChannel
from botcraft.channels.instagram.channel import InstagramChannel
from botcraft.channels.telegram.channel import TelegramChannel
from botcraft.channels.whatsapp.channel import WhatsAppChannel

CHANNELS: dict[str, type[BaseChannel]] = {
    TelegramChannel.name: TelegramChannel,
    WhatsAppChannel.name: WhatsAppChannel,
    InstagramChannel.name: InstagramChannel,
}
