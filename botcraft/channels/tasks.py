"""The `channel_event` job: one stored inbound event becomes a conversation turn (or a status)."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.channels.base import BaseChannel
from botcraft.channels.events import EventKind, InboundEvent
from botcraft.channels.ingest import CHANNEL_EVENT, event_from_payload
from botcraft.channels.manager import context_for
from botcraft.channels.sender import BLOCKED, DELIVER_MESSAGE, WINDOW_CLOSED, manager_of
from botcraft.dialogue import attention
from botcraft.dialogue.engine import answer_message
from botcraft.dialogue.failures import hand_over_failed
from botcraft.dialogue.service import Inbound, conversation_for, record_inbound
from botcraft.jobs.queue import ClaimedJob, enqueue
from botcraft.jobs.registry import RetryLater, handler
from botcraft.models import Agent, ChannelEvent, Conversation, Message
from botcraft.runtime import Runtime

log = structlog.get_logger("botcraft.channels")

# A status never moves backwards (a late "delivered" after "read" changes nothing).
_STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}
_MEDIA_LABELS = {
    "voice": "голосовое сообщение", "audio": "аудио", "video": "видео", "video_note": "видеосообщение",
    "sticker": "стикер", "document": "файл", "image": "фото", "animation": "GIF", "location": "геопозиция",
    "contact": "контакт", "unsupported": "вложение",
}


def media_reply(agent: Agent) -> str:
    if agent.media_reply:
        return agent.media_reply
    if agent.language == "en":
        return "Thank you! I can only read text messages for now — please type your question."
    return "Спасибо! Пока я понимаю только текстовые сообщения — напишите, пожалуйста, ваш вопрос текстом."


async def hand_over_dead_event(runtime: Runtime, payload: dict[str, Any], error: str) -> None:
    """The event's job died: the customer gets the polite hand-over and the owner a flag."""
    async with runtime.db.transaction() as session:
        row = await session.get(ChannelEvent, int(payload["event_row"]))
        agent = await session.get(Agent, row.agent_id) if row else None
        if row is None or agent is None:
            return
        event = event_from_payload(row.payload)
        if event.kind not in (EventKind.MESSAGE, EventKind.CALLBACK, EventKind.MEDIA) or not event.chat_id:
            return  # a status or a block: nobody waits for an answer
        channel = manager_of(runtime).get(row.channel)
        text = event.text or f"[{_MEDIA_LABELS.get(event.media_kind or '', 'вложение')}]"
        inbound = Inbound(row.channel, event.chat_id, text, event.customer_name, _message_key(channel, event))
        reply = await hand_over_failed(session, agent, inbound)
        if reply is not None:
            enqueue(session, DELIVER_MESSAGE, {"message_id": reply.id})
    log.warning("message_handed_over_after_failure", agent_id=agent.id, channel=row.channel, error=error[:200])


def _message_key(channel: BaseChannel, event: InboundEvent) -> str:
    """The customer message's id for deduplication (a callback has none of its own)."""
    return (channel.channel_message_id(event) if event.kind != EventKind.CALLBACK else None) or event.event_id


@handler(CHANNEL_EVENT, on_dead=hand_over_dead_event)
async def channel_event(runtime: Runtime, job: ClaimedJob) -> None:
    async with runtime.db.transaction(write=False) as session:
        row = await session.get(ChannelEvent, int(job.payload["event_row"]))
        agent = await session.get(Agent, row.agent_id) if row else None
    if row is None or agent is None:
        return
    event = event_from_payload(row.payload)
    if event.kind == EventKind.STATUS:
        await _apply_status(runtime, job, agent, row.channel, event)
    elif event.kind in (EventKind.BLOCKED, EventKind.UNBLOCKED):
        async with runtime.db.transaction() as session:
            conversation = await conversation_for(
                session, agent.id, row.channel, event.chat_id or "", event.customer_name
            )
            newly_blocked = event.kind == EventKind.BLOCKED and not conversation.blocked
            conversation.blocked = event.kind == EventKind.BLOCKED
            if newly_blocked:
                await attention.flag_for_owner(session, conversation, attention.BLOCKED, BLOCKED)
    elif event.kind in (EventKind.MESSAGE, EventKind.CALLBACK, EventKind.MEDIA) and event.chat_id:
        await _converse(runtime, job, agent, row.channel, event)


