"""An agent's channel settings (`integrations_json`): validated, secrets encrypted, masked.

Each channel class says what its settings are (registry.CHANNELS): the model the owner's
fields are checked against, which fields are secrets, which are required. This module only
applies those declarations, so a new channel needs nothing here.

`PUT /api/agents/{id}/integrations` semantics: a key left out keeps that channel as it is,
`null` removes it, an object replaces its fields (a secret left out is kept).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import create_model

from botcraft.channels.registry import CHANNELS
from botcraft.channels.settings import ChannelSettings
from botcraft.config import Settings
from botcraft.crypto import decrypt, encrypt, mask

if TYPE_CHECKING:
    IntegrationsUpdate = ChannelSettings
else:
    # One optional field per registered channel, each checked by that channel's model.
    IntegrationsUpdate = create_model(
        "IntegrationsUpdate", __base__=ChannelSettings,
        **{name: (channel.settings_model | None, None) for name, channel in CHANNELS.items()},
    )


class MissingField(ValueError):
    def __init__(self, channel: str, field: str) -> None:
        super().__init__(f"{channel}.{field}: required to connect {channel}")
        self.field = f"{channel}.{field}"


def merge(stored: dict[str, Any], update: IntegrationsUpdate, settings: Settings) -> dict[str, Any]:
    """The new stored integrations (secrets encrypted). Raises MissingField.

    A required field may be left to the channel's server defaults (the env values).
    """
    result = {k: dict(v) for k, v in (stored or {}).items()}
    for name in update.model_fields_set:
        channel = CHANNELS[name]
        incoming = getattr(update, name)
        if incoming is None:
            result.pop(name, None)
            continue
        current = result.get(name, {})
        for field, value in incoming.model_dump(exclude_unset=True).items():
            if value is None:
                continue
            current[field] = encrypt(value, settings.encryption_key) if field in channel.secret_fields else value
        for field, value in channel.first_values(settings).items():
            current.setdefault(field, value)
        defaults = channel.server_defaults(settings)
        for field in channel.required_fields:
            if not current.get(field) and not defaults.get(field):
                raise MissingField(name, field)
        result[name] = current
    return result


def reveal(stored: dict[str, Any], channel: str, key: str) -> dict[str, Any] | None:
    """One channel's settings with secrets decrypted, for the code that talks to it."""
    settings = (stored or {}).get(channel)
    if settings is None:
        return None
    secret = CHANNELS[channel].secret_fields
    return {k: decrypt(v, key) if k in secret and isinstance(v, str) else v for k, v in settings.items()}


def masked(stored: dict[str, Any], key: str) -> dict[str, Any]:
    """What the API shows: every channel, configured or not, secrets masked."""
    out: dict[str, Any] = {}
    for name, channel in CHANNELS.items():
        plain = reveal(stored, name, key)
        out[name] = None if plain is None else {
            k: mask(v) if k in channel.secret_fields else v for k, v in plain.items() if not k.startswith("_")
        }
    return out
