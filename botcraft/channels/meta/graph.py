"""A small async client for Meta's Graph API, shared by WhatsApp and Instagram.

Meta signals what went wrong in the JSON body's error.code, not in the HTTP status (a rate
limit arrives as a 400, sometimes as a 200 with an "error" object), so every decision here
is keyed by that code:

- rate limits → retried with capped exponential backoff and jitter, then GraphRateLimited;
- an invalid or expired token → GraphAuthError, a missing permission →
  GraphPermissionError, the closed 24-hour window → GraphWindowClosed: never retried,
  since the same request cannot succeed until the owner acts;
- network errors and 5xx → retried, then GraphError.

Every exception carries `.user_message`, written for the business owner, and none of them,
nor any log line, contains the access token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from botcraft.backoff import backoff_seconds
from botcraft.channels.text_split import split_plain, utf8_len

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.facebook.com"
INSTAGRAM_BASE_URL = "https://graph.instagram.com"  # accounts connected with Instagram Login
WHATSAPP_TEXT_LIMIT = 4096
INSTAGRAM_TEXT_LIMIT = 1000  # UTF-8 bytes
INSTAGRAM_MESSAGING_PERMISSION = (
    "instagram_business_manage_messages (instagram_manage_messages with Facebook Login)"
)

RATE_LIMIT_CODES = frozenset(
    {4, 17, 32, 613, 130429, 131048, 131056} | set(range(80001, 80015))
)  # 80001-80014: the Business Use Case limits (80007 is WhatsApp's)
AUTH_CODES = frozenset({190, 102, 104})
PERMISSION_CODES = frozenset({3, 10} | set(range(200, 300)))
WINDOW_CLOSED_CODE = 131047
# Instagram and Messenger say "outside of allowed window" as code 10 with these subcodes
# (Instagram Login: 2534022; Messenger Platform / Facebook Login: 2018278).
WINDOW_CLOSED_SUBCODES = frozenset({2534022, 2018278})
# Meta's own "temporary, try again" codes: 1 unknown error, 2 service unavailable.
TRANSIENT_CODES = frozenset({1, 2})

_PERMISSION_NAME = re.compile(
    r"\b((?:instagram|pages|whatsapp_business|business|catalog|ads)_[a-z_]+)\b"
)


class GraphError(Exception):
    """A Graph API call failed. `.user_message` is safe to show the owner."""

    def __init__(
        self,
        code: int | None,
        message: str,
        http_status: int | None,
        *,
        user_message: str | None = None,
        retryable: bool = False,
        subcode: int | None = None,
        details: str | None = None,
        fbtrace_id: str | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        self.subcode = subcode
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.retryable = retryable
        self.user_message = user_message or _default_words(code, message, details)
        where = f"code {code}" if code is not None else "no error code"
        status = f", HTTP {http_status}" if http_status is not None else ""
        super().__init__(f"{self.user_message} ({where}{status})")


class GraphRateLimited(GraphError):
    pass


class GraphAuthError(GraphError):
    pass


class GraphPermissionError(GraphError):
    pass


class GraphWindowClosed(GraphError):
    pass


def _default_words(code: int | None, message: str, details: str | None) -> str:
    text = details or message or "no details"
    return f"Meta refused the request (error {code}): {text}" if code else text


def _error_from_body(http_status: int, body: Any, token: str) -> GraphError:
    """The exception for a failed answer, chosen by Meta's error.code."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        retryable = http_status >= 500 or http_status == 429
        return GraphError(
            None,
            f"HTTP {http_status} without a Graph API error",
            http_status,
            user_message=f"Meta's server answered HTTP {http_status} without an explanation.",
            retryable=retryable,
        )
    code = _int(error.get("code"))
    subcode = _int(error.get("error_subcode"))
    message = _scrub(str(error.get("message") or ""), token)
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    details = _scrub(details, token) if isinstance(details, str) else None
    common: dict[str, Any] = {
        "subcode": subcode,
        "details": details,
        "fbtrace_id": error.get("fbtrace_id") if isinstance(error.get("fbtrace_id"), str) else None,
    }
    is_oauth = error.get("type") == "OAuthException"

    if code in RATE_LIMIT_CODES:
        return GraphRateLimited(
            code,
            message,
            http_status,
            user_message=(
                f"Meta's rate limit was reached (error {code}); the message will be retried "
                "later. If this keeps happening, fewer messages should be sent at once."
            ),
            retryable=True,
            **common,
        )
    if code == WINDOW_CLOSED_CODE:
        return GraphWindowClosed(
            code,
            message,
            http_status,
            user_message=(
                "It has been more than 24 hours since the customer's last message; "
                "only a template message can be sent until the customer writes again."
            ),
            **common,
        )
    if subcode in WINDOW_CLOSED_SUBCODES or "outside of allowed window" in message.lower():
        return GraphWindowClosed(
            code,
            message,
            http_status,
            user_message=(
                "It has been more than 24 hours since the customer's last message; Instagram "
                "allows no automatic reply until the customer writes again (a person may "
                "still answer within 7 days)."
            ),
            **common,
        )
    # 2500 is both "An active access token must be used..." and "Unknown path components",
    # each with type OAuthException: only the first is about the token.
    token_2500 = code == 2500 and is_oauth and "access token" in message.lower()
    if code in AUTH_CODES or token_2500:
        why = {
            463: " (it has expired)",
            460: " (the password of the account that issued it was changed)",
            458: " (the app was removed from the account)",
            459: " (the account is checkpointed: log in to Facebook to fix it)",
            464: " (the user account is not confirmed)",
            467: " (it is invalid)",
        }.get(subcode or 0, "")
        return GraphAuthError(
            code,
            message,
            http_status,
            user_message=(
                f"The access token is invalid or has expired{why}. Generate a new access "
                "token in Meta's developer dashboard and replace it in this channel's "
                "settings."
            ),
            **common,
        )
    if code in PERMISSION_CODES:
        names = sorted(set(_PERMISSION_NAME.findall(f"{message} {details or ''}")))
        if names:
            missing = ", ".join(names)
            words = (
                f"The access token lacks the permission {missing}. Grant it to the app in "
                "Meta's developer dashboard, then generate a new token with it."
            )
        else:
            words = (
                f"Meta refused the request for lack of permission (error {code}): "
                f"{details or message or 'no details'}. Check that the token was issued "
                "with the messaging permissions for this account."
            )
        return GraphPermissionError(code, message, http_status, user_message=words, **common)
    retryable = error.get("is_transient") is True or code in TRANSIENT_CODES or http_status >= 500
    return GraphError(code, message, http_status, retryable=retryable, **common)


