"""Channel settings of an agent: validated shapes, secrets encrypted, masked for display.

`PUT /api/agents/{id}/integrations` semantics: a key left out keeps that channel as it is,
`null` removes it, an object replaces its fields (a secret left out is kept).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from botcraft.crypto import decrypt, encrypt, mask
from botcraft.i18n import N_
from botcraft.inputs import Input

TELEGRAM_TOKEN_RE = re.compile(r"^\d{5,12}:[A-Za-z0-9_-]{30,64}$")
_DIGITS_RE = re.compile(r"^\d{5,32}$")

# The fields of each channel that are secrets (encrypted at rest, masked on the way out).
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "telegram": ("token",),
    "whatsapp": ("access_token",),
    "instagram": ("access_token",),
}
CHANNELS = tuple(SECRET_FIELDS)


class _Strict(Input):
    model_config = ConfigDict(extra="forbid")


def _meta_token(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not re.fullmatch(r"[A-Za-z0-9_.|-]{20,1024}", value):
        raise ValueError(N_("does not look like a Meta access token"))
    return value


def _digits(value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    if not _DIGITS_RE.match(value):
        raise ValueError(N_("must be the numeric id shown in Meta's dashboard"))
    return value


class TelegramSettings(_Strict):
    token: str | None = Field(default=None, description="Bot token from @BotFather")
    webhook_mode: bool | None = None

    @field_validator("token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is not None and not TELEGRAM_TOKEN_RE.match(value.strip()):
            raise ValueError(N_("is not a bot token from @BotFather (like 123456789:AA...)"))
        return value.strip() if value else value


class WhatsAppSettings(_Strict):
    access_token: str | None = None
    phone_number_id: str | None = None

    @field_validator("access_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        return _meta_token(value)

    @field_validator("phone_number_id", mode="before")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        return _digits(value)


class InstagramSettings(_Strict):
    access_token: str | None = None
    business_account_id: str | None = None
    page_id: str | None = None

    @field_validator("access_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        return _meta_token(value)

    @field_validator("business_account_id", "page_id", mode="before")
    @classmethod
    def _ids(cls, value: str | None) -> str | None:
        return _digits(value)


class IntegrationsUpdate(_Strict):
    telegram: TelegramSettings | None = None
    whatsapp: WhatsAppSettings | None = None
    instagram: InstagramSettings | None = None


REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "telegram": ("token",),
    "whatsapp": ("access_token", "phone_number_id"),
    "instagram": ("access_token", "business_account_id"),
}


class MissingField(ValueError):
    def __init__(self, channel: str, field: str) -> None:
        super().__init__(f"{channel}.{field}: required to connect {channel}")
        self.field = f"{channel}.{field}"


def merge(
    stored: dict[str, Any], update: IntegrationsUpdate, key: str, *, default_webhook_mode: bool,
    defaults: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The new stored integrations (secrets encrypted). Raises MissingField.

    A required field may be left to `defaults` (the server's env values).
    """
    result = {k: dict(v) for k, v in (stored or {}).items()}
    for channel in update.model_fields_set:
        incoming = getattr(update, channel)
        if incoming is None:
            result.pop(channel, None)
            continue
        current = result.get(channel, {})
        for field, value in incoming.model_dump(exclude_unset=True).items():
            if value is None:
                continue
            current[field] = encrypt(value, key) if field in SECRET_FIELDS[channel] else value
        if channel == "telegram" and "webhook_mode" not in current:
            current["webhook_mode"] = default_webhook_mode
        for field in REQUIRED_FIELDS[channel]:
            if not current.get(field) and not (defaults or {}).get(channel, {}).get(field):
                raise MissingField(channel, field)
        result[channel] = current
    return result


def reveal(stored: dict[str, Any], channel: str, key: str) -> dict[str, Any] | None:
    """One channel's settings with secrets decrypted, for the code that talks to it."""
    settings = (stored or {}).get(channel)
    if settings is None:
        return None
    return {
        k: decrypt(v, key) if k in SECRET_FIELDS[channel] and isinstance(v, str) else v
        for k, v in settings.items()
    }


def masked(stored: dict[str, Any], key: str) -> dict[str, Any]:
    """What the API shows: every channel, configured or not, secrets masked."""
    out: dict[str, Any] = {}
    for channel in CHANNELS:
        plain = reveal(stored, channel, key)
        if plain is None:
            out[channel] = None
            continue
        out[channel] = {
            k: mask(v) if k in SECRET_FIELDS[channel] else v
            for k, v in plain.items()
            if not k.startswith("_")
        }
    return out
