"""The one outbound path: the `deliver_message` job sends a stored answer to its channel.

Bot answers and the owner's own replies both come through here, with the same pacing,
retries and error handling. Idempotent: only a message still `queued` is sent.
"""

from __future__ import annotations

from datetime import timedelta

import structlog

from botcraft.channels.base import SendError
from botcraft.channels.manager import ChannelManager, context_for, record_error
from botcraft.channels.ratelimit import pacer_of
from botcraft.jobs.queue import ClaimedJob
from botcraft.jobs.registry import RetryLater, handler
from botcraft.metrics.instruments import SEND_ERRORS, SENDS
from botcraft.models import Agent, Conversation, Message, utcnow
from botcraft.runtime import Runtime

log = structlog.get_logger("botcraft.sender")

DELIVER_MESSAGE = "deliver_message"
WINDOW_CLOSED = (
    "Not sent: more than 24 hours have passed since the customer's last message, and this "
    "channel then allows only pre-approved template messages."
)
BLOCKED = "Not sent: the customer has blocked the bot."


def manager_of(runtime: Runtime) -> ChannelManager:
    manager: ChannelManager = runtime.services["channels"]
    return manager


async def _finish(runtime: Runtime, message_id: int, *, status: str, error: str | None = None,
                  channel_message_id: str | None = None, blocked: bool = False, attention: str | None = None) -> None:
    async with runtime.db.transaction() as session:
        message = await session.get(Message, message_id)
        if message is None:
            return
        message.status, message.error = status, error
        if channel_message_id:
            message.channel_message_id = channel_message_id
        conversation = await session.get(Conversation, message.conversation_id)
        if conversation is not None:
            if blocked:
                conversation.blocked = True
            if attention:
                conversation.needs_attention, conversation.attention_reason = True, attention
        if error and conversation is not None:
            await record_error(session, conversation.agent_id, conversation.channel, error)


@handler(DELIVER_MESSAGE)
async def deliver_message(runtime: Runtime, job: ClaimedJob) -> None:
    message_id = int(job.payload["message_id"])
    async with runtime.db.transaction(write=False) as session:
        message = await session.get(Message, message_id)
        if message is None or message.status != "queued":
            return  # sent before (a retried job) or deleted
        conversation = await session.get(Conversation, message.conversation_id)
        agent = await session.get(Agent, message.agent_id)
    if conversation is None or agent is None:
        return
    if conversation.blocked:
        await _finish(runtime, message_id, status="failed", error=BLOCKED)
        return
    manager = manager_of(runtime)
    if conversation.channel not in manager.channels:
        await _finish(runtime, message_id, status="failed", error=f"Unknown channel {conversation.channel}.")
        return
    channel = manager.get(conversation.channel)
    ctx = context_for(agent, channel.name, runtime.settings)
    if ctx is None:
        await _finish(runtime, message_id, status="failed",
                      error=f"Not sent: {channel.name} is no longer connected to this agent.")
        return
    window = channel.reply_window_hours
    last = conversation.last_customer_message_at
    if window is not None and (last is None or utcnow() - last > timedelta(hours=window)):
        await _finish(runtime, message_id, status="failed", error=WINDOW_CLOSED, attention=WINDOW_CLOSED)
        return

    per_sender, per_chat = channel.send_rates()
    await pacer_of(runtime).wait(channel.rate_key(ctx), conversation.external_chat_id,
                                 per_sender=per_sender, per_chat=per_chat)
    try:
        sent_id = await channel.send_text(ctx, conversation.external_chat_id, message.text)
    except SendError as exc:
        SEND_ERRORS.labels(channel.name, _error_kind(exc)).inc()
        if exc.blocked:
            await _finish(runtime, message_id, status="failed", error=BLOCKED, blocked=True)
        elif exc.window_closed:
            await _finish(runtime, message_id, status="failed", error=WINDOW_CLOSED, attention=WINDOW_CLOSED)
        elif exc.retryable and job.attempts < job.max_attempts:
            log.info("send_retry", reason=exc.reason, retry_after=exc.retry_after)
            raise RetryLater(exc.reason, seconds=exc.retry_after) from exc
        else:
            await _finish(runtime, message_id, status="failed", error=exc.reason)
        return
    SENDS.labels(channel.name).inc()
    await _finish(runtime, message_id, status="sent", channel_message_id=sent_id)


def _error_kind(exc: SendError) -> str:
    if exc.blocked:
        return "blocked"
    if exc.window_closed:
        return "window_closed"
    return "retry" if exc.retryable else "failed"


