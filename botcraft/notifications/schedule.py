"""Opening, updating and resolving notifications, in the caller's transaction (no I/O here).

One open notification per conversation and owner (a unique index guards it): the first
need opens one and enqueues its delivery; anything later only marks it for one update
job, so twenty customer messages make one notice and at most a few edits, never twenty.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.jobs.queue import enqueue
from botcraft.models import Agent, Conversation, Notification, NotificationSetting, utcnow

NOTIFY_OWNER = "notify_owner"
# Room for Telegram's 429s and an SMTP server's bad minute before a notice is given up.
MAX_ATTEMPTS = 8
# Further messages within this time update a notice once: a burst of twenty is one edit or two.
UPDATE_DELAY_SECONDS = 2.0


async def owners_to_tell(session: AsyncSession, agent: Agent) -> list[int]:
    """The agent's owners who have not turned its notifications off."""
    off = await session.scalar(select(NotificationSetting.id).where(
        NotificationSetting.agent_id == agent.id, NotificationSetting.user_id == agent.user_id,
        NotificationSetting.enabled.is_(False)))
    return [] if off is not None else [agent.user_id]


async def _open_notices(session: AsyncSession, conversation_id: int) -> list[Notification]:
    return list(await session.scalars(select(Notification).where(Notification.open_conversation_id == conversation_id)))


async def _queue_update(session: AsyncSession, notice: Notification, delay_seconds: float) -> None:
    # The row is locked (PostgreSQL; SQLite's writers take turns anyway): an update job that
    # has just cleared the flag waits for this transaction and so shows this change, or this
    # waits for the job and queues the next one. Never a change that no job will show.
    queued = await session.scalar(select(Notification.update_queued).where(Notification.id == notice.id)
                                  .with_for_update().execution_options(populate_existing=True))
    if not queued:
        await session.execute(update(Notification).where(Notification.id == notice.id).values(update_queued=True)
                              .execution_options(synchronize_session=False))
        enqueue(session, NOTIFY_OWNER, {"notification_id": notice.id}, delay_seconds=delay_seconds,
                max_attempts=MAX_ATTEMPTS)


async def open_or_update(session: AsyncSession, conversation: Conversation, kind: str, message_id: int | None) -> None:
    """The conversation needs its owners: tell each once, or bring the open notice up to date."""
    if conversation.channel == "playground":
        return  # the owner's own test chat: they are looking at it already
    agent = await session.get(Agent, conversation.agent_id)
    if agent is None:
        return
    open_by_user = {n.user_id: n for n in await _open_notices(session, conversation.id)}
    for user_id in await owners_to_tell(session, agent):
        notice = open_by_user.get(user_id)
        if notice is None:
            notice = Notification(conversation_id=conversation.id, user_id=user_id, agent_id=agent.id,
                                  open_conversation_id=conversation.id, kind=kind, message_id=message_id,
                                  state="pending")
            try:
                async with session.begin_nested():
                    session.add(notice)
                    await session.flush()
            except IntegrityError:  # opened by a concurrent turn of the same conversation
                continue
            enqueue(session, NOTIFY_OWNER, {"notification_id": notice.id, "first": True}, max_attempts=MAX_ATTEMPTS)
            continue
        if notice.message_id is None:
            notice.message_id = message_id
        await _queue_update(session, notice, UPDATE_DELAY_SECONDS)


async def customer_wrote(session: AsyncSession, conversation: Conversation) -> None:
    """A further message in a conversation with an open notice: the notice shows it (once per burst)."""
    for notice in await _open_notices(session, conversation.id):
        await _queue_update(session, notice, UPDATE_DELAY_SECONDS)


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
