"""Linking an account to Telegram: a signed, short-lived /start parameter for the platform's bot.

The web app shows https://t.me/<bot>?start=<token>; Telegram hands the token to our bot
in "/start <token>", from the account that pressed it. Signed with JWT_SECRET_KEY, so no
table is needed and nobody can mint a token for someone else's account. Telegram allows
1-64 characters of A-Za-z0-9_- in the parameter.
"""

from __future__ import annotations

import hashlib
import hmac
import time

PREFIX = "link-"
TTL_SECONDS = 3600


def _signature(secret: str, user_id: int, expires: int) -> str:
    return hmac.new(secret.encode(), f"telegram-link:{user_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:24]


def make_token(secret: str, user_id: int, *, now: float | None = None) -> tuple[str, int]:
    expires = int((now or time.time()) + TTL_SECONDS)
    return f"{PREFIX}{user_id}-{expires}-{_signature(secret, user_id, expires)}", expires


def user_of(secret: str, token: str, *, now: float | None = None) -> int | None:
    """The account the token was made for, or None: forged, malformed or expired."""
    if not token.startswith(PREFIX):
        return None
    parts = token[len(PREFIX):].split("-")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    user_id, expires = int(parts[0]), int(parts[1])
    if not hmac.compare_digest(parts[2], _signature(secret, user_id, expires)):
        return None
    return user_id if expires >= (now or time.time()) else None
