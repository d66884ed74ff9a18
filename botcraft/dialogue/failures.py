"""When a customer's message could not be answered at all: the owner is told, the customer is not left waiting.

Called once the message's job has failed for the last time. Whatever broke (a bug, a
database outage, a platform's answer that cannot be read), the customer gets the polite
hand-over and the conversation is flagged, so no message ends in a dead job nobody sees.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.dialogue.attention import PROCESSING_FAILED as FAILED_KIND
from botcraft.dialogue.attention import flag_for_owner
from botcraft.dialogue.prompting import customer_language
from botcraft.dialogue.service import Inbound, conversation_for, record_inbound
from botcraft.i18n import N_
from botcraft.models import Agent, Message

PROCESSING_FAILED = N_(
    "The bot failed to process this message (an internal error): please answer the customer yourself.")


def failure_reply(language: str) -> str:
    if language == "ru":
        return "Извините, я не смог обработать ваше сообщение. Я передал его сотруднику — он ответит вам здесь."
    return "Sorry, I could not process your message. I've passed it to a member of staff, who will reply here."


async def hand_over_failed(session: AsyncSession, agent: Agent, inbound: Inbound) -> Message | None:
    """Flag the conversation and store the hand-over reply, in the caller's transaction.

    Returns the reply to deliver, or None when the customer must not get one: a reply exists
    already (the answer was stored before the failure), the owner is answering by hand, or
    the customer blocked the bot. The customer's message is stored if it was not yet.
    """
    conversation = await conversation_for(session, agent.id, inbound.channel, inbound.chat_id, inbound.customer_name)
    message = await record_inbound(session, agent, inbound)
    if message is None:  # stored before the failure, as it usually is
        message = await session.scalar(select(Message).where(
            Message.agent_id == agent.id, Message.channel == inbound.channel,
            Message.channel_message_id == inbound.channel_message_id))
    await flag_for_owner(session, conversation, FAILED_KIND, PROCESSING_FAILED, message=message)
    if message is None or conversation.mode == "human" or conversation.blocked:
        return None
    if await session.scalar(select(Message.id).where(Message.reply_to_id == message.id)) is not None:
        return None
    reply = Message(conversation_id=conversation.id, agent_id=agent.id, channel=inbound.channel, direction="out",
                    author="bot", text=failure_reply(customer_language(inbound.text, agent.language)),
                    reply_to_id=message.id, status="queued", answered_by="failure")
    session.add(reply)
    await session.flush()
    return reply
