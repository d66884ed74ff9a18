"""Secrets at rest: Fernet (AES-128-CBC + HMAC) with ENCRYPTION_KEY, and masking for display."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken


class SecretDecryptionError(RuntimeError):
    """A stored secret cannot be read with the current ENCRYPTION_KEY."""


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def encrypt(plaintext: str, key: str) -> str:
    return _fernet(key).encrypt(plaintext.encode()).decode()


# Every message decrypts its channel's secrets (the bot token and the webhook secret), and
# Fernet's HMAC check and AES make that ~22 µs each: remembered by the ciphertext, as the
# channel clients keep the tokens they were built with anyway.
@lru_cache(maxsize=1024)
def decrypt(token: str, key: str) -> str:
    try:
        return _fernet(key).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretDecryptionError(
            "A stored secret cannot be decrypted: ENCRYPTION_KEY changed since it was saved."
        ) from exc


def mask(secret: str | None) -> str | None:
    """At most the last 4 characters, and none of a short secret."""
    if not secret:
        return None
    tail = secret[-4:] if len(secret) >= 12 else ""
    return "••••" + tail