class GraphClient:
    """Graph API calls with Meta's error semantics.

    `http` lets the app share one connection pool (and lets tests point at a fake server
    through base_url); a client created here is closed by `aclose()`.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        version: str = "v21.0",
        http: httpx.AsyncClient | None = None,
        max_retries: int = 3,
        *,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        timeout: float = 20.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version.strip("/")
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=5.0))

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> GraphClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def url(self, path: str) -> str:
        prefix = f"{self.base_url}/{self.version}" if self.version else self.base_url
        return f"{prefix}/{path.lstrip('/')}"

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (0-based): capped, jittered."""
        return backoff_seconds(attempt + 1, base=self.backoff_base, cap=self.backoff_cap)

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Call the Graph API; the decoded JSON object, or a GraphError subclass."""
        url = self.url(path)
        headers = {"Authorization": f"Bearer {token}"}
        attempt = 0
        while True:
            outcome = await self._attempt(method, url, headers, json, params, token)
            if isinstance(outcome, dict):
                return outcome
            error = outcome
            if not error.retryable or attempt >= self.max_retries:
                raise error
            delay = self.backoff(attempt)
            # The path holds ids, never the token (which travels only in the header).
            logger.warning(
                "Graph API %s %s failed (%s), retry %d in %.2fs",
                method,
                path,
                error.code if error.code is not None else error.message,
                attempt + 1,
                delay,
            )
            await self._sleep(delay)
            attempt += 1

    async def _attempt(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        json: Any,
        params: dict[str, Any] | None,
        token: str,
    ) -> dict[str, Any] | GraphError:
        try:
            response = await self._http.request(
                method, url, headers=headers, json=json, params=params
            )
        except httpx.TransportError as exc:
            # Connection refused, DNS, timeouts, a dropped connection: worth retrying.
            # The exception text is not kept: only its kind is safe to repeat.
            return GraphError(
                None,
                f"network error: {type(exc).__name__}",
                None,
                user_message=f"Could not reach Meta's servers ({type(exc).__name__}).",
                retryable=True,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success and not (isinstance(body, dict) and "error" in body):
            if isinstance(body, dict):
                return body
            return {} if body is None else {"data": body}
        return _error_from_body(response.status_code, body, token)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _scrub(text: str, token: str) -> str:
    """Meta's words, minus the token should Meta ever echo it back."""
    return text.replace(token, "[token]") if token else text


