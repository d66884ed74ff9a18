"""Conversations: storing inbound messages, the owner's view, take-over and owner replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.dialogue.attention import WAITING, clear_attention, flag_for_owner, mode_changed
from botcraft.dialogue.inbound import WAITING_FOR_OWNER
from botcraft.errors import NotFound
from botcraft.jobs.kinds import DELIVER_MESSAGE
from botcraft.jobs.queue import enqueue
from botcraft.models import Agent, Conversation, Message, User, utcnow


@dataclass(frozen=True, slots=True)
class Inbound:
    channel: str
    chat_id: str
    text: str
    customer_name: str | None = None
    channel_message_id: str | None = None
    customer_username: str | None = None


async def conversation_for(
    session: AsyncSession, agent_id: int, channel: str, chat_id: str, customer_name: str | None,
    customer_username: str | None = None,
) -> Conversation:
    query = select(Conversation).where(
        Conversation.agent_id == agent_id, Conversation.channel == channel, Conversation.external_chat_id == chat_id
    )
    conversation = await session.scalar(query)
    if conversation is not None:
        if customer_name:
            conversation.customer_name = customer_name
        if customer_username:
            conversation.customer_username = customer_username
        return conversation
    conversation = Conversation(agent_id=agent_id, channel=channel, external_chat_id=chat_id,
                                customer_name=customer_name, customer_username=customer_username)
    try:
        async with session.begin_nested():
            session.add(conversation)
            await session.flush()
    except IntegrityError:  # created by a concurrent event of the same chat
        found = await session.scalar(query)
        assert found is not None
        return found
    return conversation


async def record_inbound(session: AsyncSession, agent: Agent, event: Inbound) -> Message | None:
    """Store the owner's playground question in the caller's transaction (answered inline by
    engine.answer_message). Customers' messages come through dialogue/inbound.py instead.

    Returns None for a message already stored.
    """
    conversation = await conversation_for(session, agent.id, event.channel, event.chat_id, event.customer_name,
                                          event.customer_username)
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        agent_id=agent.id,
        channel=event.channel,
        direction="in",
        author="customer",
        text=event.text,
        channel_message_id=event.channel_message_id,
        status="received",
    )
    try:
        async with session.begin_nested():
            session.add(message)
            await session.flush()
    except IntegrityError:
        return None
    conversation.last_message_at = now
    conversation.last_customer_message_at = now
    conversation.last_message_text = event.text[:500]
    if conversation.mode == "human":
        message.status = "pending"
        await flag_for_owner(session, conversation, WAITING, WAITING_FOR_OWNER, message=message)
    return message


async def owned_conversation(session: AsyncSession, user: User, conversation_id: int) -> Conversation:
    conversation = await session.scalar(
        select(Conversation)
        .join(Agent, Agent.id == Conversation.agent_id)
        .where(Conversation.id == conversation_id, Agent.user_id == user.id)
    )
    if conversation is None:
        raise NotFound("Conversation not found.", code="conversation_not_found")
    return conversation


async def list_conversations(
    session: AsyncSession, agent_id: int, *, page: int, per_page: int, attention_first: bool,
    attention_only: bool = False,
) -> tuple[list[Conversation], int]:
    order: list[Any] = [Conversation.last_message_at.desc(), Conversation.id.desc()]
    if attention_first:
        order.insert(0, Conversation.needs_attention.desc())
    where = [Conversation.agent_id == agent_id]
    if attention_only:
        where.append(Conversation.needs_attention.is_(True))
    total = await session.scalar(select(func.count()).select_from(Conversation).where(*where))
    rows = await session.scalars(
        select(Conversation).where(*where).order_by(*order).offset((page - 1) * per_page).limit(per_page)
    )
    return list(rows), int(total or 0)


async def attention_count(session: AsyncSession, agent_id: int) -> int:
    return int(await session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.agent_id == agent_id, Conversation.needs_attention.is_(True))) or 0)


@dataclass(frozen=True, slots=True)
class Preview:
    customer_text: str | None
    last_author: str | None


async def previews(session: AsyncSession, conversation_ids: list[int]) -> dict[int, Preview]:
    """Each conversation's latest customer message and who wrote last: two indexed lookups a page."""
    if not conversation_ids:
        return {}
    in_page = Message.conversation_id.in_(conversation_ids)
    last_ids = select(func.max(Message.id)).where(in_page).group_by(Message.conversation_id)
    last_in_ids = select(func.max(Message.id)).where(in_page, Message.direction == "in") \
        .group_by(Message.conversation_id)
    authors = dict((await session.execute(
        select(Message.conversation_id, Message.author).where(Message.id.in_(last_ids)))).all())
    texts = dict((await session.execute(
        select(Message.conversation_id, Message.text).where(Message.id.in_(last_in_ids)))).all())
    return {cid: Preview(texts.get(cid), authors.get(cid)) for cid in conversation_ids}


async def messages_of(session: AsyncSession, conversation: Conversation, *, before_id: int | None, limit: int
                      ) -> list[Message]:
    query = select(Message).where(Message.conversation_id == conversation.id)
    if before_id is not None:
        query = query.where(Message.id < before_id)
    rows = await session.scalars(query.order_by(Message.id.desc()).limit(limit))
    return list(reversed(list(rows)))


async def set_mode(session: AsyncSession, conversation: Conversation, mode: str) -> None:
    """Take over (the bot goes silent) or hand back to the bot (the owner's part is done)."""
    conversation.mode = mode
    if mode == "bot":
        await clear_attention(session, conversation)
    else:
        await mode_changed(session, conversation)


async def owner_reply(session: AsyncSession, conversation: Conversation, text: str) -> Message:
    """The owner's own answer: stored and handed to the channel's sender (one shared path)."""
    message = Message(
        conversation_id=conversation.id,
        agent_id=conversation.agent_id,
        channel=conversation.channel,
        direction="out",
        author="owner",
        text=text,
        status="sent" if conversation.channel == "playground" else "queued",
    )
    session.add(message)
    await session.flush()
    conversation.last_message_at = utcnow()
    conversation.last_message_text = text[:500]
    await clear_attention(session, conversation)
    # Questions that waited for the owner are answered by this reply.
    for waiting in await session.scalars(
        select(Message).where(Message.conversation_id == conversation.id, Message.status == "pending")
    ):
        waiting.status = "received"
    if conversation.channel != "playground":
        enqueue(session, DELIVER_MESSAGE, {"message_id": message.id})
    return message
