"""Conversations: storing inbound messages, the owner's view, take-over and owner replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

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


async def conversation_for(
    session: AsyncSession, agent_id: int, channel: str, chat_id: str, customer_name: str | None
) -> Conversation:
    query = select(Conversation).where(
        Conversation.agent_id == agent_id, Conversation.channel == channel, Conversation.external_chat_id == chat_id
    )
    conversation = await session.scalar(query)
    if conversation is not None:
        if customer_name:
            conversation.customer_name = customer_name
        return conversation
    conversation = Conversation(agent_id=agent_id, channel=channel, external_chat_id=chat_id,
                                customer_name=customer_name)
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
    conversation = await conversation_for(session, agent.id, event.channel, event.chat_id, event.customer_name)
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
        conversation.needs_attention = True
        conversation.attention_reason = WAITING_FOR_OWNER
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
    session: AsyncSession, agent_id: int, *, page: int, per_page: int, attention_first: bool
) -> tuple[list[Conversation], int]:
    order: list[Any] = [Conversation.last_message_at.desc(), Conversation.id.desc()]
    if attention_first:
        order.insert(0, Conversation.needs_attention.desc())
    total = await session.scalar(
        select(func.count()).select_from(Conversation).where(Conversation.agent_id == agent_id)
    )
    rows = await session.scalars(
        select(Conversation).where(Conversation.agent_id == agent_id).order_by(*order)
        .offset((page - 1) * per_page).limit(per_page)
    )
    return list(rows), int(total or 0)


async def messages_of(session: AsyncSession, conversation: Conversation, *, before_id: int | None, limit: int
                      ) -> list[Message]:
    query = select(Message).where(Message.conversation_id == conversation.id)
    if before_id is not None:
        query = query.where(Message.id < before_id)
    rows = await session.scalars(query.order_by(Message.id.desc()).limit(limit))
    return list(reversed(list(rows)))


def set_mode(conversation: Conversation, mode: str) -> None:
    conversation.mode = mode
    if mode == "bot":
        conversation.needs_attention = False
        conversation.attention_reason = None


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
    conversation.needs_attention = False
    conversation.attention_reason = None
    # Questions that waited for the owner are answered by this reply.
    for waiting in await session.scalars(
        select(Message).where(Message.conversation_id == conversation.id, Message.status == "pending")
    ):
        waiting.status = "received"
    if conversation.channel != "playground":
        enqueue(session, DELIVER_MESSAGE, {"message_id": message.id})
    return message
