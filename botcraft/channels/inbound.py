"""One inbound message, from the webhook to the reply handed to the sender.

1. `store_events()` (a webhook, before it answers 200; the Telegram poller calls
   `store_batches_in()` in its own unit): each parsed event is stored with the platform's
   raw payload, deduplicated by its channel id (`INSERT ... ON CONFLICT DO NOTHING
   RETURNING`), with its job, in one unit of `Database.run`. Concurrent webhooks share one
   transaction (group commit, `share=True`) and, their units being `StoreEvents`, one
   multi-row INSERT of their events and one of their jobs.
2. `process_event()`, the `channel_event` job, one per stored event:
   - ONE read: the event, its agent (with the channel settings) and its conversation, joined
     on the chat id the job carries (`dialogue.inbound.conversation_join`), then the history
     (`dialogue.inbound.load_conversation`);
   - a delivery status or a block goes to dialogue (`apply_status`, `set_blocked`);
   - a message: the platform is acknowledged (callback answered), then
     `dialogue.handle_inbound()` composes and stores the answer in ONE write (an answer
     that takes longer than TYPING_AFTER_S shows the customer "typing…" meanwhile);
   - the answer is sent in the same job by `outbound.deliver()`, which records the result
     and completes the job in ONE write. When the channel's pacing slot is free at that
     instant, the answer was stored already marked as being sent, so no write comes between.
A worker killed anywhere in between loses nothing: the job's lease runs out, another worker
runs it again, and the stored turn (unique by the message's channel id and `reply_to_id`)
makes that run send the same answer instead of a second one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, fields, replace
from datetime import datetime
from functools import partial
from typing import Any

import structlog
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from botcraft.channels import outbound
from botcraft.channels.events import EventKind, InboundEvent
from botcraft.channels.manager import ChannelManager, context_for
from botcraft.db import MergedUnit, per_dialect
from botcraft.dialogue import inbound as dialogue
from botcraft.dialogue.failures import hand_over_failed
from botcraft.dialogue.service import Inbound
from botcraft.jobs.kinds import CHANNEL_EVENT, DELIVER_MESSAGE
from botcraft.jobs.queue import ClaimedJob, enqueue, enqueue_many_in
from botcraft.models import Agent, ChannelEvent, ChannelState, Message, table_of, utcnow
from botcraft.runtime import Runtime

log = structlog.get_logger("botcraft.channels")

_TURNS = (EventKind.MESSAGE, EventKind.CALLBACK, EventKind.MEDIA)
_EVENT_FIELDS = tuple(field.name for field in fields(InboundEvent))
_EVENTS = table_of(ChannelEvent)
_AGENTS = table_of(Agent)
_AGENT_COLUMNS = tuple(_AGENTS.columns)
# The hot path's statements, built once (db.per_dialect says why).
# The conversation is found by the chat id its job carries, not by one read from the stored
# event's JSON: PostgreSQL's `payload ->> 'chat_id'` parses the whole payload, fails on a
# "\u0000" anywhere in it (a customer's text), and a plan made while the table was small
# (before autovacuum's ANALYZE saw it grow) evaluated it for every conversation of the agent:
# 10-23 ms of the database's CPU per message at 2,000 conversations (auto_explain,
# bench.e2e_phases).
_CONVERSATIONS, _CONVERSATION_ON, _CONVERSATION_COLUMNS = dialogue.conversation_join(
    _EVENTS.c.agent_id, _EVENTS.c.channel, bindparam("chat_id"))
_EVENT_WITH_AGENT = (
    select(_EVENTS.c.channel, _EVENTS.c.payload, *_AGENT_COLUMNS, *_CONVERSATION_COLUMNS)
    .join(_AGENTS, _AGENTS.c.id == _EVENTS.c.agent_id)
    .outerjoin(_CONVERSATIONS, _CONVERSATION_ON)
    .where(_EVENTS.c.id == bindparam("row_id"))
)
# A job queued before its payload carried the chat id (an upgrade with jobs waiting).
_EVENT_PAYLOAD = select(_EVENTS.c.payload).where(_EVENTS.c.id == bindparam("row_id"))


@per_dialect
def _insert_events(insert: Any) -> Any:
    # Executed with a list of rows: SQLAlchemy's "insertmanyvalues" makes it one multi-row
    # INSERT; the rows returned are those inserted, matched to theirs by the unique key.
    return (insert(_EVENTS).on_conflict_do_nothing(index_elements=["agent_id", "channel", "event_id"])
            .returning(_EVENTS.c.id, _EVENTS.c.agent_id, _EVENTS.c.channel, _EVENTS.c.event_id))


_STATES = table_of(ChannelState)
_TOUCH_CHANNEL = (update(_STATES)
                  .where(_STATES.c.agent_id == bindparam("touched_agent"),
                         _STATES.c.channel == bindparam("touched_channel"))
                  .values(last_event_at=bindparam("at")))

# A channel's "last event" time is kept to the second it is shown in, not written per event.
_LAST_EVENT_EVERY_S = 5.0
# How long an answer is composed before the customer is shown "typing…".
TYPING_AFTER_S = 0.5


def event_to_payload(event: InboundEvent) -> dict[str, Any]:
    # Not dataclasses.asdict: it deep-copies every value, the enum and the datetime too, and
    # was a fifth of storing an event (its fields are flat: `extra` maps strings to strings).
    data = {name: getattr(event, name) for name in _EVENT_FIELDS}
    data["extra"] = dict(event.extra)
    data["kind"] = str(event.kind)
    data["timestamp"] = event.timestamp.isoformat() if event.timestamp else None
    return data


def event_from_payload(data: dict[str, Any]) -> InboundEvent:
    values = dict(data)
    values["kind"] = EventKind(values["kind"])
    if values.get("timestamp"):
        values["timestamp"] = datetime.fromisoformat(values["timestamp"])
    return InboundEvent(**values)


# ------------------------------------------------------------------ 1. storing (the webhook)


class LastEventClock:
    """When each agent's channel last had its `last_event_at` written (per process)."""

    def __init__(self) -> None:
        self._written: dict[tuple[int, str], float] = {}

    def due(self, agent_id: int, channel: str, now: float) -> bool:
        key = (agent_id, channel)
        if now - self._written.get(key, 0.0) < _LAST_EVENT_EVERY_S:
            return False
        if len(self._written) > 10_000:
            self._written.clear()
        self._written[key] = now
        return True


