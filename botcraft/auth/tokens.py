"""Bearer tokens: an HS256 JWT naming a `sessions` row, which is the real authority.

The JWT only saves a lookup by opaque token; revocation and expiry live in the row, so
logout takes effect at once in every process.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from botcraft.models import utcnow

ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    session_id: str
    token: str
    token_hash: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user_id: int, secret: str, ttl_seconds: int) -> IssuedToken:
    session_id = secrets.token_hex(16)
    now = utcnow()
    expires_at = now + timedelta(seconds=ttl_seconds)
    token = jwt.encode(
        {"sid": session_id, "sub": str(user_id), "iat": now, "exp": expires_at},
        secret,
        algorithm=ALGORITHM,
    )
    return IssuedToken(session_id, token, token_hash(token), expires_at)


def session_id_of(token: str, secret: str) -> str | None:
    """The session id a valid, unexpired token names; None for anything else."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sid"]})
    except jwt.PyJWTError:
        return None
    sid = claims.get("sid")
    return sid if isinstance(sid, str) else None
