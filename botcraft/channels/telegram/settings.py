"""What an owner gives to connect a Telegram bot."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from botcraft.channels.settings import ChannelSettings
from botcraft.i18n import N_

TELEGRAM_TOKEN_RE = re.compile(r"^\d{5,12}:[A-Za-z0-9_-]{30,64}$")


class TelegramSettings(ChannelSettings):
    token: str | None = Field(default=None, description="Bot token from @BotFather")
    webhook_mode: bool | None = None

    @field_validator("token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is not None and not TELEGRAM_TOKEN_RE.match(value.strip()):
            raise ValueError(N_("is not a bot token from @BotFather (like 123456789:AA...)"))
        return value.strip() if value else value