async def _converse(runtime: Runtime, job: ClaimedJob, agent: Agent, channel_name: str, event: InboundEvent) -> None:
    channel = manager_of(runtime).get(channel_name)
    ctx = context_for(agent, channel_name, runtime.settings)
    if ctx is not None:
        await channel.on_inbound(ctx, event)  # answer the callback, mark read
    media_only = event.kind == EventKind.MEDIA and not event.text
    text = event.text or f"[{_MEDIA_LABELS.get(event.media_kind or '', 'вложение')}]"
    key = _message_key(channel, event)
    assert event.chat_id is not None
    async with runtime.db.transaction() as session:
        inbound = Inbound(channel_name, event.chat_id, text, event.customer_name, key,
                          customer_username=event.extra.get("username"))
        message = await record_inbound(session, agent, inbound, answer=False)
        if message is None:  # this job ran before and stored it: carry on with the same message
            message = await session.scalar(select(Message).where(
                Message.agent_id == agent.id, Message.channel == channel_name, Message.channel_message_id == key))
        assert message is not None
        if media_only:
            await _polite_reply(session, agent, message)
            await job.complete_in(session)
            return
        message_id, waiting_for_owner = message.id, message.status == "pending"
    if waiting_for_owner:
        return
    if ctx is not None:
        await channel.typing(ctx, event.chat_id)
    await answer_message(runtime, message_id, job=job)


async def _polite_reply(session: AsyncSession, agent: Agent, inbound: Message) -> None:
    if inbound.status == "pending":
        return  # the owner is answering this conversation by hand
    exists = await session.scalar(select(Message.id).where(Message.reply_to_id == inbound.id))
    if exists is not None:
        return
    reply = Message(conversation_id=inbound.conversation_id, agent_id=agent.id, channel=inbound.channel,
                    direction="out", author="bot", text=media_reply(agent), reply_to_id=inbound.id,
                    status="queued", answered_by="media")
    session.add(reply)
    await session.flush()
    enqueue(session, DELIVER_MESSAGE, {"message_id": reply.id})


async def _apply_status(runtime: Runtime, job: ClaimedJob, agent: Agent, channel_name: str,
                        event: InboundEvent) -> None:
    if not event.status_of or not event.status:
        return
    ours = and_(Message.agent_id == agent.id, Message.channel == channel_name,
                Message.channel_message_id == event.status_of, Message.direction == "out")
    if event.status == "failed":
        values = {"status": "failed", "error": event.error or "The platform reported the message as failed."}
        condition = ours
    else:
        # One conditional UPDATE: status jobs run concurrently, and a read-then-write would let
        # a late "delivered" overwrite "read". Statuses only ever move forward.
        rank = _STATUS_RANK.get(event.status, -1)
        earlier = [name for name, r in _STATUS_RANK.items() if r < rank]
        values, condition = {"status": event.status}, and_(ours, Message.status.in_(earlier))
    async with runtime.db.transaction() as session:
        updated = await session.execute(
            update(Message).where(condition).values(**values).returning(Message.conversation_id)
        )
        conversation_id = updated.scalar()
        if conversation_id is None:
            known = await session.scalar(select(Message.id).where(ours))
            if known is None:
                # Meta can report "sent" before our sender has stored the message's id.
                if job.attempts < 3:
                    raise RetryLater("status for a message not stored yet", seconds=1.0)
                log.info("status_for_unknown_message", status=event.status)
            return
        if event.status == "failed" and event.extra.get("error_code") == "131047":
            conversation = await session.get(Conversation, conversation_id)
            outbound = await session.scalar(select(Message).where(ours))
            question = await session.get(Message, outbound.reply_to_id) if outbound and outbound.reply_to_id else None
            if conversation is not None:
                await attention.flag_for_owner(session, conversation, attention.WINDOW_CLOSED, WINDOW_CLOSED,
                                               message=question)