# ------------------------------------------------------------------ convenience calls


def split_for_whatsapp(text: str) -> list[str]:
    return split_plain(text, WHATSAPP_TEXT_LIMIT)


def split_for_instagram(text: str) -> list[str]:
    # Instagram's limit is 1000 bytes of UTF-8 (elsewhere in its docs "characters"): by
    # bytes, Cyrillic text fits about 500 characters, so measure the stricter way.
    return split_plain(text, INSTAGRAM_TEXT_LIMIT, utf8_len)


async def whatsapp_send_text(
    client: GraphClient, phone_number_id: str, token: str, to: str, text: str
) -> str:
    """Send one text message (at most 4096 characters); returns its wamid."""
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": text},
    }
    async with _usual_permission("whatsapp_business_messaging"):
        body = await client.request(
            "POST", f"{phone_number_id}/messages", token=token, json=payload
        )
    messages = body.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        wamid = messages[0].get("id")
        if isinstance(wamid, str) and wamid:
            return wamid
    raise GraphError(None, "no message id in the send response", 200)


async def whatsapp_mark_read(
    client: GraphClient, phone_number_id: str, token: str, message_id: str
) -> None:
    """Mark the customer's message as read (blue ticks)."""
    payload = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
    async with _usual_permission("whatsapp_business_messaging"):
        await client.request("POST", f"{phone_number_id}/messages", token=token, json=payload)


async def instagram_send_text(
    client: GraphClient,
    account_or_page_id: str,
    token: str,
    recipient_id: str,
    text: str,
    *,
    human_agent: bool = False,
) -> str:
    """Send one text DM (at most 1000 UTF-8 bytes); returns its message_id.

    human_agent=True tags an owner's own reply with HUMAN_AGENT, which Meta allows up to
    7 days after the customer's last message instead of 24 hours.
    """
    payload: dict[str, Any] = {"recipient": {"id": recipient_id}, "message": {"text": text}}
    if human_agent:
        payload["messaging_type"] = "MESSAGE_TAG"
        payload["tag"] = "HUMAN_AGENT"
    async with _usual_permission(INSTAGRAM_MESSAGING_PERMISSION):
        body = await client.request(
            "POST", f"{account_or_page_id}/messages", token=token, json=payload
        )
    message_id = body.get("message_id")
    if isinstance(message_id, str) and message_id:
        return message_id
    raise GraphError(None, "no message_id in the send response", 200)


async def instagram_check(client: GraphClient, account_id: str, token: str) -> dict[str, str]:
    """Check a token against the account: {"id", "username"}, or a GraphError in words."""
    try:
        async with _usual_permission(INSTAGRAM_MESSAGING_PERMISSION):
            body = await client.request(
                "GET", account_id, token=token, params={"fields": "id,username"}
            )
    except GraphError as exc:
        if exc.code == 100 and exc.subcode == 33:
            # "Object with ID ... does not exist, cannot be loaded due to missing
            # permissions...": the usual result of a wrong account id or a token issued
            # for another account.
            raise _reworded(
                exc,
                f"Instagram account {account_id} was not found with this access token: "
                "check that the account id is right and that the token was issued for "
                "that account.",
            ) from exc
        raise
    return {key: str(body[key]) for key in ("id", "username") if body.get(key) is not None}


@contextlib.asynccontextmanager
async def _usual_permission(permission: str) -> AsyncIterator[None]:
    """Name the permission a call needs when Meta's refusal does not (WhatsApp's (#10))."""
    try:
        yield
    except GraphPermissionError as exc:
        if _PERMISSION_NAME.search(f"{exc.message} {exc.details or ''}"):
            raise
        raise _reworded(
            exc,
            f"The access token lacks a permission this needs, normally {permission} "
            f"(Meta error {exc.code}: {exc.details or exc.message}). Grant it to the app in "
            "Meta's developer dashboard, then generate a new token with it.",
        ) from exc


def _reworded(exc: GraphError, user_message: str) -> GraphError:
    return type(exc)(
        exc.code,
        exc.message,
        exc.http_status,
        user_message=user_message,
        retryable=exc.retryable,
        subcode=exc.subcode,
        details=exc.details,
        fbtrace_id=exc.fbtrace_id,
    )
