"""Argon2id password hashing, with the seed's legacy sha256(password + salt) accepted once."""

from __future__ import annotations

import hashlib
import hmac

from anyio import to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# One verification costs about 30 ms of one core here (see bench/results/auth.json):
# slow enough to blunt guessing, fast enough for a login form.
_hasher = PasswordHasher(time_cost=4, memory_cost=19456, parallelism=1, type=Type.ID)
# Verified against when the account does not exist, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("botcraft-timing-equaliser")

MIN_LENGTH = 8
MAX_LENGTH = 1024


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify_argon2(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_legacy(stored: str, salt: str, password: str) -> bool:
    """The seed's form: hex sha256 of password followed by salt."""
    computed = hashlib.sha256((password + salt).encode()).hexdigest()
    return hmac.compare_digest(computed.encode(), stored.lower().encode("ascii", "replace"))


async def verify_password(stored: str | None, salt: str | None, password: str) -> bool:
    """Runs off the event loop: a hash blocks a core for tens of milliseconds."""
    if stored is None:
        await to_thread.run_sync(_verify_argon2, _DUMMY_HASH, password)
        return False
    if salt is not None and not stored.startswith("$argon2"):
        return verify_legacy(stored, salt, password)
    return await to_thread.run_sync(_verify_argon2, stored, password)


async def hash_password_async(password: str) -> str:
    return await to_thread.run_sync(hash_password, password)


def needs_rehash(stored: str, salt: str | None) -> bool:
    if salt is not None or not stored.startswith("$argon2"):
        return True
    return _hasher.check_needs_rehash(stored)
