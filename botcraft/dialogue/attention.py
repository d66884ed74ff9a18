"""The one way a conversation is flagged for its owner, and the one way the flag is cleared.

Every place that finds a conversation needing a person (no answer, a request for a person,
the model failing, a block, a closed 24-hour window, a message or a send that failed for
good) calls `flag_for_owner`, so the owner is always told, exactly once per conversation
until it is resolved. Runs in the caller's transaction; the notice goes out as a job.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.models import Conversation, Message
from botcraft.notifications import schedule

# Why (Notification.kind); the owner reads each in words (botcraft.notifications.texts).
NO_ANSWER = "no_answer"
ASKED_FOR_PERSON = "asked_for_person"
LLM_FAILED = "llm_failed"
BLOCKED = "blocked"
WINDOW_CLOSED = "window_closed"
PROCESSING_FAILED = "processing_failed"
DELIVERY_FAILED = "delivery_failed"
SEND_INTERRUPTED = "send_interrupted"
WAITING = "waiting"


async def flag_for_owner(session: AsyncSession, conversation: Conversation, kind: str, reason: str,
                         *, message: Message | None = None, handed_over: bool = True) -> None:
    """Flag the conversation and tell its owners (idempotent: one open notice per conversation).

    `message` is the customer's message that needs the owner, when there is one; with
    `handed_over` it counts among the agent's unanswered questions.
    """
    conversation.needs_attention, conversation.attention_reason = True, reason
    if message is not None and message.direction == "in" and handed_over:
        message.handed_over = True
    await schedule.open_or_update(session, conversation, kind, message.id if message is not None else None)


def flag_in(connection: Connection, conversation_id: int, kind: str, reason: str, *, message_id: int | None = None,
            handed_over: bool = True) -> bool:
    """flag_for_owner() inside a unit of `Database.run` (the channels' one-write turn).

    True when a notice job was queued: the caller wakes the workers after the commit.
    """
    connection.execute(update(Conversation).where(Conversation.id == conversation_id)
                       .values(needs_attention=True, attention_reason=reason))
    if message_id is not None and handed_over:
        connection.execute(update(Message).where(Message.id == message_id, Message.direction == "in")
                           .values(handed_over=True))
    return schedule.open_or_update_in(connection, conversation_id, kind, message_id)


def customer_wrote_in(connection: Connection, conversation_id: int) -> bool:
    """customer_wrote() inside a unit: an open notice shows the further message."""
    return schedule.customer_wrote_in(connection, conversation_id)


async def clear_attention(session: AsyncSession, conversation: Conversation) -> None:
    """The owner has dealt with the conversation: the flag goes and the notice says so."""
    conversation.needs_attention, conversation.attention_reason = False, None
    await schedule.resolve(session, conversation)


async def customer_wrote(session: AsyncSession, conversation: Conversation) -> None:
    """A further customer message: an open notice shows it (once per burst, never a new notice)."""
    if conversation.needs_attention:
        await schedule.customer_wrote(session, conversation)


async def mode_changed(session: AsyncSession, conversation: Conversation) -> None:
    await schedule.refresh(session, conversation)
