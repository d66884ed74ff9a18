"""The one outbound path: a stored answer (`queued`) goes to its channel, and the result is recorded.

`deliver()` is called by the inbound job right after the answer is stored (the same job, no
second one) and by the `deliver_message` job (the owner's own replies). Bot answers and the
owner's replies get the same pacing (channels/ratelimit.py), retries and error handling. The
result and the job's completion are one write, so a job that finished has recorded its send.
Just before the request the answer is marked `sending` (dialogue.inbound.begin_send_in, or
already as it was stored when its pacing slot was free: `Outgoing.slot_at`): a job killed
in the middle of a send is not resent by its next attempt, which asks the owner to check
instead. A customer gets an answer once; only a kill in the moment between that
mark and the request leaving (a retake of a slot the store made late, a round trip, at most
MAX_LATE of them) can lose one, and then the owner is told.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from botcraft.channels.base import BaseChannel, ChannelContext, SendError
from botcraft.channels.manager import context_for
from botcraft.channels.ratelimit import MAX_LATE, on_time
from botcraft.dialogue import attention
from botcraft.dialogue.inbound import (
    SEND_INTERRUPTED,
    WINDOW_CLOSED,
    Outgoing,
    begin_send_in,
    load_outgoing,
    record_delivery,
    retry_send_in,
)
from botcraft.i18n import N_
from botcraft.jobs.queue import ClaimedJob, complete_in
from botcraft.jobs.registry import RetryLater
from botcraft.metrics.instruments import SEND_ERRORS, SENDS
from botcraft.models import Agent, ChannelState, utcnow
from botcraft.runtime import Runtime

log = structlog.get_logger("botcraft.sender")

BLOCKED = N_("Not sent: the customer has blocked the bot.")
NOT_DELIVERED = N_("Not sent: delivering this message failed on every attempt; please answer the customer yourself.")


def record_error_in(connection: Connection, agent_id: int, channel: str, error: str | None) -> None:
    connection.execute(
        update(ChannelState).where(ChannelState.agent_id == agent_id, ChannelState.channel == channel)
        .values(last_error=error, last_error_at=utcnow() if error else None)
    )


async def _finish(runtime: Runtime, job: ClaimedJob | None, agent_id: int, channel: str, outgoing: Outgoing, *,
                  status: str, error: str | None = None, channel_message_id: str | None = None,
                  blocked: bool = False, needs_owner: str | None = None) -> None:
    def unit(connection: Connection) -> bool:
        noticed = record_delivery(connection, outgoing, status=status, error=error,
                                  channel_message_id=channel_message_id, blocked=blocked, needs_owner=needs_owner)
        if error:
            record_error_in(connection, agent_id, channel, error)
        if job is not None:
            complete_in(connection, job)
        return noticed

    # A plain "sent" touches only this job's rows (its answer, the job), which no other unit
    # waits for: on PostgreSQL it shares a transaction with the writes queued beside it.
    # Anything more (a flag on the conversation, the channel's last error) has one of its own.
    plain = error is None and needs_owner is None and not blocked
    if await runtime.db.run(unit, share=plain):
        runtime.db.wakeup.notify()  # the owner's notice goes out now


async def deliver(runtime: Runtime, channel: BaseChannel, ctx: ChannelContext | None, outgoing: Outgoing, *,
                  job: ClaimedJob | None, agent_id: int | None = None) -> None:
    """Send one stored answer; raises RetryLater when the platform asks to try again later."""
    agent_id = ctx.agent_id if ctx is not None else agent_id
    assert agent_id is not None
    finish = partial(_finish, runtime, job, agent_id, channel.name, outgoing)
    if outgoing.interrupted:
        log.warning("send_interrupted", message_id=outgoing.message_id)
        await finish(status="sent", error=SEND_INTERRUPTED, needs_owner=attention.SEND_INTERRUPTED)
        return
    if outgoing.blocked:
        await finish(status="failed", error=BLOCKED)
        return
    if ctx is None:
        await finish(status="failed", error=N_("Not sent: {channel} is no longer connected to this agent.").format(
            channel=channel.name))
        return
    window = channel.reply_window_hours
    last = outgoing.last_customer_message_at
    if window is not None and (last is None or utcnow() - last > timedelta(hours=window)):
        await finish(status="failed", error=WINDOW_CLOSED, needs_owner=attention.WINDOW_CLOSED)
        return

    if outgoing.slot_at is None or not on_time(outgoing.slot_at):
        per_sender, per_chat = channel.send_rates()
        rate_key = channel.rate_key(ctx)
        # Stored as `sending`, but the store made its slot late: moved to this instant if
        # nothing was taken after it (and moved again if the move came back late itself: a
        # round trip, where giving it up costs two writes), else back to `queued` while it
        # waits for a fresh one, so that a kill meanwhile has it sent again, not handed to the
        # owner.
        given_up, slot_at, tries = outgoing.slot_at, None, 0
        while given_up is not None and slot_at is None and tries < MAX_LATE:
            tries += 1
            retaken = await runtime.pacer.retake(rate_key, outgoing.chat_id, given_up,
                                                 per_sender=per_sender, per_chat=per_chat)
            if retaken is None:
                break
            if on_time(retaken):
                slot_at = retaken
            else:
                given_up = retaken
        if slot_at is None:
            if given_up is not None:
                await runtime.db.run(partial(retry_send_in, message_id=outgoing.message_id))
            await runtime.pacer.wait(rate_key, outgoing.chat_id, per_sender=per_sender, per_chat=per_chat,
                                     given_up=given_up)
            if not await runtime.db.run(partial(begin_send_in, message_id=outgoing.message_id)):
                if job is not None:
                    await runtime.db.run(partial(complete_in, job=job))
                return  # no longer queued: sent or given up by another attempt
    try:
        sent_id = await channel.send_text(ctx, outgoing.chat_id, outgoing.text)
    except SendError as exc:
        SEND_ERRORS.labels(channel.name, _error_kind(exc)).inc()
        if exc.blocked:
            await finish(status="failed", error=BLOCKED, blocked=True, needs_owner=attention.BLOCKED)
        elif exc.window_closed:
            await finish(status="failed", error=WINDOW_CLOSED, needs_owner=attention.WINDOW_CLOSED)
        elif exc.retryable and job is not None and job.attempts < job.max_attempts:
            log.info("send_retry", reason=exc.reason, retry_after=exc.retry_after)
            await runtime.db.run(partial(retry_send_in, message_id=outgoing.message_id))
            raise RetryLater(exc.reason, seconds=exc.retry_after) from exc
        else:
            await finish(status="failed", error=exc.reason)
        return
    except BaseException:
        # Not an answer from the platform (a bug, a shutdown cancelling the job): nothing says the
        # answer went out, so it is queued again for the job's next attempt rather than given up.
        await asyncio.shield(runtime.db.run(partial(retry_send_in, message_id=outgoing.message_id)))
        raise
    SENDS.labels(channel.name).inc()
    await finish(status="sent", channel_message_id=sent_id)


def _error_kind(exc: SendError) -> str:
    if exc.blocked:
        return "blocked"
    if exc.window_closed:
        return "window_closed"
    return "retry" if exc.retryable else "failed"


async def deliver_message(runtime: Runtime, job: ClaimedJob) -> None:
    """The `deliver_message` job: one stored message (the owner's reply) to its channel."""
    loaded = await runtime.db.run(partial(_load, message_id=int(job.payload["message_id"])), write=False)
    if loaded is None:
        return  # sent before (a retried job) or deleted
    outgoing, agent, channel_name = loaded
    if channel_name not in runtime.channels.channels:
        await _finish(runtime, job, agent.id, channel_name, outgoing, status="failed",
                      error=f"Unknown channel {channel_name}.")
        return
    channel = runtime.channels.get(channel_name)
    await deliver(runtime, channel, context_for(agent, channel_name, runtime.settings), outgoing, job=job,
                  agent_id=agent.id)


async def give_up_delivery(runtime: Runtime, payload: dict[str, Any], error: str) -> None:
    """A `deliver_message` job died: the message shows as failed, and the owner is asked to step in."""
    await give_up(runtime, int(payload["message_id"]), error)


async def give_up(runtime: Runtime, message_id: int, error: str) -> None:
    """Mark a stored answer that is still `queued` as failed (its job died), flagging its conversation.
    One cut off while `sending` is marked sent, and the owner asked to check it."""
    loaded = await runtime.db.run(partial(_load, message_id=message_id), write=False)
    if loaded is None:
        return  # sent after all, or gone
    outgoing, agent, channel_name = loaded
    log.warning("delivery_given_up", message_id=message_id, error=error[:200])
    if outgoing.interrupted:  # it may well have gone out: not "failed", but the owner checks
        await _finish(runtime, None, agent.id, channel_name, outgoing, status="sent", error=SEND_INTERRUPTED,
                      needs_owner=attention.SEND_INTERRUPTED)
        return
    await _finish(runtime, None, agent.id, channel_name, outgoing, status="failed", error=NOT_DELIVERED,
                  needs_owner=attention.DELIVERY_FAILED)


def _load(connection: Connection, message_id: int) -> tuple[Outgoing, Agent, str] | None:
    found = load_outgoing(connection, message_id)
    if found is None:
        return None
    outgoing, agent_id, channel = found
    row = connection.execute(select(*Agent.__table__.columns).where(Agent.id == agent_id)).first()
    if row is None:
        return None
    return outgoing, Agent(**dict(row._mapping)), channel
