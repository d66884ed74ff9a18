"""What an owner gives to connect an Instagram professional account."""

from __future__ import annotations

from pydantic import field_validator

from botcraft.channels.meta.settings import meta_token, numeric_id
from botcraft.channels.settings import ChannelSettings


class InstagramSettings(ChannelSettings):
    access_token: str | None = None
    business_account_id: str | None = None
    page_id: str | None = None

    @field_validator("access_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        return meta_token(value)

    @field_validator("business_account_id", "page_id", mode="before")
    @classmethod
    def _ids(cls, value: str | None) -> str | None:
        return numeric_id(value)
