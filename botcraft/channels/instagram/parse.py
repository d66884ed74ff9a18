"""Turn an Instagram (or Messenger, object "page") messaging webhook into InboundEvents.

Meta delivers the same event in two shapes: entry[].messaging[] (the usual one) and
entry[].changes[{field: "messages", value: {...}}] (seen from the App Dashboard's "Test"
button and some subscriptions); both carry sender, recipient, timestamp and one of
message / read / reaction / postback. entry[].standby[] carries messages of threads that
another app controls (handover protocol): we must stay silent there.

Which events get an answer (MESSAGE or MEDIA) and which not (IGNORED):
- text (with or without attachments) → MESSAGE; postback (a tapped button) → MESSAGE with
  the button title;
- attachments without text (image, video, audio, file, a shared post or reel) and
  is_unsupported messages → MEDIA: the customer sent something on purpose and should hear
  "please write your question in words" rather than silence;
- story mentions → IGNORED: being tagged in a story is not a question;
- echoes of our own sends (is_echo), reads, reactions, unsends (is_deleted), edits,
  referrals, standby, and Meta's dashboard test events → IGNORED. The dashboard test
  (sender 12334, recipient 23245, mid "random_mid") is stored but never answered: the
  sender does not exist, so a reply could only fail.

event_id is the message mid, except where the mid names another message (a read,
reaction or unsend names the message it is about, an echo names our own outbound
message): those get a prefixed id so that they never collide with the message itself.
Events with no mid get a stable hash of their content.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from botcraft.channels.events import EventKind, InboundEvent
from botcraft.channels.payload import as_dict as _dict
from botcraft.channels.payload import as_list as _list
from botcraft.channels.payload import as_str as _str

logger = logging.getLogger(__name__)

# "page" is the Messenger Platform's object; its messaging events have the same shape.
_OBJECTS = {"instagram", "page"}
CHANNEL = "instagram"
DASHBOARD_TEST_SENDER = "12334"
DASHBOARD_TEST_RECIPIENT = "23245"

_ATTACHMENT_KINDS = {
    "image": "image",
    "video": "video",
    "audio": "audio",
    "file": "document",
    "share": "share",
    "ig_reel": "reel",
    "reel": "reel",
    "animated_image_share": "image",
    "unsupported_type": "unsupported",
}


def parse_instagram(payload: dict[str, Any]) -> list[InboundEvent]:
    """Every messaging event in the payload; [] when it is not an Instagram/Page payload."""
    if not isinstance(payload, dict) or payload.get("object") not in _OBJECTS:
        return []
    events: list[InboundEvent] = []
    for entry in _list(payload.get("entry")):
        entry = _dict(entry)
        route_key = _str(entry.get("id"))
        # (event, why it gets no answer whatever it contains, or None)
        items: list[tuple[dict[str, Any], str | None]] = [
            (_dict(item), None) for item in _list(entry.get("messaging"))
        ]
        for change in _list(entry.get("changes")):
            change = _dict(change)
            if change.get("field") == "messages":
                items.append((_dict(change.get("value")), None))
            else:  # comments, mentions...: not a conversation
                items.append((change, f"field:{change.get('field')}"))
        items.extend((_dict(item), "standby") for item in _list(entry.get("standby")))
        for item, passive_reason in items:
            try:
                events.append(_parse_event(item, route_key, passive_reason))
            except Exception:  # one odd event must not lose the others or crash the hook
                logger.exception("unparseable Instagram event")
    return events


def _parse_event(
    item: dict[str, Any], route_key: str | None, passive_reason: str | None
) -> InboundEvent:
    sender = _str(_dict(item.get("sender")).get("id"))
    recipient = _str(_dict(item.get("recipient")).get("id"))
    message = _dict(item.get("message"))
    mid = _str(message.get("mid"))
    fields: dict[str, Any] = {
        "channel": CHANNEL,
        "route_key": route_key,
        "chat_id": sender,
        "message_id": mid,
        "timestamp": _timestamp(item.get("timestamp")),
    }

    def ignored(reason: str, event_id: str | None = None) -> InboundEvent:
        fields["event_id"] = event_id or _hash_id(item)
        return InboundEvent(kind=EventKind.IGNORED, **fields, extra={"reason": reason})

    if passive_reason == "standby":
        # Another app owns this thread (handover protocol); its mid is prefixed in case
        # the thread comes back to us and the message is delivered again as our own.
        return ignored("standby", f"standby:{mid}" if mid else None)
    if passive_reason is not None:
        return ignored(passive_reason)
    if sender == DASHBOARD_TEST_SENDER and recipient == DASHBOARD_TEST_RECIPIENT:
        return ignored("meta_dashboard_test")

    if message:
        if message.get("is_echo"):
            # Our own outbound message: the customer is the other side (normally the
            # recipient), and the mid belongs to our outbound row.
            fields["chat_id"] = recipient if recipient != route_key else sender
            return ignored("echo", f"echo:{mid}" if mid else None)
        if message.get("is_deleted"):
            return ignored("deleted", f"deleted:{mid}" if mid else None)
        return _parse_message(message, mid, fields, item)

    postback = _dict(item.get("postback"))
    if postback:
        title = _str(postback.get("title"))
        fields["message_id"] = _str(postback.get("mid"))
        if not title:
            return ignored("postback_without_title")
        return InboundEvent(
            kind=EventKind.MESSAGE,
            event_id=fields["message_id"] or _hash_id(item),
            text=title,
            **fields,
            extra={"postback_payload": _str(postback.get("payload")) or ""},
        )

    fields["message_id"] = None  # a read or reaction names another message
    for key in ("read", "reaction", "message_edit", "referral", "optin"):
        if key in item:
            return ignored(key)
    return ignored("unknown")


def _parse_message(
    message: dict[str, Any], mid: str | None, fields: dict[str, Any], item: dict[str, Any]
) -> InboundEvent:
    fields["event_id"] = mid or _hash_id(item)
    extra: dict[str, str] = {}
    quick_reply = _str(_dict(message.get("quick_reply")).get("payload"))
    if quick_reply:
        extra["quick_reply_payload"] = quick_reply
    reply_to = _str(_dict(message.get("reply_to")).get("mid"))
    if reply_to:
        extra["reply_to"] = reply_to

    attachments = [_dict(a) for a in _list(message.get("attachments"))]
    types = [_str(a.get("type")) or "unknown" for a in attachments]
    if types:
        extra["attachment_types"] = ",".join(types)
    media_kind = _ATTACHMENT_KINDS.get(types[0], types[0]) if types else None

    text = _str(message.get("text"))
    if text and text.strip():
        return InboundEvent(
            kind=EventKind.MESSAGE, text=text, media_kind=media_kind, **fields, extra=extra
        )
    if "story_mention" in types:
        return InboundEvent(
            kind=EventKind.IGNORED,
            media_kind="story_mention",
            **fields,
            extra={**extra, "reason": "story_mention"},
        )
    if message.get("is_unsupported"):
        return InboundEvent(kind=EventKind.MEDIA, media_kind="unsupported", **fields, extra=extra)
    if media_kind is not None:
        return InboundEvent(kind=EventKind.MEDIA, media_kind=media_kind, **fields, extra=extra)
    return InboundEvent(kind=EventKind.IGNORED, **fields, extra={**extra, "reason": "empty"})


# ---------------------------------------------------------------------------- helpers


def _hash_id(item: dict[str, Any]) -> str:
    """A stable id for an event without a mid, so that a redelivery deduplicates."""
    canonical = json.dumps(item, sort_keys=True, ensure_ascii=True, default=str)
    return "h:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]





def _timestamp(value: Any) -> datetime | None:
    """Meta sends epoch milliseconds; tolerate seconds and ISO-8601 strings as well."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
            parsed = datetime.fromisoformat(value.strip())
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        number = float(value)
        if number <= 0:
            return None
        # 1e11 seconds is the year 5138; anything larger is milliseconds.
        return datetime.fromtimestamp(number / 1000 if number > 1e11 else number, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
