"""A fake Telegram Bot API server that follows the real protocol.

Production code reaches it through aiogram with ``TelegramAPIServer.from_base(fake.base_url)``.
Routes are ``/bot<token>/<method>`` (GET or POST; JSON, urlencoded or multipart bodies, the
way aiogram sends them); answers are ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}`` with the same
HTTP status, as Telegram does.

    tg = TelegramFake()
    token = tg.add_bot(username="shop_bot")
    with tg.serve():
        tg.push_message(token, chat_id=42, text="Сколько стоит доставка?")
        tg.fail_next("sendMessage", 429, retry_after=3)
        ...                               # drive production code against tg.base_url
        assert tg.sent_messages(token)[0]["text"] == "..."
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import FakeService

__all__ = ["Call", "TelegramFake", "TelegramError", "make_token", "parse_html"]

# `<bot id>:<35 chars>` as BotFather issues them.
TOKEN_RE = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{35}$")
SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
WEBHOOK_PORTS = {80, 88, 443, 8443}
CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
}  # fmt: skip
# getUpdates without allowed_updates delivers every type except these (Bot API docs).
NOT_DELIVERED_BY_DEFAULT = {"chat_member", "message_reaction", "message_reaction_count"}

WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
TERMINATED_BY_OTHER = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)

# Fields aiogram (and any form-posting client) sends JSON-serialized inside form data.
JSON_FIELDS = {
    "reply_markup", "allowed_updates", "commands", "scope", "menu_button", "entities",
    "caption_entities", "link_preview_options", "reply_parameters", "media", "results",
}  # fmt: skip
INT_FIELDS = {
    "offset", "limit", "timeout", "max_connections", "message_id", "message_thread_id",
    "cache_time", "user_id", "from_chat_id", "reply_to_message_id",
}  # fmt: skip
BOOL_FIELDS = {
    "drop_pending_updates", "disable_notification", "protect_content", "show_alert",
    "disable_web_page_preview", "allow_sending_without_reply", "for_channels",
}  # fmt: skip


def make_token(bot_id: int | None = None) -> str:
    """A token in BotFather's format: ``<bot id>:AA<33 url-safe chars>``."""
    if bot_id is None:
        bot_id = 7_000_000_000 + secrets.randbelow(999_999_999)
    alphabet = string.ascii_letters + string.digits + "_-"
    return f"{bot_id}:AA" + "".join(secrets.choice(alphabet) for _ in range(33))


