"""The common shape every channel parses its inbound payloads into.

A webhook or poller turns one platform payload into zero or more InboundEvents;
everything downstream (dedupe, storage, the dialogue job) only sees this shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class EventKind(StrEnum):
    MESSAGE = "message"  # a customer's text (or caption, button reply) to answer
    MEDIA = "media"  # voice, sticker, file, image without caption: gets the polite reply
    CALLBACK = "callback"  # Telegram callback query: acknowledge, then answer its data as text
    STATUS = "status"  # delivery status of one of our outbound messages; never answered
    BLOCKED = "blocked"  # the customer blocked the bot; mark the conversation
    UNBLOCKED = "unblocked"
    IGNORED = "ignored"  # echoes, reads, reactions, deletes, edits, unknown types: stored, no reply


@dataclass(frozen=True, slots=True)
class InboundEvent:
    channel: str  # "telegram" | "whatsapp" | "instagram"
    kind: EventKind
    # Deduplication key, unique per channel and agent (Telegram "update:<update_id>",
    # WhatsApp wamid, Instagram mid, statuses "<wamid>:<status>").
    event_id: str
    # Which agent it belongs to, where the payload says so: WhatsApp phone_number_id,
    # Instagram entry id. Telegram routes by its webhook secret instead, so None there.
    route_key: str | None = None
    chat_id: str | None = None  # the customer's chat / wa_id / IGSID
    customer_name: str | None = None
    text: str | None = None
    message_id: str | None = None  # the platform's id of the inbound message
    media_kind: str | None = None  # "voice", "sticker", "document", "image", "audio", "video"
    callback_id: str | None = None
    status: str | None = None  # for STATUS: "sent" | "delivered" | "read" | "failed"
    status_of: str | None = None  # for STATUS: the platform id of our outbound message
    error: str | None = None  # for STATUS failed: the platform's words
    timestamp: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)