@dataclass(frozen=True, slots=True)
class EventBatch:
    """One agent's channel's events from one platform payload (`raw`), to be stored.

    With `answer=False` (the owner stopped the channel) events are kept but not acted on;
    `touch` writes the channel's `last_event_at`.
    """

    agent_id: int
    channel: str
    events: list[InboundEvent]
    raw: dict[str, Any] | None
    answer: bool = True
    touch: bool = True


def store_batches_in(connection: Connection, batches: list[EventBatch]) -> list[int]:
    """Store new events and their jobs (part of a unit); per batch, how many were new.

    However many batches, at most three statements: one multi-row INSERT of the events (ON
    CONFLICT DO NOTHING: a redelivery is stored already, answered already), one of their
    jobs, one UPDATE of `last_event_at` when any batch touches it.
    """
    now = utcnow()
    rows = [{"agent_id": batch.agent_id, "channel": batch.channel, "event_id": event.event_id[:255],
             "kind": str(event.kind), "payload": event_to_payload(event), "raw": batch.raw, "received_at": now}
            for batch in batches for event in batch.events]
    if not rows:
        return [0] * len(batches)
    stored = {(row.agent_id, row.channel, row.event_id): row.id
              for row in connection.execute(_insert_events(connection), rows)}
    new: list[int] = []
    jobs: list[dict[str, Any]] = []
    for batch in batches:
        count = 0
        for event in batch.events:
            # pop: the same event twice in these batches (delivered twice at once) is new once
            row_id = stored.pop((batch.agent_id, batch.channel, event.event_id[:255]), None)
            if row_id is None:
                continue
            count += 1
            if batch.answer and event.kind != EventKind.IGNORED:
                jobs.append({"event_row": row_id, "chat_id": event.chat_id})
        new.append(count)
    enqueue_many_in(connection, CHANNEL_EVENT, jobs)
    for agent_id, channel in sorted({(b.agent_id, b.channel) for b in batches if b.touch and b.events}):
        connection.execute(_TOUCH_CHANNEL, {"touched_agent": agent_id, "touched_channel": channel, "at": now})
    return new


@dataclass(frozen=True, slots=True)
class StoreEvents(MergedUnit[int]):
    """A webhook's batches as a unit: webhooks waiting at the same moment store as one."""

    batches: list[EventBatch]

    @classmethod
    def run_merged(cls, connection: Connection, units: list[StoreEvents]) -> list[int]:
        counts = iter(store_batches_in(connection, [batch for unit in units for batch in unit.batches]))
        return [sum(next(counts) for _ in unit.batches) for unit in units]


async def store_events(runtime: Runtime, batches: list[EventBatch]) -> int:
    """The batches as their own unit (shared with concurrent webhooks'); wakes this process's
    workers once it is committed. How many events were new."""
    batches = [batch for batch in batches if batch.events]
    if not batches:
        return 0
    now = time.monotonic()
    batches = [replace(batch, touch=runtime.last_event.due(batch.agent_id, batch.channel, now))
               for batch in batches]
    new = await runtime.db.run(StoreEvents(batches), share=True)
    if new:
        runtime.db.wakeup.notify()
    return new


# ------------------------------------------------------------------ 2. the job


