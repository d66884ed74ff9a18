"""A fake Meta Graph API for WhatsApp Cloud API and Instagram messaging.

One app serves the shapes of both hosts (``graph.facebook.com`` and ``graph.instagram.com``);
point either base URL of the client at ``fake.base_url``. Paths carry the version as Meta's do:
``/v25.0/<phone_number_id>/messages``, ``/v25.0/me/messages``, ``/v25.0/<id>?fields=...``.

    graph = GraphFake()
    wa_token = graph.add_token(permissions={"whatsapp_business_messaging"})
    phone_id = graph.add_whatsapp_number(token=wa_token)
    ig_token = graph.add_token(permissions={"instagram_business_basic",
                                            "instagram_business_manage_messages"})
    ig_id = graph.add_instagram_account(token=ig_token, username="coffee_spb")
    with graph.serve():
        graph.fail_next(130429)                    # next send: WhatsApp throughput limit
        graph.close_window("79001234567")          # 131047 for free-form sends to him
        ...
        assert graph.sent_messages(phone_id)[0]["text"] == "..."

Tokens go in ``Authorization: Bearer`` or the ``access_token`` query/form parameter. Errors
are Meta-shaped: ``{"error": {"message", "type", "code", "error_subcode"?, "error_data"?,
"fbtrace_id"}}``; callers are expected to branch on ``error.code``, not the HTTP status.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import FakeService

__all__ = ["GraphError", "GraphFake", "GraphRequest"]

VERSION_RE = re.compile(r"^v\d+\.\d+$")
WHATSAPP_TEXT_LIMIT = 4096
# Meta's Instagram docs: "Message text must be UTF-8 and be a 1000 bytes or less" (elsewhere
# "less than 1000 characters"); bytes is the stricter reading and bites Cyrillic at 500 chars.
INSTAGRAM_TEXT_LIMIT = 1000

WA_SEND = {"whatsapp_business_messaging"}
WA_READ = {"whatsapp_business_management", "whatsapp_business_messaging"}
IG_SEND = {"instagram_manage_messages", "instagram_business_manage_messages"}
IG_READ = {"instagram_basic", "instagram_business_basic"} | IG_SEND
ALL_PERMISSIONS = WA_SEND | WA_READ | IG_SEND | IG_READ | {"pages_messaging", "pages_show_list"}

# code -> (title used in "(#code) title", HTTP status, whatsapp details)
KNOWN_ERRORS: dict[int, tuple[str, int, str]] = {
    1: ("An unknown error occurred", 500, "Invalid request or possible server error."),
    2: ("Service temporarily unavailable", 503,
        "Temporary due to downtime or due to being overloaded."),
    4: ("Application request limit reached", 400,
        "The app has reached its API call rate limit."),
    10: ("Application does not have permission for this action", 403,
         "Permission is either not granted or has been removed."),
    80007: ("Rate limit issues", 400,
            "The WhatsApp Business Account has reached its rate limit."),
    100: ("Invalid parameter", 400,
          "The request included one or more unsupported or misspelled parameters."),
    130429: ("Rate limit hit", 400,
             "Message failed to send because there were too many messages sent from this "
             "phone number in a short period of time"),
    131000: ("Something went wrong", 500,
             "Message failed to send due to an unknown error."),
    131016: ("Service unavailable", 503, "A service is temporarily unavailable."),
    131026: ("Message Undeliverable", 400, "Message failed to send."),
    131047: ("Re-engagement message", 400,
             "Message failed to send because more than 24 hours have passed since the "
             "customer last replied to this number."),
    131048: ("Spam rate limit hit", 400,
             "Message failed to send because there are restrictions on how many messages can "
             "be sent from this phone number. This may be because too many previous messages "
             "were blocked or flagged as spam."),
    131056: ("(Business Account, Consumer Account) pair rate limit hit", 400,
             "Message failed to send because there were too many messages sent from this "
             "phone number to the same phone number in a short period of time."),
    200: ("Requires instagram_manage_messages permission", 403,
          "Permission is either not granted or has been removed."),
}  # fmt: skip
RATE_LIMIT_CODES = {4, 80007, 130429, 131048, 131056}


class GraphError(Exception):
    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        type: str = "OAuthException",
        subcode: int | None = None,
        details: str | None = None,
        is_transient: bool | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.type = type
        self.subcode = subcode
        self.details = details
        self.is_transient = is_transient
        self.headers = headers or {}

    def body(self, *, whatsapp: bool) -> dict:
        err: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        if self.is_transient is not None:
            err["is_transient"] = self.is_transient
        if whatsapp and self.details:
            err["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        err["fbtrace_id"] = _fbtrace_id()
        return {"error": err}


def _fbtrace_id() -> str:
    return "A" + "".join(
        secrets.choice(string.ascii_letters + string.digits + "_-") for _ in range(22)
    )


def _random_digits(n: int) -> str:
    return str(1 + secrets.randbelow(9)) + "".join(str(secrets.randbelow(10)) for _ in range(n - 1))


def _invalid_token() -> GraphError:
    return GraphError(401, 190, "Invalid OAuth access token - Cannot parse access token")


def _no_object(method: str, object_id: str) -> GraphError:
    return GraphError(
        400,
        100,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation. "
        "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        type="GraphMethodException",
        subcode=33,
    )


def _param_error(message: str, *, details: str | None = None) -> GraphError:
    return GraphError(400, 100, f"(#100) {message}", details=details or message)


@dataclass
class GraphRequest:
    method: str
    path: str
    version: str | None
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    token: str | None
    at: float = field(default_factory=time.time)


@dataclass
class _Token:
    token: str
    permissions: set[str]
    me: str | None  # object id "/me" resolves to
    user: dict  # what /me returns when me is None (a system user)


@dataclass
class _Object:
    id: str
    kind: str  # "whatsapp" | "instagram" | "page"
    fields: dict[str, Any]
    tokens: set[str]
    read_permissions: set[str]
    send_permissions: set[str]
    instagram_id: str | None = None  # a page sends for its linked Instagram account


@dataclass
class _Failure:
    code: int
    status: int
    message: str
    details: str | None
    subcode: int | None
    object_id: str | None
    edge: str | None
    times: int
    type: str
    headers: dict[str, str]


class GraphFake(FakeService):
    """Fake ``graph.facebook.com`` / ``graph.instagram.com``; see the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self._tokens: dict[str, _Token] = {}
        self._objects: dict[str, _Object] = {}
        self._closed_windows: set[str] = set()
        self._failures: list[_Failure] = []
        self._requests: list[GraphRequest] = []
        self._sent: list[dict] = []
        self._reads: list[dict] = []
        self.app = Starlette(
            routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST", "DELETE"])]
        )

    # --- registration ----------------------------------------------------------------------

    def add_token(self, token: str | None = None, *, permissions: set[str] | None = None) -> str:
        """A valid access token with these granted permissions (default: all messaging ones)."""
        token = token or "EAAG" + "".join(
            secrets.choice(string.ascii_letters + string.digits) for _ in range(180)
        )
        with self._lock:
            self._tokens[token] = _Token(
                token=token,
                permissions=set(ALL_PERMISSIONS if permissions is None else permissions),
                me=None,
                user={"name": "BotCraft System User", "id": _random_digits(15)},
            )
        return token

    def add_whatsapp_number(
        self,
        phone_number_id: str | None = None,
        *,
        token: str,
        display_phone_number: str = "+7 900 000-00-00",
        verified_name: str = "Кофейня «Зерно»",
    ) -> str:
        """A WhatsApp business phone number reachable with ``token``; returns its id."""
        phone_number_id = phone_number_id or _random_digits(15)
        obj = _Object(
            id=phone_number_id,
            kind="whatsapp",
            fields={
                "display_phone_number": display_phone_number,
                "verified_name": verified_name,
                "quality_rating": "GREEN",
                "code_verification_status": "VERIFIED",
                "platform_type": "CLOUD_API",
                "throughput": {"level": "STANDARD"},
            },
            tokens={token},
            read_permissions=WA_READ,
            send_permissions=WA_SEND,
        )
        with self._lock:
            self._require_token(token)
            self._objects[phone_number_id] = obj
        return phone_number_id

    def add_instagram_account(
        self,
        ig_user_id: str | None = None,
        *,
        token: str,
        username: str = "zerno_coffee",
        name: str = "Кофейня «Зерно»",
        page_id: str | None = None,
        page_token: str | None = None,
    ) -> str:
        """An Instagram professional account; ``token`` is its Instagram-login token (``/me``
        resolves to it). With ``page_id`` the linked Facebook Page also exists and sends for it
        via ``/{page_id}/messages`` with ``page_token`` (default: ``token``)."""
        ig_user_id = ig_user_id or "1784" + _random_digits(13)
        with self._lock:
            tok = self._require_token(token)
            tok.me = tok.me or ig_user_id
            self._objects[ig_user_id] = _Object(
                id=ig_user_id,
                kind="instagram",
                fields={
                    "username": username,
                    "name": name,
                    "user_id": ig_user_id,
                    "account_type": "BUSINESS",
                },
                tokens={token} | ({page_token} if page_token else set()),
                read_permissions=IG_READ,
                send_permissions=IG_SEND,
            )
            if page_id:
                ptoken = page_token or token
                ptok = self._require_token(ptoken)
                if ptoken != token:
                    ptok.me = ptok.me or page_id
                self._objects[page_id] = _Object(
                    id=page_id,
                    kind="page",
                    fields={"name": name, "instagram_business_account": {"id": ig_user_id}},
                    tokens={ptoken},
                    read_permissions={"pages_show_list"} | IG_READ,
                    send_permissions=IG_SEND,
                    instagram_id=ig_user_id,
                )
        return ig_user_id

    def revoke_permission(self, token: str, permission: str) -> None:
        with self._lock:
            self._require_token(token).permissions.discard(permission)

    def grant_permission(self, token: str, permission: str) -> None:
        with self._lock:
            self._require_token(token).permissions.add(permission)

    def invalidate_token(self, token: str) -> None:
        """The owner changed the password / the token expired: it now answers 190."""
        with self._lock:
            self._tokens.pop(token, None)

    def close_window(self, recipient_id: str) -> None:
        """More than 24 h since this customer (wa_id or IGSID) last wrote."""
        with self._lock:
            self._closed_windows.add(_digits(recipient_id) or recipient_id)

    def open_window(self, recipient_id: str) -> None:
        with self._lock:
            self._closed_windows.discard(_digits(recipient_id) or recipient_id)

    def fail_next(
        self,
        code: int,
        *,
        http_status: int | None = None,
        message: str | None = None,
        details: str | None = None,
        subcode: int | None = None,
        object_id: str | None = None,
        edge: str | None = "messages",
        times: int = 1,
        error_type: str = "OAuthException",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Make the next ``times`` matching requests fail with Meta error ``code``.

        ``edge="messages"`` (default) matches sends; ``edge=None`` matches any request, ``""``
        only object reads. Known codes get Meta's title, HTTP status and details; override any.
        """
        title, status, known_details = KNOWN_ERRORS.get(code, ("Unknown error", 400, None))
        if headers is None and code in RATE_LIMIT_CODES:
            headers = {
                "x-app-usage": json.dumps(
                    {"call_count": 100, "total_cputime": 25, "total_time": 25}
                )
            }
        with self._lock:
            self._failures.append(
                _Failure(
                    code=code,
                    status=http_status or status,
                    message=message or f"(#{code}) {title}",
                    details=details or known_details,
                    subcode=subcode,
                    object_id=object_id,
                    edge=edge,
                    times=times,
                    type=error_type,
                    headers=headers or {},
                )
            )

    # --- inspection ------------------------------------------------------------------------

    def sent_count(self, object_id: str | None = None) -> int:
        """How many sends were accepted, without copying them (for polling loops that are timed)."""
        with self._lock:
            return sum(1 for m in self._sent if object_id is None or m["object_id"] == object_id)

    def sent_messages(self, object_id: str | None = None) -> list[dict]:
        """Accepted sends: channel, object_id, to, type, text, body, message_id, version."""
        with self._lock:
            return [
                copy.deepcopy(m)
                for m in self._sent
                if object_id is None or m["object_id"] == object_id
            ]

    def read_receipts(self, phone_number_id: str | None = None) -> list[dict]:
        """WhatsApp mark-as-read calls (message_id, typing_indicator)."""
        with self._lock:
            return [
                copy.deepcopy(m)
                for m in self._reads
                if phone_number_id is None or m["object_id"] == phone_number_id
            ]

    @property
    def requests(self) -> list[GraphRequest]:
        with self._lock:
            return list(self._requests)

    # --- HTTP ------------------------------------------------------------------------------

    def _require_token(self, token: str) -> _Token:
        try:
            return self._tokens[token]
        except KeyError:
            raise KeyError("register the token with add_token() first") from None

    async def _read_body(self, request: Request) -> tuple[Any, dict[str, str]]:
        """Returns (body, form fields); form values that hold JSON are decoded, as Meta does."""
        if request.method != "POST":
            return None, {}
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/json":
            raw = await request.body()
            if not raw:
                return {}, {}
            try:
                return json.loads(raw), {}
            except ValueError:
                raise _param_error("Invalid JSON in request body") from None
        if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form()
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            body: dict[str, Any] = {}
            for key, value in fields.items():
                if value[:1] in "{[":
                    try:
                        body[key] = json.loads(value)
                        continue
                    except ValueError:
                        pass
                body[key] = value
            return body, fields
        return {}, {}

    async def _endpoint(self, request: Request) -> Response:
        self._remember_loop()
        parts = [p for p in request.path_params["path"].split("/") if p]
        version = parts.pop(0) if parts and VERSION_RE.match(parts[0]) else None
        body: Any = None
        form: dict[str, str] = {}
        error: GraphError | None = None
        try:
            body, form = await self._read_body(request)
        except GraphError as exc:
            error = exc
        token = _extract_token(request, form)
        with self._lock:
            self._requests.append(
                GraphRequest(
                    method=request.method,
                    path=request.url.path,
                    version=version,
                    query=dict(request.query_params),
                    headers={k.lower(): v for k, v in request.headers.items()},
                    body=body,
                    token=token,
                )
            )
        try:
            if error is not None:
                raise error
            return self._dispatch(request, parts, version, token, body)
        except GraphError as exc:
            with self._lock:
                tok = self._tokens.get(token or "")
                target = (tok.me if tok and parts and parts[0] == "me" else None) or (
                    parts[0] if parts else ""
                )
                obj = self._objects.get(target)
            whatsapp = obj is not None and obj.kind == "whatsapp"
            return JSONResponse(
                exc.body(whatsapp=whatsapp), status_code=exc.status, headers=exc.headers
            )

    def _dispatch(
        self, request: Request, parts: list[str], version: str | None, token: str | None, body: Any
    ) -> Response:
        if not parts:
            raise GraphError(400, 2500, "Unknown path components: /")
        if token is None:
            raise GraphError(400, 104, "An access token is required to request this resource.")
        with self._lock:
            tok = self._tokens.get(token)
        if tok is None:
            raise _invalid_token()
        object_id, edges = parts[0], parts[1:]
        if edges == ["permissions"] and request.method == "GET":
            return JSONResponse(_permissions(tok))
        if object_id == "me":
            if tok.me is None and not edges and request.method == "GET":
                return JSONResponse(dict(tok.user))
            object_id = tok.me or object_id
        with self._lock:
            obj = self._objects.get(object_id)
        if obj is None or token not in obj.tokens:
            raise _no_object(request.method, parts[0])
        edge = "/".join(edges)
        self._raise_injected(obj.id, edge)
        if not edges and request.method == "GET":
            return self._read_object(obj, tok, request.query_params.get("fields"))
        if edges == ["messages"] and request.method == "POST":
            if not isinstance(body, dict):
                raise _param_error("Invalid request body")
            if obj.kind == "whatsapp":
                return self._whatsapp_send(obj, tok, body, version)
            return self._instagram_send(obj, tok, body, version)
        raise GraphError(400, 2500, f"Unknown path components: /{edge}")

    def _raise_injected(self, object_id: str, edge: str) -> None:
        with self._lock:
            for failure in self._failures:
                if failure.object_id not in (None, object_id):
                    continue
                if failure.edge is not None and failure.edge != edge:
                    continue
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                raise GraphError(
                    failure.status,
                    failure.code,
                    failure.message,
                    type=failure.type,
                    subcode=failure.subcode,
                    details=failure.details,
                    is_transient=True if failure.code in RATE_LIMIT_CODES else None,
                    headers=failure.headers,
                )

    def _read_object(self, obj: _Object, tok: _Token, fields: str | None) -> Response:
        if not tok.permissions & obj.read_permissions:
            raise _missing_permission(obj, sending=False)
        wanted = [f.strip() for f in fields.split(",")] if fields else None
        data = {"id": obj.id}
        if wanted is None:
            default = (
                "username"
                if obj.kind == "instagram"
                else ("name" if obj.kind == "page" else "display_phone_number")
            )
            wanted = (
                [default] if obj.kind != "whatsapp" else ["display_phone_number", "verified_name"]
            )
        for name in wanted:
            if name == "id":
                continue
            if name not in obj.fields:
                raise GraphError(
                    400,
                    100,
                    f"(#100) Tried accessing nonexisting field ({name}) on node type "
                    f"({_node_type(obj)})",
                )
            data[name] = copy.deepcopy(obj.fields[name])
        return JSONResponse(data)

    def _whatsapp_send(self, obj: _Object, tok: _Token, body: dict, version: str | None):
        if body.get("messaging_product") != "whatsapp":
            raise _param_error("The parameter messaging_product is required.")
        if not tok.permissions & obj.send_permissions:
            raise _missing_permission(obj)
        if body.get("status") == "read":
            if not body.get("message_id"):
                raise _param_error("The parameter message_id is required.")
            with self._lock:
                self._reads.append(
                    {
                        "object_id": obj.id,
                        "message_id": body["message_id"],
                        "typing_indicator": body.get("typing_indicator"),
                        "at": time.time(),
                    }
                )
            return JSONResponse({"success": True})
        to = body.get("to")
        if not to:
            raise _param_error("The parameter to is required.")
        kind = body.get("type", "text")
        text = None
        if kind == "text":
            text = (body.get("text") or {}).get("body")
            if not isinstance(text, str) or not text:
                raise _param_error("The parameter text['body'] is required.")
            if len(text) > WHATSAPP_TEXT_LIMIT:
                raise _param_error(
                    "Invalid parameter",
                    details=f"Param text['body'] must be at most {WHATSAPP_TEXT_LIMIT} "
                    "characters long.",
                )
        wa_id = _digits(str(to))
        with self._lock:
            closed = wa_id in self._closed_windows
        if closed and kind != "template":
            title, status, details = KNOWN_ERRORS[131047]
            raise GraphError(status, 131047, f"(#131047) {title}", details=details)
        message_id = (
            "wamid."
            + base64.b64encode(
                f"\x0b{wa_id}\x15\x02\x00\x11\x18\x12{secrets.token_hex(9).upper()}\x00".encode()
            ).decode()
        )
        with self._lock:
            self._sent.append(
                {
                    "channel": "whatsapp",
                    "object_id": obj.id,
                    "to": to,
                    "type": kind,
                    "text": text,
                    "body": copy.deepcopy(body),
                    "message_id": message_id,
                    "version": version,
                    "at": time.time(),
                }
            )
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": str(to), "wa_id": wa_id}],
                "messages": [{"id": message_id}],
            }
        )

    def _instagram_send(self, obj: _Object, tok: _Token, body: dict, version: str | None):
        if not tok.permissions & obj.send_permissions:
            raise _missing_permission(obj)
        recipient = body.get("recipient")
        recipient_id = recipient.get("id") if isinstance(recipient, dict) else None
        if not recipient_id:
            raise _param_error("param recipient must be non-empty.")
        recipient_id = str(recipient_id)
        message = body.get("message")
        sender_action = body.get("sender_action")
        if message is None:
            if sender_action in ("typing_on", "typing_off", "mark_seen", "react", "unreact"):
                return JSONResponse({"recipient_id": recipient_id})
            raise _param_error("param message must be non-empty.")
        if not isinstance(message, dict):
            raise _param_error("param message must be a JSON object.")
        text = message.get("text")
        if text is not None:
            if not isinstance(text, str) or not text:
                raise _param_error("param message[text] must be non-empty.")
            if len(text.encode("utf-8")) > INSTAGRAM_TEXT_LIMIT:
                raise _param_error(
                    f"Length of param message[text] must be less than or equal to "
                    f"{INSTAGRAM_TEXT_LIMIT}"
                )
        tag = body.get("tag") if body.get("messaging_type") == "MESSAGE_TAG" else None
        human_agent = tag == "HUMAN_AGENT"  # a person may answer for 7 days, not a bot
        with self._lock:
            closed = recipient_id in self._closed_windows
        if closed and not human_agent:
            if obj.kind == "page":  # Messenger Platform flavour (graph.facebook.com)
                raise GraphError(
                    400,
                    10,
                    "(#10) This message is sent outside of allowed window.",
                    subcode=2018278,
                )
            raise GraphError(  # Instagram Login flavour (graph.instagram.com)
                403,
                10,
                "This message is sent outside of allowed window.",
                type="IGApiException",
                subcode=2534022,
            )
        account_id = obj.instagram_id or obj.id
        raw_mid = f"ig_message_item:1:IGMessageThread:{account_id}:{secrets.randbelow(10**38)}"
        message_id = base64.urlsafe_b64encode(raw_mid.encode()).decode().rstrip("=")
        with self._lock:
            self._sent.append(
                {
                    "channel": "instagram",
                    "object_id": obj.id,
                    "instagram_id": account_id,
                    "to": recipient_id,
                    "type": "text" if text is not None else "attachment",
                    "text": text,
                    "body": copy.deepcopy(body),
                    "message_id": message_id,
                    "version": version,
                    "at": time.time(),
                }
            )
        return JSONResponse({"recipient_id": recipient_id, "message_id": message_id})


def _extract_token(request: Request, form: dict[str, str]) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return auth[7:].strip()
    return request.query_params.get("access_token") or form.get("access_token") or None


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _permissions(tok: _Token) -> dict:
    return {"data": [{"permission": p, "status": "granted"} for p in sorted(tok.permissions)]}


def _node_type(obj: _Object) -> str:
    return {"whatsapp": "WhatsAppBusinessPhoneNumber", "instagram": "IGUser", "page": "Page"}[
        obj.kind
    ]


def _missing_permission(obj: _Object, *, sending: bool = True) -> GraphError:
    if obj.kind == "whatsapp" or not sending:
        title, status, details = KNOWN_ERRORS[10]
        return GraphError(status, 10, f"(#10) {title}", details=details)
    return GraphError(403, 200, "(#200) Requires instagram_manage_messages permission")
