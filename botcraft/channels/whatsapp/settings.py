"""What an owner gives to connect a WhatsApp Business number."""

from __future__ import annotations

from pydantic import field_validator

from botcraft.channels.meta.settings import meta_token, numeric_id
from botcraft.channels.settings import ChannelSettings


class WhatsAppSettings(ChannelSettings):
    access_token: str | None = None
    phone_number_id: str | None = None

    @field_validator("access_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        return meta_token(value)

    @field_validator("phone_number_id", mode="before")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        return numeric_id(value)
