"""Turn a WhatsApp Cloud API webhook payload into InboundEvents.

One POST can carry several entries, changes, messages and statuses, so the result is a
list (possibly empty). The payload comes from the network and Meta adds fields over time
(the business-scoped user ids "user_id" / "parent_user_id", for one): this parser reads
what it knows, tolerates everything else, and never raises.

Reference: https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from botcraft.channels.events import EventKind, InboundEvent
from botcraft.channels.payload import as_dict as _dict
from botcraft.channels.payload import as_list as _list
from botcraft.channels.payload import as_str as _str

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"

# Message types that are a file: a caption makes them a question, without one they get
# the polite "please write in words" reply.
_MEDIA_TYPES = {"image", "video", "document", "audio", "sticker"}
_CAPTIONED_TYPES = {"image", "video", "document"}
# A shared location or contact card is something the customer sent on purpose, so it
# gets the same polite reply as a file rather than silence.
_OTHER_MEDIA_TYPES = {"location": "location", "contacts": "contact"}


def parse_whatsapp(payload: dict[str, Any]) -> list[InboundEvent]:
    """Every message and status in the payload; [] when it is not a WhatsApp payload."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return []
    events: list[InboundEvent] = []
    for entry in _list(payload.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            change = _dict(change)
            field = change.get("field")
            if field not in (None, "messages"):
                continue  # template status, account updates...: not about a conversation
            try:
                events.extend(_parse_value(_dict(change.get("value"))))
            except Exception:  # an odd shape must not lose the other events or crash
                logger.exception("unparseable WhatsApp change")
    return events


def _parse_value(value: dict[str, Any]) -> list[InboundEvent]:
    route_key = _str(_dict(value.get("metadata")).get("phone_number_id"))
    names: dict[str, str] = {}
    contacts = [_dict(c) for c in _list(value.get("contacts"))]
    for contact in contacts:
        name = _str(_dict(contact.get("profile")).get("name"))
        wa_id = _str(contact.get("wa_id"))
        if name and wa_id:
            names[wa_id] = name
    only_name = _str(_dict(contacts[0].get("profile")).get("name")) if len(contacts) == 1 else None

    events: list[InboundEvent] = []
    for message in _list(value.get("messages")):
        message = _dict(message)
        sender = _str(message.get("from"))
        name = names.get(sender or "") or only_name
        event = _parse_message(message, route_key, sender, name)
        if event is not None:
            events.append(event)
    for status in _list(value.get("statuses")):
        event = _parse_status(_dict(status), route_key)
        if event is not None:
            events.append(event)
    return events


def _parse_message(
    message: dict[str, Any], route_key: str | None, sender: str | None, name: str | None
) -> InboundEvent | None:
    message_id = _str(message.get("id"))
    if message_id is None:
        return None  # nothing to deduplicate by, and nothing to reply to
    kind_name = _str(message.get("type")) or "unknown"
    extra: dict[str, str] = {"type": kind_name}
    context_id = _str(_dict(message.get("context")).get("id"))
    if context_id:
        extra["context_id"] = context_id  # the message this one replies to
    fields: dict[str, Any] = {
        "channel": CHANNEL,
        "event_id": message_id,
        "route_key": route_key,
        "chat_id": sender,
        "customer_name": name,
        "message_id": message_id,
        "timestamp": _timestamp(message.get("timestamp")),
    }

    def event(kind: EventKind, **more: Any) -> InboundEvent:
        return InboundEvent(kind=kind, **fields, **more, extra=extra)

    body: dict[str, Any] = _dict(message.get(kind_name))
    if kind_name == "text":
        text = _str(body.get("body"))
        if text and text.strip():
            return event(EventKind.MESSAGE, text=text)
        return event(EventKind.IGNORED)
    if kind_name == "interactive":
        # A tap on one of our reply buttons or list rows: its title is what the customer
        # "said"; the id is ours, kept for flows that need it.
        reply_type = _str(body.get("type")) or ""
        reply = _dict(body.get(reply_type))
        title = _str(reply.get("title"))
        if reply_type in ("button_reply", "list_reply") and title:
            extra["reply_id"] = _str(reply.get("id")) or ""
            description = _str(reply.get("description"))
            if description:
                extra["reply_description"] = description
            return event(EventKind.MESSAGE, text=title)
        return event(EventKind.IGNORED)  # flow replies (nfm_reply) and newer kinds
    if kind_name == "button":  # a quick-reply button of a template message
        text = _str(body.get("text"))
        if text:
            payload = _str(body.get("payload"))
            if payload:
                extra["button_payload"] = payload
            return event(EventKind.MESSAGE, text=text)
        return event(EventKind.IGNORED)
    if kind_name in _MEDIA_TYPES:
        media_kind = "voice" if kind_name == "audio" and body.get("voice") is True else kind_name
        for key in ("id", "mime_type", "filename"):
            if _str(body.get(key)):
                extra[f"media_{key}"] = _str(body.get(key)) or ""
        caption = _str(body.get("caption"))
        if kind_name in _CAPTIONED_TYPES and caption and caption.strip():
            return event(EventKind.MESSAGE, text=caption, media_kind=media_kind)
        return event(EventKind.MEDIA, media_kind=media_kind)
    if kind_name in _OTHER_MEDIA_TYPES:
        return event(EventKind.MEDIA, media_kind=_OTHER_MEDIA_TYPES[kind_name])
    # reaction: not a question. unsupported / unknown: Meta could not deliver what the
    # customer sent (its errors[] says why). system, order, request_welcome, newer types.
    error = _dict(_list(message.get("errors"))[0]) if _list(message.get("errors")) else {}
    if error.get("code") is not None:
        extra["error_code"] = str(error.get("code"))
    return event(EventKind.IGNORED)


def _parse_status(status: dict[str, Any], route_key: str | None) -> InboundEvent | None:
    outbound_id = _str(status.get("id"))
    state = _str(status.get("status"))
    if outbound_id is None or state is None:
        return None
    extra: dict[str, str] = {}
    error_text: str | None = None
    errors = _list(status.get("errors"))
    if errors:
        error = _dict(errors[0])
        error_text = _error_words(error)
        if error.get("code") is not None:
            extra["error_code"] = str(error.get("code"))
    return InboundEvent(
        channel=CHANNEL,
        kind=EventKind.STATUS,
        # sent, delivered and read are three separate events about one message.
        event_id=f"{outbound_id}:{state}",
        route_key=route_key,
        chat_id=_str(status.get("recipient_id")),
        status=state,
        status_of=outbound_id,
        error=error_text,
        timestamp=_timestamp(status.get("timestamp")),
        extra=extra,
    )


def _error_words(error: dict[str, Any]) -> str | None:
    """'Re-engagement message: Message failed to send because more than 24 hours...'"""
    headline = _str(error.get("title")) or _str(error.get("message"))
    details = _str(_dict(error.get("error_data")).get("details"))
    parts = [p for p in (headline, details) if p]
    if not parts and error.get("code") is not None:
        parts.append(f"WhatsApp error {error.get('code')}")
    return ": ".join(parts) or None


# ---------------------------------------------------------------------------- helpers





def _timestamp(value: Any) -> datetime | None:
    """Cloud API timestamps are epoch seconds, sent as a string."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
        return datetime.fromtimestamp(seconds, tz=UTC) if seconds > 0 else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None
