"""Check that a webhook really comes from Meta (WhatsApp Cloud API, Instagram, Messenger).

Every POST carries X-Hub-Signature-256: "sha256=" + hex HMAC-SHA256(app secret, body).
The HMAC is over the raw body bytes exactly as received: Meta escapes non-ASCII as \\uXXXX
and "/" as "\\/", so JSON parsed and serialized again hashes differently. Callers must pass
`await request.body()`, never a re-encoded payload.

The verification GET (hub.mode=subscribe, hub.verify_token, hub.challenge) is answered by
echoing hub.challenge when the token matches.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from enum import Enum

SIGNATURE_HEADER = "X-Hub-Signature-256"

_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})", re.IGNORECASE)
# Meta's challenge is a number; anything beyond a plain token is refused rather than
# echoed, so this endpoint cannot be used to reflect arbitrary content.
_CHALLENGE = re.compile(r"[A-Za-z0-9_.\-]{1,512}")


class SignatureResult(Enum):
    OK = 200
    MISSING = 401  # no signature header: not from Meta, or a proxy dropped it
    INVALID = 403  # malformed, or signed with another secret, or the body was altered
    NOT_CONFIGURED = 503  # no app secret set: we cannot tell, so we accept nothing

    @property
    def http_status(self) -> int:
        return self.value

    @property
    def ok(self) -> bool:
        return self is SignatureResult.OK


def expected_signature(raw_body: bytes, app_secret: str) -> str:
    """The header value Meta would send for this body: "sha256=<hex>"."""
    digest = hmac.new(app_secret.strip().encode(), raw_body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    raw_body: bytes, header: str | None, app_secret: str | None
) -> SignatureResult:
    """Check X-Hub-Signature-256 against the raw body; constant time."""
    if not app_secret or not app_secret.strip():
        return SignatureResult.NOT_CONFIGURED
    if header is None or not header.strip():
        return SignatureResult.MISSING
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        return SignatureResult.INVALID
    expected = expected_signature(raw_body, app_secret).removeprefix("sha256=")
    # Both sides are ASCII hex of equal length here; lowercase, since Meta's docs do not
    # promise a case and some proxies re-emit headers in upper case.
    if hmac.compare_digest(expected.encode(), match.group(1).lower().encode()):
        return SignatureResult.OK
    return SignatureResult.INVALID


def verify_challenge(params: Mapping[str, str], expected_token: str | None) -> str | None:
    """hub.challenge to echo (as text/plain) if this is a valid subscribe request, else None.

    None means answer 403. `params` is the query string as a mapping (Starlette's
    request.query_params works as is).
    """
    if not expected_token:
        return None
    mode = params.get("hub.mode")
    token = params.get("hub.verify_token")
    challenge = params.get("hub.challenge")
    if mode != "subscribe" or not isinstance(token, str) or not isinstance(challenge, str):
        return None
    if not secrets.compare_digest(token.encode(), expected_token.encode()):
        return None
    if not _CHALLENGE.fullmatch(challenge):
        return None
    return challenge
