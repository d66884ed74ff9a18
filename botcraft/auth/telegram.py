"""Telegram Mini App `initData` validation, exactly as Telegram specifies it.

secret = HMAC-SHA256(key="WebAppData", msg=bot_token); the data-check-string is every
received field but `hash` (a `signature` field stays in), URL-decoded, sorted by key,
joined as `key=value` lines, with values exactly as received: the `user` JSON is never
re-serialised, or the hash would not match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from botcraft.i18n import N_


class InitDataError(Exception):
    """initData is not acceptable; the message says why, in words."""


@dataclass(frozen=True, slots=True)
class TelegramIdentity:
    telegram_id: int
    first_name: str | None
    last_name: str | None
    username: str | None
    auth_date: int

    @property
    def display_name(self) -> str | None:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.username


def _secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def sign(fields: dict[str, str], bot_token: str) -> str:
    """The hash Telegram would put on these fields (used by tests and tools)."""
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    return hmac.new(_secret_key(bot_token), check.encode(), hashlib.sha256).hexdigest()


def validate_init_data(
    init_data: str, bot_token: str, *, max_age: int, now: float | None = None
) -> TelegramIdentity:
    if not init_data or len(init_data) > 8192:
        raise InitDataError("initData is empty or too long.")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise InitDataError("initData is not a valid query string.") from exc
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise InitDataError(N_("initData repeats the field «{field}».").format(field=key))
        fields[key] = value
    received_hash = fields.pop("hash", None)
    if not received_hash:
        raise InitDataError("initData is not signed: the hash field is missing.")
    try:
        received = received_hash.encode("ascii")
    except UnicodeEncodeError as exc:
        raise InitDataError("initData's hash is not a hex string.") from exc

    expected = sign(fields, bot_token).encode("ascii")
    if not hmac.compare_digest(expected, received.lower()):
        raise InitDataError("initData's signature does not match: it was altered or signed by another bot.")

    try:
        auth_date = int(fields.get("auth_date", ""))
    except ValueError as exc:
        raise InitDataError("initData has no valid auth_date.") from exc
    current = time.time() if now is None else now
    if max_age > 0 and current - auth_date > max_age:
        raise InitDataError("initData has expired: open the app from Telegram again.")
    if auth_date - current > 300:
        raise InitDataError("initData's auth_date is in the future.")

    try:
        user = json.loads(fields["user"])
        telegram_id = int(user["id"])
    except (KeyError, ValueError, TypeError) as exc:
        raise InitDataError("initData carries no valid user.") from exc
    if not isinstance(user, dict) or telegram_id <= 0:
        raise InitDataError("initData carries no valid user.")

    def text(key: str) -> str | None:
        value = user.get(key)
        return str(value)[:255] if value else None

    return TelegramIdentity(
        telegram_id=telegram_id,
        first_name=text("first_name"),
        last_name=text("last_name"),
        username=text("username"),
        auth_date=auth_date,
    )
