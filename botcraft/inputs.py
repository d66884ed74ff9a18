"""What every request body model shares: text that both databases can store.

PostgreSQL refuses the NUL character in text, so a body carrying "\\u0000" would fail at the
database as a 500 (found by the API fuzzing); it is refused here instead, as a 422 that
names the field, on SQLite too so that both behave alike.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, field_validator

from botcraft.i18n import N_


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class Input(BaseModel):
    """The base of every request body model."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError(N_("must not contain the NUL character (\\u0000)"))
        return value