def _load(connection: Connection, manager: ChannelManager, job: dict[str, Any], attempt: int
          ) -> tuple[Agent, str, InboundEvent, dialogue.ConversationState | None] | None:
    """The one read: the event, its agent and, for a message, the conversation and history."""
    row_id = int(job["event_row"])
    if "chat_id" in job:
        chat_id = job["chat_id"]
    else:
        payload = connection.execute(_EVENT_PAYLOAD, {"row_id": row_id}).scalar()
        chat_id = payload.get("chat_id") if payload else None
    row = connection.execute(_EVENT_WITH_AGENT, {"row_id": row_id, "chat_id": chat_id}).first()
    if row is None:
        return None
    mapping = row._mapping
    agent = Agent(**{column.key: mapping[column] for column in _AGENT_COLUMNS})
    event = event_from_payload(row.payload)
    state = None
    if event.kind in _TURNS and event.chat_id and row.channel in manager.channels:
        # Only a retried job can have stored its turn already: the first run skips the look-up.
        key = _message_key(manager, row.channel, event) if attempt > 1 else None
        state = dialogue.load_conversation(connection, mapping, agent.id, row.channel, event.chat_id, key=key)
    return agent, row.channel, event, state


async def hand_over_dead_event(runtime: Runtime, payload: dict[str, Any], error: str) -> None:
    """The event's job died: the customer gets the polite hand-over and the owner a flag; an
    answer that was stored but never sent shows as failed."""
    loaded = await runtime.db.run(partial(_load, manager=runtime.channels, job=payload, attempt=1), write=False)
    if loaded is None:
        return
    agent, channel_name, event, _ = loaded
    if event.kind not in _TURNS or not event.chat_id or channel_name not in runtime.channels.channels:
        return  # a status or a block: nobody waits for an answer
    text = dialogue.Inbound(channel_name, event.chat_id, event.text, media_kind=event.media_kind).stored_text
    inbound = Inbound(channel_name, event.chat_id, text, event.customer_name,
                      _message_key(runtime.channels, channel_name, event))
    async with runtime.db.transaction() as session:
        reply = await hand_over_failed(session, agent, inbound)
        if reply is not None:
            enqueue(session, DELIVER_MESSAGE, {"message_id": reply.id})
            unsent = None
        else:
            question = select(Message.id).where(Message.agent_id == agent.id, Message.channel == channel_name,
                                                Message.channel_message_id == inbound.channel_message_id)
            unsent = await session.scalar(
                select(Message.id).where(Message.status.in_(dialogue.UNSENT),
                                         Message.reply_to_id.in_(question)))
    if unsent is not None:
        await outbound.give_up(runtime, unsent, error)
    log.warning("message_handed_over_after_failure", agent_id=agent.id, channel=channel_name, error=error[:200])


def _message_key(manager: ChannelManager, channel: str, event: InboundEvent) -> str:
    """The customer message's unique id (per agent and channel); a callback has none of its own."""
    own = manager.get(channel).channel_message_id(event) if event.kind != EventKind.CALLBACK else None
    return own or event.event_id


async def process_event(runtime: Runtime, job: ClaimedJob) -> None:
    loaded = await runtime.db.run(
        partial(_load, manager=runtime.channels, job=job.payload, attempt=job.attempts),
        write=False,
    )
    if loaded is None:
        return
    agent, channel_name, event, state = loaded
    if event.kind == EventKind.STATUS:
        await dialogue.apply_status(runtime, job, agent.id, channel_name, status=event.status,
                                    status_of=event.status_of, error=event.error,
                                    error_code=event.extra.get("error_code"))
        return
    if event.kind in (EventKind.BLOCKED, EventKind.UNBLOCKED):
        await dialogue.set_blocked(runtime, agent.id, channel_name, event.chat_id or "", event.customer_name,
                                   event.kind == EventKind.BLOCKED)
        return
    if state is None or event.chat_id is None:
        return  # not a question (or a channel this process does not know)
    channel = runtime.channels.get(channel_name)
    ctx = context_for(agent, channel_name, runtime.settings)
    if ctx is not None:
        await channel.on_inbound(ctx, event)  # answer the callback, mark read
    chat_id = event.chat_id
    media_kind = event.media_kind or ("unsupported" if event.kind == EventKind.MEDIA else None)
    inbound = dialogue.Inbound(channel_name, chat_id, event.text, event.customer_name,
                               _message_key(runtime.channels, channel_name, event), media_kind=media_kind,
                               customer_username=event.extra.get("username"))

    async def typing() -> None:
        # "typing…" only for an answer that takes a while: one made within TYPING_AFTER_S
        # arrives before the indicator would have shown, and its request is saved.
        await asyncio.sleep(TYPING_AFTER_S)
        if ctx is not None:
            await asyncio.shield(channel.typing(ctx, chat_id))  # once asked for, let it finish

    async def send_now() -> float | None:
        if ctx is None:
            return None
        per_sender, per_chat = channel.send_rates()
        return await runtime.pacer.reserve_now(channel.rate_key(ctx), chat_id, per_sender=per_sender, per_chat=per_chat)

    outgoing = await dialogue.handle_inbound(runtime, agent, state, inbound, job=job, while_composing=typing,
                                             send_now=send_now)
    if outgoing is not None:
        await outbound.deliver(runtime, channel, ctx, outgoing, job=job, agent_id=agent.id)