class TelegramError(Exception):
    """Raised inside handlers; becomes an ``{"ok": false, ...}`` answer."""

    def __init__(self, error_code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters


def _bad_request(text: str) -> TelegramError:
    return TelegramError(400, f"Bad Request: {text}")


# --- HTML parse_mode -----------------------------------------------------------------------

_TAG_ENTITY = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "a": "text_link", "code": "code", "pre": "pre",
    "tg-spoiler": "spoiler", "blockquote": "blockquote", "span": "spoiler",
    "tg-emoji": "custom_emoji",
}  # fmt: skip
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_CHAR_REF_RE = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_ATTR_RE = re.compile(r"""([a-zA-Z_-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> tuple[str, list[dict]]:
    """Parse Telegram's HTML subset; returns (plain text, entities) or raises TelegramError.

    Mirrors the Bot API's rules: only the documented tags, properly nested, ``&lt; &gt; &amp;
    &quot;`` and numeric character references; error texts and byte offsets as Telegram
    reports them ("can't parse entities: ...").
    """
    out: list[str] = []
    out_len16 = 0
    entities: list[dict] = []
    stack: list[tuple[str, int, dict]] = []
    i = 0
    byte_pos = 0
    n = len(text)

    def fail(reason: str) -> TelegramError:
        return _bad_request(f"can't parse entities: {reason}")

    while i < n:
        ch = text[i]
        if ch == "<":
            close = text.find(">", i)
            if text.startswith("</", i):
                if close == -1:
                    raise fail(f"Unclosed end tag at byte offset {byte_pos}")
                name = text[i + 2 : close].strip().lower()
                if not stack:
                    raise fail(f"Unexpected end tag at byte offset {byte_pos}")
                open_name, start16, attrs = stack[-1]
                if name != open_name:
                    raise fail(
                        f'Unmatched end tag at byte offset {byte_pos}, expected "</{open_name}>", '
                        f'found "</{name}>"'
                    )
                stack.pop()
                entity = _make_entity(open_name, attrs, start16, out_len16 - start16)
                if entity is not None:
                    entities.append(entity)
            else:
                if close == -1:
                    raise fail(f"Unclosed start tag at byte offset {byte_pos}")
                body = text[i + 1 : close]
                m = re.match(r"[a-zA-Z0-9-]*", body)
                name = m.group(0).lower() if m else ""
                if name not in _TAG_ENTITY:
                    raise fail(f'Unsupported start tag "{name}" at byte offset {byte_pos}')
                attrs = {
                    a.group(1).lower(): (a.group(2) or a.group(3) or a.group(4) or "")
                    for a in _ATTR_RE.finditer(body[len(name) :])
                }
                if name == "span" and attrs.get("class") != "tg-spoiler":
                    raise fail(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_pos}')
                stack.append((name, out_len16, attrs))
            byte_pos += len(text[i : close + 1].encode())
            i = close + 1
            continue
        if ch == "&":
            m = _CHAR_REF_RE.match(text, i)
            if m:
                if m.group(3):
                    decoded = _NAMED_ENTITIES[m.group(3)]
                else:
                    code = int(m.group(1)) if m.group(1) else int(m.group(2), 16)
                    decoded = chr(code) if 0 < code <= 0x10FFFF else ""
                out.append(decoded)
                out_len16 += _utf16_len(decoded)
                byte_pos += len(m.group(0))
                i = m.end()
                continue
        out.append(ch)
        out_len16 += _utf16_len(ch)
        byte_pos += len(ch.encode())
        i += 1

    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _make_entity(tag: str, attrs: dict, offset: int, length: int) -> dict | None:
    if length <= 0:
        return None
    kind = _TAG_ENTITY[tag]
    entity: dict[str, Any] = {"offset": offset, "length": length, "type": kind}
    if tag == "a":
        href = attrs.get("href")
        if not href:
            return None
        entity["url"] = href
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    return entity


# --- state ---------------------------------------------------------------------------------


@dataclass
class Call:
    """One request as the fake received it (after form/JSON decoding)."""

    token: str
    method: str
    params: dict[str, Any]
    http_method: str
    content_type: str
    at: float = field(default_factory=time.time)


@dataclass
class _Failure:
    method: str
    token: str | None
    error_code: int
    description: str
    parameters: dict | None
    times: int


@dataclass
class _Bot:
    token: str
    user: dict
    webhook: dict | None = None
    allowed_updates: list[str] | None = None
    updates: list[dict] = field(default_factory=list)
    next_update_id: int = 0
    next_message_id: int = 1
    sent: list[dict] = field(default_factory=list)
    edits: list[dict] = field(default_factory=list)
    blocked: set[int | str] = field(default_factory=set)
    missing_chats: set[int | str] = field(default_factory=set)
    chats: dict[int | str, dict] = field(default_factory=dict)
    callback_query_ids: set[str] = field(default_factory=set)
    answered_callbacks: list[dict] = field(default_factory=list)
    chat_actions: list[dict] = field(default_factory=list)
    commands: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    short_descriptions: dict[str, str] = field(default_factory=dict)
    menu_buttons: dict[int | str | None, dict] = field(default_factory=dict)
    poll_generation: int = 0
    waiters: set[asyncio.Event] = field(default_factory=set)


def _update_type(update: dict) -> str | None:
    return next((k for k in update if k != "update_id"), None)


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


def _coerce(params: dict[str, Any]) -> dict[str, Any]:
    """Give form-encoded values their types, as Telegram's server does per parameter."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str):
            if key in JSON_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError:
                    what = "reply keyboard markup" if key == "reply_markup" else key
                    raise _bad_request(f"can't parse {what} JSON object") from None
            elif key in INT_FIELDS:
                try:
                    value = int(value)
                except ValueError:
                    raise _bad_request(f"invalid {key} specified") from None
            elif key in BOOL_FIELDS:
                value = _as_bool(value)
            elif key == "chat_id" and re.fullmatch(r"-?\d+", value):
                value = int(value)
        out[key] = value
    return out


class TelegramFake(FakeService):
    """Fake ``api.telegram.org``; see the module docstring for a usage sketch.

    ``require_https_webhook``: setWebhook rejects non-HTTPS URLs and ports other than
    80/88/443/8443, like Telegram. Turn it off to register loopback URLs.
    """

    def __init__(self, *, require_https_webhook: bool = True) -> None:
        super().__init__()
        self.require_https_webhook = require_https_webhook
        self._bots: dict[str, _Bot] = {}
        self._failures: list[_Failure] = []
        self._calls: list[Call] = []
        self._response_delays: dict[str, float] = {}
        self._handlers: dict[str, Callable[[_Bot, dict], Any]] = {
            "getme": self._get_me,
            "logout": self._ok_true,
            "close": self._ok_true,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "sendchataction": self._send_chat_action,
            "answercallbackquery": self._answer_callback_query,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setmydescription": self._set_my_description,
            "getmydescription": self._get_my_description,
            "setmyshortdescription": self._set_my_short_description,
            "getmyshortdescription": self._get_my_short_description,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
        }
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/{path:path}", self._not_found, methods=["GET", "POST"]),
            ]
        )

    # --- test hooks ------------------------------------------------------------------------

    def add_bot(
        self,
        token: str | None = None,
        *,
        username: str = "botcraft_test_bot",
        first_name: str = "BotCraft Test",
    ) -> str:
        """Register a bot the fake will accept; returns its token (generated if not given)."""
        token = token or make_token()
        m = TOKEN_RE.match(token)
        if not m:
            raise ValueError(f"not a Bot API token: {token!r}")
        user = {
            "id": int(m.group(1)),
            "is_bot": True,
            "first_name": first_name,
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        with self._lock:
            self._bots[token] = _Bot(token=token, user=user)
        return token

    def push_update(self, token: str, update: dict) -> dict:
        """Queue an Update for getUpdates; assigns ``update_id`` when missing. Returns it."""
        bot = self._bot(token)
        update = copy.deepcopy(update)
        with self._lock:
            if "update_id" in update:
                bot.next_update_id = max(bot.next_update_id, int(update["update_id"]) + 1)
            else:
                bot.next_update_id = bot.next_update_id or 100_000_000 + secrets.randbelow(10**6)
                update["update_id"] = bot.next_update_id
                bot.next_update_id += 1
            self._learn(bot, update)
            bot.updates.append(update)
            waiters = list(bot.waiters)
        for ev in waiters:
            self._call_in_loop(ev.set)
        return update

    def push_message(
        self,
        token: str,
        chat_id: int,
        text: str,
        *,
        first_name: str = "Иван",
        username: str | None = "ivan_customer",
        language_code: str = "ru",
    ) -> dict:
        """Queue a private-chat text message Update from a customer."""
        user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": first_name}
        chat: dict[str, Any] = {"id": chat_id, "first_name": first_name, "type": "private"}
        if username:
            user["username"] = chat["username"] = username
        user["language_code"] = language_code
        with self._lock:
            message_id = self._bot(token).next_message_id
            self._bot(token).next_message_id += 1
        message = {
            "message_id": message_id,
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [
                {"offset": 0, "length": _utf16_len(command), "type": "bot_command"}
            ]
        return self.push_update(token, {"message": message})

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        *,
        token: str | None = None,
        times: int = 1,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (any bot, or ``token``'s) fail."""
        if description is None:
            description = {
                400: "Bad Request",
                401: "Unauthorized",
                403: "Forbidden: bot was blocked by the user",
                404: "Not Found",
                409: TERMINATED_BY_OTHER,
                429: f"Too Many Requests: retry after {retry_after}",
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(error_code, "Internal Server Error")
        parameters: dict[str, Any] = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        with self._lock:
            self._failures.append(
                _Failure(method.lower(), token, error_code, description, parameters or None, times)
            )

    def delay_responses(self, method: str, seconds: float) -> None:
        """Carry out `method` at once but answer it only after `seconds`: a client killed
        meanwhile has had its call done without hearing so (0 ends the delay)."""
        self._response_delays[method.lower()] = seconds

    def block_chat(self, token: str, chat_id: int | str) -> None:
        """The user blocked the bot: sends to ``chat_id`` answer 403."""
        with self._lock:
            self._bot(token).blocked.add(chat_id)

    def unblock_chat(self, token: str, chat_id: int | str) -> None:
        with self._lock:
            self._bot(token).blocked.discard(chat_id)

    def forget_chat(self, token: str, chat_id: int | str) -> None:
        """Sends to ``chat_id`` answer 400 "chat not found"."""
        with self._lock:
            self._bot(token).missing_chats.add(chat_id)

    def sent_count(self, token: str) -> int:
        """How many sendMessage calls were accepted, without copying them (for timed polling)."""
        with self._lock:
            return len(self._bot(token).sent)

    def sent_messages(self, token: str) -> list[dict]:
        """Every accepted sendMessage: chat_id, text, parse_mode, reply_markup, result, ..."""
        with self._lock:
            return copy.deepcopy(self._bot(token).sent)

    def edits(self, token: str) -> list[dict]:
        """Every accepted editMessageText: chat_id, message_id, text, reply_markup."""
        with self._lock:
            return copy.deepcopy(self._bot(token).edits)

    def current_text(self, token: str, chat_id: int | str, message_id: int) -> str | None:
        """A sent message's text as the chat shows it now (after any edits)."""
        with self._lock:
            for sent in self._bot(token).sent:
                if sent["chat_id"] == chat_id and sent["message_id"] == message_id:
                    return sent["text"]
        return None

    def push_reply(self, token: str, chat_id: int, reply_to_message_id: int, text: str, *,
                   first_name: str = "Анна", from_id: int | None = None) -> dict:
        """Queue a private-chat message from ``from_id`` (default: the chat) replying to a message."""
        with self._lock:
            bot = self._bot(token)
            message_id = bot.next_message_id
            bot.next_message_id += 1
            replied = next((copy.deepcopy(s["result"]) for s in bot.sent
                            if s["chat_id"] == chat_id and s["message_id"] == reply_to_message_id),
                           {"message_id": reply_to_message_id, "chat": {"id": chat_id, "type": "private"},
                            "date": int(time.time())})
        sender = {"id": from_id or chat_id, "is_bot": False, "first_name": first_name}
        return self.push_update(token, {"message": {
            "message_id": message_id, "from": sender,
            "chat": {"id": chat_id, "first_name": first_name, "type": "private"},
            "date": int(time.time()), "text": text, "reply_to_message": replied}})

    def push_callback(self, token: str, chat_id: int, message_id: int, data: str, *,
                      from_id: int | None = None) -> dict:
        """Queue a press of an inline button under one of the bot's messages."""
        with self._lock:
            message = next((copy.deepcopy(s["result"]) for s in self._bot(token).sent
                            if s["chat_id"] == chat_id and s["message_id"] == message_id), None)
        query = {"id": str(secrets.randbelow(10**18)), "chat_instance": "1",
                 "from": {"id": from_id or chat_id, "is_bot": False, "first_name": "Анна"}, "data": data}
        if message is not None:
            query["message"] = message
        return self.push_update(token, {"callback_query": query})

    def chat_actions(self, token: str) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._bot(token).chat_actions)

    def answered_callbacks(self, token: str) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._bot(token).answered_callbacks)

    def webhook(self, token: str) -> dict | None:
        """The webhook as set (url, secret_token, allowed_updates, ...) or None."""
        with self._lock:
            return copy.deepcopy(self._bot(token).webhook)

    def set_webhook(self, token: str, url: str, secret_token: str | None = None) -> None:
        """Pretend a webhook is already set (e.g. by another deployment)."""
        with self._lock:
            self._bot(token).webhook = {"url": url, "secret_token": secret_token}

    def pending_updates(self, token: str) -> list[dict]:
        """Updates not yet confirmed by an ``offset``."""
        with self._lock:
            return copy.deepcopy(self._bot(token).updates)

    def commands(self, token: str, language_code: str = "", scope: str = "default") -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._bot(token).commands.get((scope, language_code), []))

    def descriptions(self, token: str) -> dict[str, dict[str, str]]:
        """``{"description": {lang: text}, "short_description": {lang: text}}``."""
        with self._lock:
            bot = self._bot(token)
            return {
                "description": dict(bot.descriptions),
                "short_description": dict(bot.short_descriptions),
            }

    def menu_button(self, token: str, chat_id: int | None = None) -> dict | None:
        with self._lock:
            return copy.deepcopy(self._bot(token).menu_buttons.get(chat_id))

    @property
    def calls(self) -> list[Call]:
        """Every request, in arrival order (including rejected ones)."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str, token: str | None = None) -> list[Call]:
        method = method.lower()
        return [
            c
            for c in self.calls
            if c.method.lower() == method and (token is None or c.token == token)
        ]

    def api_server(self) -> Any:
        """aiogram's ``TelegramAPIServer`` pointing at this fake (while it is served)."""
        from aiogram.client.telegram import TelegramAPIServer

        if self.base_url is None:
            raise RuntimeError("fake is not being served")
        return TelegramAPIServer.from_base(self.base_url)

    # --- HTTP plumbing ---------------------------------------------------------------------

    def _bot(self, token: str) -> _Bot:
        try:
            return self._bots[token]
        except KeyError:
            raise KeyError(f"bot not registered with the fake: {token!r}") from None

    @staticmethod
    def _learn(bot: _Bot, update: dict) -> None:
        payload = update.get(_update_type(update) or "", {})
        if not isinstance(payload, dict):
            return
        if _update_type(update) == "callback_query":
            bot.callback_query_ids.add(str(payload.get("id")))
            payload = payload.get("message") or {}
        chat = payload.get("chat")
        if isinstance(chat, dict) and "id" in chat:
            bot.chats[chat["id"]] = chat

    async def _not_found(self, request: Request) -> JSONResponse:
        return _error(TelegramError(404, "Not Found"))

    async def _endpoint(self, request: Request) -> JSONResponse:
        self._remember_loop()
        token = request.path_params["token"]
        method = request.path_params["method"]
        params: dict[str, Any] = {}
        error: TelegramError | None = None
        try:
            params = await self._read_params(request)
        except TelegramError as exc:
            error = exc
        with self._lock:
            self._calls.append(
                Call(
                    token=token,
                    method=method,
                    params=params,
                    http_method=request.method,
                    content_type=request.headers.get("content-type", ""),
                )
            )
        if not TOKEN_RE.match(token):
            return _error(TelegramError(404, "Not Found"))
        bot = self._bots.get(token)
        if bot is None:
            return _error(TelegramError(401, "Unauthorized"))
        handler = self._handlers.get(method.lower())
        if handler is None:
            return _error(TelegramError(404, "Not Found"))
        if error is not None:
            return _error(error)
        injected = self._take_failure(method.lower(), token)
        if injected is not None:
            return _error(injected)
        try:
            result = handler(bot, params)
            if asyncio.iscoroutine(result):
                result = await result
        except TelegramError as exc:
            return _error(exc)
        delay = self._response_delays.get(method.lower())
        if delay:
            await asyncio.sleep(delay)
        if isinstance(result, tuple):
            result, description = result
            return JSONResponse({"ok": True, "result": result, "description": description})
        return JSONResponse({"ok": True, "result": result})

    async def _read_params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query_params)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.method == "POST":
            if ctype == "application/json":
                body = await request.body()
                if body:
                    try:
                        data = json.loads(body)
                    except ValueError:
                        raise _bad_request("can't parse JSON object") from None
                    if not isinstance(data, dict):
                        raise _bad_request("JSON object expected")
                    params.update(data)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.form()
                for key, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        params[key] = {
                            "filename": value.filename,
                            "content": await value.read(),
                        }
                    else:
                        params[key] = value
        return _coerce(params)

    def _take_failure(self, method: str, token: str) -> TelegramError | None:
        with self._lock:
            for failure in self._failures:
                if failure.method == method and failure.token in (None, token):
                    failure.times -= 1
                    if failure.times <= 0:
                        self._failures.remove(failure)
                    return TelegramError(
                        failure.error_code, failure.description, failure.parameters
                    )
        return None

    # --- methods ---------------------------------------------------------------------------

    def _ok_true(self, bot: _Bot, params: dict) -> bool:
        return True

    def _get_me(self, bot: _Bot, params: dict) -> dict:
        return dict(bot.user)

    def _set_webhook(self, bot: _Bot, params: dict) -> tuple[bool, str]:
        url = params.get("url")
        if url is None:
            raise _bad_request('parameter "url" is required')
        if url == "":
            return self._delete_webhook(bot, params)
        if self.require_https_webhook:
            if not url.startswith("https://"):
                raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
            hostport = url[len("https://") :].split("/", 1)[0]
            port = int(hostport.rsplit(":", 1)[1]) if ":" in hostport else 443
            if port not in WEBHOOK_PORTS:
                raise _bad_request(
                    "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
                )
        secret = params.get("secret_token")
        if secret is not None and not SECRET_TOKEN_RE.match(secret):
            raise _bad_request("secret token contains unallowed characters")
        max_connections = params.get("max_connections", 40)
        if not 1 <= int(max_connections) <= 100:
            raise _bad_request("bad webhook: max_connections must be between 1 and 100")
        with self._lock:
            same = bot.webhook is not None and bot.webhook.get("url") == url
            bot.webhook = {
                "url": url,
                "secret_token": secret,
                "allowed_updates": params.get("allowed_updates"),
                "max_connections": int(max_connections),
                "ip_address": params.get("ip_address"),
                "has_custom_certificate": "certificate" in params,
            }
            if params.get("allowed_updates") is not None:
                bot.allowed_updates = params["allowed_updates"] or None
            if params.get("drop_pending_updates"):
                bot.updates.clear()
            waiters = list(bot.waiters)
        for ev in waiters:  # a long poll in progress ends with a conflict
            self._call_in_loop(ev.set)
        return True, "Webhook is already set" if same else "Webhook was set"

    def _delete_webhook(self, bot: _Bot, params: dict) -> tuple[bool, str]:
        with self._lock:
            had = bot.webhook is not None
            bot.webhook = None
            if params.get("drop_pending_updates"):
                bot.updates.clear()
        return True, "Webhook was deleted" if had else "Webhook is already deleted"

    def _get_webhook_info(self, bot: _Bot, params: dict) -> dict:
        with self._lock:
            info: dict[str, Any] = {
                "url": "",
                "has_custom_certificate": False,
                "pending_update_count": len(bot.updates),
            }
            if bot.webhook:
                info["url"] = bot.webhook["url"]
                info["has_custom_certificate"] = bool(bot.webhook.get("has_custom_certificate"))
                info["max_connections"] = bot.webhook.get("max_connections", 40)
                if bot.webhook.get("allowed_updates"):
                    info["allowed_updates"] = bot.webhook["allowed_updates"]
                if bot.webhook.get("ip_address"):
                    info["ip_address"] = bot.webhook["ip_address"]
        return info

    async def _get_updates(self, bot: _Bot, params: dict) -> list[dict]:
        if bot.webhook is not None:
            raise TelegramError(409, WEBHOOK_ACTIVE)
        offset = params.get("offset")
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        event = asyncio.Event()
        with self._lock:
            if params.get("allowed_updates") is not None:
                bot.allowed_updates = params["allowed_updates"] or None
            if offset:
                if offset > 0:
                    bot.updates = [u for u in bot.updates if u["update_id"] >= offset]
                else:
                    bot.updates = bot.updates[offset:]
            # The newest request wins; a poll still waiting is answered with 409.
            bot.poll_generation += 1
            generation = bot.poll_generation
            others = list(bot.waiters)
            bot.waiters.add(event)
        for ev in others:
            ev.set()
        deadline = time.monotonic() + timeout
        try:
            while True:
                event.clear()
                with self._lock:
                    if generation != bot.poll_generation:
                        raise TelegramError(409, TERMINATED_BY_OTHER)
                    if bot.webhook is not None:
                        raise TelegramError(409, WEBHOOK_ACTIVE)
                    batch = self._deliverable(bot)[:limit]
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0:
                    return copy.deepcopy(batch)
                try:
                    await asyncio.wait_for(event.wait(), timeout=remaining)
                except TimeoutError:
                    pass
        finally:
            with self._lock:
                bot.waiters.discard(event)

    @staticmethod
    def _deliverable(bot: _Bot) -> list[dict]:
        allowed = bot.allowed_updates
        keep = []
        for update in bot.updates:
            kind = _update_type(update)
            wanted = kind in allowed if allowed else kind not in NOT_DELIVERED_BY_DEFAULT
            if wanted:
                keep.append(update)
        # Types the bot did not subscribe to are dropped, never delivered later.
        bot.updates = keep
        return keep

    def _check_chat(self, bot: _Bot, chat_id: Any) -> None:
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        if chat_id in bot.missing_chats:
            raise _bad_request("chat not found")
        if chat_id in bot.blocked:
            raise TelegramError(403, "Forbidden: bot was blocked by the user")

    def _chat_object(self, bot: _Bot, chat_id: Any) -> dict:
        known = bot.chats.get(chat_id)
        if known:
            return dict(known)
        if isinstance(chat_id, str):
            return {
                "id": -1001000000000,
                "title": chat_id,
                "username": chat_id.lstrip("@"),
                "type": "channel",
            }
        if chat_id > 0:
            return {"id": chat_id, "first_name": "Customer", "type": "private"}
        if str(chat_id).startswith("-100"):
            return {"id": chat_id, "title": "Group", "type": "supergroup"}
        return {"id": chat_id, "title": "Group", "type": "group"}

    def _send_message(self, bot: _Bot, params: dict) -> dict:
        chat_id = params.get("chat_id")
        raw_text = params.get("text")
        if raw_text is None or raw_text == "":
            raise _bad_request("message text is empty")
        parse_mode = params.get("parse_mode")
        entities: list[dict] = []
        if parse_mode and str(parse_mode).lower() == "html":
            text, entities = parse_html(raw_text)
        elif parse_mode and str(parse_mode).lower() not in ("markdown", "markdownv2"):
            raise _bad_request(f'unsupported parse_mode "{parse_mode}"')
        else:
            text = raw_text
            entities = list(params.get("entities") or [])
        if not text.strip():
            raise _bad_request("message text is empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise _bad_request("message is too long")
        reply_markup = params.get("reply_markup")
        _check_reply_markup(reply_markup)
        with self._lock:
            self._check_chat(bot, chat_id)
            message_id = bot.next_message_id
            bot.next_message_id += 1
            message: dict[str, Any] = {
                "message_id": message_id,
                "from": {k: bot.user[k] for k in ("id", "is_bot", "first_name", "username")},
                "chat": self._chat_object(bot, chat_id),
                "date": int(time.time()),
                "text": text,
            }
            if entities:
                message["entities"] = entities
            if isinstance(reply_markup, dict) and "inline_keyboard" in reply_markup:
                message["reply_markup"] = reply_markup
            bot.sent.append(
                {
                    "chat_id": chat_id,
                    "text": raw_text,
                    "parse_mode": parse_mode,
                    "reply_markup": reply_markup,
                    "params": dict(params),
                    "message_id": message_id,
                    "result": copy.deepcopy(message),
                }
            )
        return message

    def _edit_message_text(self, bot: _Bot, params: dict) -> dict:
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        raw_text = params.get("text")
        if raw_text is None or raw_text == "":
            raise _bad_request("message text is empty")
        parse_mode = params.get("parse_mode")
        if parse_mode and str(parse_mode).lower() == "html":
            parse_html(raw_text)  # raises on markup Telegram would refuse
        reply_markup = params.get("reply_markup")
        _check_reply_markup(reply_markup)
        with self._lock:
            self._check_chat(bot, chat_id)
            sent = next((s for s in bot.sent if s["chat_id"] == chat_id and s["message_id"] == message_id), None)
            if sent is None:
                raise _bad_request("message to edit not found")
            if sent["text"] == raw_text and sent["reply_markup"] == reply_markup:
                raise _bad_request("message is not modified: specified new message content and reply markup "
                                   "are exactly the same as a current content and reply markup of the message")
            sent["text"], sent["reply_markup"] = raw_text, reply_markup
            sent["result"]["text"] = raw_text
            bot.edits.append({"chat_id": chat_id, "message_id": message_id, "text": raw_text,
                              "reply_markup": reply_markup})
            return copy.deepcopy(sent["result"])

    def _send_chat_action(self, bot: _Bot, params: dict) -> bool:
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        with self._lock:
            self._check_chat(bot, params.get("chat_id"))
            bot.chat_actions.append({"chat_id": params.get("chat_id"), "action": action})
        return True

    def _answer_callback_query(self, bot: _Bot, params: dict) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        with self._lock:
            if query_id not in bot.callback_query_ids:
                raise _bad_request(
                    "query is too old and response timeout expired or query ID is invalid"
                )
            bot.callback_query_ids.discard(query_id)  # a query is answered once
            bot.answered_callbacks.append(dict(params))
        return True

    @staticmethod
    def _scope_key(params: dict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        key = scope.get("type", "default") if isinstance(scope, dict) else str(scope)
        if isinstance(scope, dict) and "chat_id" in scope:
            key += f":{scope['chat_id']}"
        return key, str(params.get("language_code") or "")

    def _set_my_commands(self, bot: _Bot, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request('parameter "commands" is required')
        for item in commands:
            if not isinstance(item, dict) or not COMMAND_RE.match(str(item.get("command", ""))):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(item.get("description", ""))) <= 256:
                raise _bad_request("command description must be non-empty")
        with self._lock:
            bot.commands[self._scope_key(params)] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        return True

    def _get_my_commands(self, bot: _Bot, params: dict) -> list[dict]:
        with self._lock:
            return copy.deepcopy(bot.commands.get(self._scope_key(params), []))

    def _delete_my_commands(self, bot: _Bot, params: dict) -> bool:
        with self._lock:
            bot.commands.pop(self._scope_key(params), None)
        return True

    def _set_my_description(self, bot: _Bot, params: dict) -> bool:
        text = str(params.get("description") or "")
        if len(text) > 512:
            raise _bad_request("description is too long")
        with self._lock:
            bot.descriptions[str(params.get("language_code") or "")] = text
        return True

    def _get_my_description(self, bot: _Bot, params: dict) -> dict:
        lang = str(params.get("language_code") or "")
        with self._lock:
            return {"description": bot.descriptions.get(lang, bot.descriptions.get("", ""))}

    def _set_my_short_description(self, bot: _Bot, params: dict) -> bool:
        text = str(params.get("short_description") or "")
        if len(text) > 120:
            raise _bad_request("short description is too long")
        with self._lock:
            bot.short_descriptions[str(params.get("language_code") or "")] = text
        return True

    def _get_my_short_description(self, bot: _Bot, params: dict) -> dict:
        lang = str(params.get("language_code") or "")
        with self._lock:
            short = bot.short_descriptions
            return {"short_description": short.get(lang, short.get("", ""))}

    def _set_chat_menu_button(self, bot: _Bot, params: dict) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise _bad_request("can't parse menu button")
        if button["type"] == "web_app":
            url = str((button.get("web_app") or {}).get("url", ""))
            if not url.startswith("https://"):
                raise _bad_request("BUTTON_URL_INVALID")
            if not button.get("text"):
                raise _bad_request("menu button text must be non-empty")
        with self._lock:
            bot.menu_buttons[params.get("chat_id")] = button
        return True

    def _get_chat_menu_button(self, bot: _Bot, params: dict) -> dict:
        with self._lock:
            chat_id = params.get("chat_id")
            button = bot.menu_buttons.get(chat_id) or bot.menu_buttons.get(None)
            return copy.deepcopy(button) if button else {"type": "commands"}


def _check_reply_markup(markup: Any) -> None:
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []) or []:
        for button in row:
            if not button.get("text"):
                raise _bad_request("can't parse inline keyboard button: Text must be non-empty")
            web_app = button.get("web_app")
            if web_app is not None and not str((web_app or {}).get("url", "")).startswith("https://"):
                raise _bad_request("inline keyboard button Web App URL is invalid: Only HTTPS links are allowed")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise _bad_request("BUTTON_DATA_INVALID")


def _error(exc: TelegramError) -> JSONResponse:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": exc.error_code,
        "description": exc.description,
    }
    if exc.parameters:
        body["parameters"] = exc.parameters
    return JSONResponse(body, status_code=exc.error_code)
