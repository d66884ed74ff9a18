"""Opening, updating and resolving notifications, in the caller's transaction (no I/O here).

The statements are written once, for a unit of `Database.run` (the channels' one-write
turn calls them there); the ORM callers run the same statements in their session.

One open notification per conversation and owner (a unique index guards it): the first
need opens one and enqueues its delivery; anything later only marks it for one update
job, so twenty customer messages make one notice and at most a few edits, never twenty.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.db import dialect_insert, wake_after_commit
from botcraft.jobs.kinds import NOTIFY_OWNER
from botcraft.jobs.queue import enqueue_in
from botcraft.models import Agent, Conversation, Notification, NotificationSetting, utcnow

# Room for Telegram's 429s and an SMTP server's bad minute before a notice is given up.
MAX_ATTEMPTS = 8
# Further messages within this time update a notice once: a burst of twenty is one edit or two.
UPDATE_DELAY_SECONDS = 2.0


def _owner_to_tell(connection: Connection, conversation_id: int) -> tuple[int, int] | None:
    """(agent id, user id) of the conversation's owner who wants notices, or None."""
    row = connection.execute(
        select(Conversation.channel, Conversation.agent_id, Agent.user_id)
        .join(Agent, Agent.id == Conversation.agent_id).where(Conversation.id == conversation_id)
    ).first()
    if row is None or row.channel == "playground":
        return None  # the owner's own test chat: they are looking at it already
    off = connection.execute(select(NotificationSetting.id).where(
        NotificationSetting.agent_id == row.agent_id, NotificationSetting.user_id == row.user_id,
        NotificationSetting.enabled.is_(False))).first()
    return None if off is not None else (row.agent_id, row.user_id)


def _queue_update_in(connection: Connection, notice_id: int, delay_seconds: float) -> bool:
    # One conditional UPDATE: an update job that has just cleared the flag has either
    # committed (then this sets it again and queues the next job) or holds the row (then this
    # waits for it). Never a change that no job will show.
    queued = connection.execute(
        update(Notification).where(Notification.id == notice_id, Notification.update_queued.is_(False))
        .values(update_queued=True).returning(Notification.id)
    ).scalar()
    if queued is None:
        return False
    enqueue_in(connection, NOTIFY_OWNER, {"notification_id": notice_id}, delay_seconds=delay_seconds,
               max_attempts=MAX_ATTEMPTS)
    return True


def open_or_update_in(connection: Connection, conversation_id: int, kind: str, message_id: int | None) -> bool:
    """The conversation needs its owner: tell them once, or bring the open notice up to date.

    Part of the caller's unit (statements only); True when a job was queued, so the caller
    wakes the workers after its commit.
    """
    owner = _owner_to_tell(connection, conversation_id)
    if owner is None:
        return False
    agent_id, user_id = owner
    notice = connection.execute(select(Notification.id, Notification.message_id).where(
        Notification.open_conversation_id == conversation_id, Notification.user_id == user_id)).first()
    if notice is None:
        notice_id = connection.execute(
            dialect_insert(connection)(Notification).values(
                conversation_id=conversation_id, user_id=user_id, agent_id=agent_id,
                open_conversation_id=conversation_id, kind=kind, message_id=message_id, state="pending",
                update_queued=False, created_at=utcnow(),
            ).on_conflict_do_nothing(index_elements=["open_conversation_id", "user_id"]).returning(Notification.id)
        ).scalar()
        if notice_id is None:
            return False  # opened by a concurrent turn of the same conversation
        enqueue_in(connection, NOTIFY_OWNER, {"notification_id": notice_id, "first": True}, max_attempts=MAX_ATTEMPTS)
        return True
    if notice.message_id is None and message_id is not None:
        connection.execute(update(Notification).where(Notification.id == notice.id).values(message_id=message_id))
    return _queue_update_in(connection, notice.id, UPDATE_DELAY_SECONDS)


def customer_wrote_in(connection: Connection, conversation_id: int) -> bool:
    """A further message in a conversation with an open notice: the notice shows it (once per burst)."""
    ids = connection.execute(select(Notification.id).where(
        Notification.open_conversation_id == conversation_id)).scalars().all()
    return any([_queue_update_in(connection, notice_id, UPDATE_DELAY_SECONDS) for notice_id in ids])


async def _in_session(session: AsyncSession, unit: Callable[[Connection], bool]) -> None:
    """Run a unit of statements in the ORM session's transaction; wake the workers after commit."""
    await session.flush()
    if await session.run_sync(lambda sync: unit(sync.connection())):
        wake_after_commit(session)


async def open_or_update(session: AsyncSession, conversation: Conversation, kind: str, message_id: int | None) -> None:
    await _in_session(session, partial(_open, conversation_id=conversation.id, kind=kind, message_id=message_id))


def _open(connection: Connection, *, conversation_id: int, kind: str, message_id: int | None) -> bool:
    return open_or_update_in(connection, conversation_id, kind, message_id)


async def customer_wrote(session: AsyncSession, conversation: Conversation) -> None:
    await _in_session(session, partial(customer_wrote_in, conversation_id=conversation.id))


async def _open_notices(session: AsyncSession, conversation_id: int) -> list[Notification]:
    return list(await session.scalars(select(Notification).where(Notification.open_conversation_id == conversation_id)))


async def _queue_update(session: AsyncSession, notice: Notification, delay_seconds: float) -> None:
    await _in_session(session, partial(_queue_update_in, notice_id=notice.id, delay_seconds=delay_seconds))


async def resolve(session: AsyncSession, conversation: Conversation) -> None:
    """The owner has dealt with it: the notice closes (and says so); the next need opens a new one."""
    for notice in await _open_notices(session, conversation.id):
        notice.open_conversation_id = None
        notice.resolved_at = utcnow()
        if notice.platform_message_id is not None:
            await _queue_update(session, notice, 0)


async def refresh(session: AsyncSession, conversation: Conversation) -> None:
    """The conversation changed in a way the notice shows (taken over, handed back)."""
    for notice in await _open_notices(session, conversation.id):
        await _queue_update(session, notice, 0)
