"""Turn one raw Telegram Bot API Update (a dict, from a webhook or getUpdates) into an event.

Exactly one field besides update_id is set in a real Update, but the dict comes from the
network: this parser never trusts a type and never raises for a strange shape, because an
exception in a webhook becomes a 500 and Telegram redelivers the same update over and over.
The one exception is an Update without a usable update_id, which cannot be deduplicated
and is not an Update at all.

Reference: https://core.telegram.org/bots/api#update
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from botcraft.channels.events import EventKind, InboundEvent

logger = logging.getLogger(__name__)

CHANNEL = "telegram"

# Message fields that carry something other than text, in the order they are checked
# (a venue also carries a location; a captioned animation also carries a document).
_MEDIA_FIELDS: tuple[tuple[str, str], ...] = (
    ("photo", "image"),
    ("animation", "animation"),
    ("voice", "voice"),
    ("audio", "audio"),
    ("video_note", "video_note"),
    ("video", "video"),
    ("sticker", "sticker"),
    ("document", "document"),
    ("venue", "location"),
    ("location", "location"),
    ("contact", "contact"),
)


class MissingUpdateIdError(ValueError):
    """The dict has no integer update_id: not a Telegram Update."""


def parse_update(update: dict[str, Any]) -> InboundEvent:
    """The InboundEvent for one Update; IGNORED for anything that gets no answer."""
    if not isinstance(update, dict):
        raise MissingUpdateIdError("a Telegram update must be a JSON object")
    update_id = update.get("update_id")
    if isinstance(update_id, str) and update_id.strip().isdigit():
        update_id = int(update_id)
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise MissingUpdateIdError("the Telegram update has no update_id")
    event_id = f"update:{update_id}"
    try:
        return _parse(update, event_id)
    except Exception:  # a shape we did not foresee must not turn into endless redelivery
        logger.exception("unparseable Telegram update %s", event_id)
        return _ignored(event_id, "malformed")


def _parse(update: dict[str, Any], event_id: str) -> InboundEvent:
    if "message" in update:
        return _parse_message(_dict(update["message"]), event_id)
    if "callback_query" in update:
        return _parse_callback(_dict(update["callback_query"]), event_id)
    if "my_chat_member" in update:
        return _parse_my_chat_member(_dict(update["my_chat_member"]), event_id)
    # An edit is not a new question: answering it would answer the customer twice.
    for key in ("edited_message", "edited_channel_post", "edited_business_message"):
        if key in update:
            edited = _dict(update[key])
            fields, extra = _who(event_id, _dict(edited.get("chat")), _dict(edited.get("from")))
            fields["message_id"] = _id(edited.get("message_id"))
            extra.update(reason="edited", update_type=key)
            return InboundEvent(kind=EventKind.IGNORED, **fields, extra=extra)
    # channel_post, inline_query, poll, chat_join_request, business_message (a bot
    # connected to a Telegram Business account: not supported yet), and anything newer.
    for key in update:
        if key != "update_id":
            return _ignored(event_id, "unsupported_update", str(key))
    return _ignored(event_id, "empty")


def _parse_message(message: dict[str, Any], event_id: str) -> InboundEvent:
    chat = _dict(message.get("chat"))
    fields, extra = _who(event_id, chat, _dict(message.get("from")))
    fields["message_id"] = _id(message.get("message_id"))
    fields["timestamp"] = _timestamp(message.get("date"))
    if chat.get("type") != "private":
        # Bots in groups, supergroups and channels are out of scope: the assistant talks
        # to one customer at a time, and in a group it would answer every member's chatter.
        return InboundEvent(kind=EventKind.IGNORED, **fields, extra=_why(extra, "not_private"))

    text = message.get("text")
    if isinstance(text, str) and text.strip():
        # Commands (/start, /start <payload>) keep their text: the dialogue decides.
        return InboundEvent(kind=EventKind.MESSAGE, text=text, **fields, extra=extra)

    caption = message.get("caption")
    for key, media_kind in _MEDIA_FIELDS:
        if message.get(key) is None:
            continue
        if isinstance(caption, str) and caption.strip():
            # A photo of a product with "how much?" is a question: answer the caption.
            return InboundEvent(
                kind=EventKind.MESSAGE, text=caption, media_kind=media_kind, **fields, extra=extra
            )
        return InboundEvent(kind=EventKind.MEDIA, media_kind=media_kind, **fields, extra=extra)
    # Service messages (pinned, payments, new members...), dice, polls, stories, games.
    return InboundEvent(kind=EventKind.IGNORED, **fields, extra=_why(extra, "unsupported_message"))


def _parse_callback(query: dict[str, Any], event_id: str) -> InboundEvent:
    sender = _dict(query.get("from"))
    message = _dict(query.get("message"))
    chat = _dict(message.get("chat"))
    fields, extra = _who(event_id, chat, sender)
    if not chat:
        # The button's message can be missing (inline-mode messages); in a private chat
        # the chat id is the user's id.
        fields["chat_id"] = _id(sender.get("id"))
    elif chat.get("type") != "private":
        return InboundEvent(kind=EventKind.IGNORED, **fields, extra=_why(extra, "not_private"))
    button_message_id = _id(message.get("message_id"))
    if button_message_id is not None:
        extra["callback_message_id"] = button_message_id
    data = query.get("data")
    # CALLBACK even without data (game buttons): the query must still be answered with
    # answerCallbackQuery, or the customer's button keeps spinning.
    return InboundEvent(
        kind=EventKind.CALLBACK,
        callback_id=_id(query.get("id")),
        text=data if isinstance(data, str) else None,
        **fields,
        extra=extra,
    )


def _parse_my_chat_member(update: dict[str, Any], event_id: str) -> InboundEvent:
    chat = _dict(update.get("chat"))
    # The private chat is the customer; "from" may be the bot itself.
    fields, extra = _who(event_id, chat, chat)
    fields["timestamp"] = _timestamp(update.get("date"))
    if chat.get("type") != "private":
        return InboundEvent(kind=EventKind.IGNORED, **fields, extra=_why(extra, "not_private"))
    old = _dict(update.get("old_chat_member")).get("status")
    new = _dict(update.get("new_chat_member")).get("status")
    # In a private chat this update comes only when the user blocks or unblocks the bot.
    if new == "kicked":
        return InboundEvent(kind=EventKind.BLOCKED, **fields, extra=extra)
    if new == "member" and old == "kicked":
        return InboundEvent(kind=EventKind.UNBLOCKED, **fields, extra=extra)
    return InboundEvent(kind=EventKind.IGNORED, **fields, extra=_why(extra, "member_status"))


# ---------------------------------------------------------------------------- helpers


def _who(
    event_id: str, chat: dict[str, Any], sender: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The InboundEvent fields common to every event in a chat, and its `extra`."""
    person = sender or chat
    names = [person.get("first_name"), person.get("last_name")]
    name = " ".join(n.strip() for n in names if isinstance(n, str) and n.strip())
    fields: dict[str, Any] = {
        "channel": CHANNEL,
        "event_id": event_id,
        "chat_id": _id(chat.get("id")),
        "customer_name": name or None,
    }
    extra: dict[str, str] = {}
    # language_code lets the dialogue answer a first "/start" in the customer's language.
    for key in ("username", "language_code"):
        value = person.get(key)
        if isinstance(value, str) and value:
            extra[key] = value
    chat_type = chat.get("type")
    if isinstance(chat_type, str) and chat_type:
        extra["chat_type"] = chat_type
    return fields, extra


def _why(extra: dict[str, str], reason: str) -> dict[str, str]:
    return {**extra, "reason": reason}


def _ignored(event_id: str, reason: str, update_type: str | None = None) -> InboundEvent:
    extra = {"reason": reason}
    if update_type:
        extra["update_type"] = update_type
    return InboundEvent(channel=CHANNEL, kind=EventKind.IGNORED, event_id=event_id, extra=extra)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _id(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str) and str(value):
        return str(value)
    return None


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
