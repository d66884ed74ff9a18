"""Inbound events into the database: stored, deduplicated and given a job, in one transaction.

This is all a webhook does before answering 200, so it stays cheap: two inserts (the event
and its job) per event. Everything slow happens in the `channel_event` job.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.channels.events import EventKind, InboundEvent
from botcraft.jobs.queue import enqueue
from botcraft.models import ChannelEvent, ChannelState, utcnow

CHANNEL_EVENT = "channel_event"


def event_to_payload(event: InboundEvent) -> dict[str, Any]:
    data = asdict(event)
    data["kind"] = str(event.kind)
    data["timestamp"] = event.timestamp.isoformat() if event.timestamp else None
    return data


def event_from_payload(data: dict[str, Any]) -> InboundEvent:
    values = dict(data)
    values["kind"] = EventKind(values["kind"])
    if values.get("timestamp"):
        values["timestamp"] = datetime.fromisoformat(values["timestamp"])
    return InboundEvent(**values)


async def store_events(
    session: AsyncSession, agent_id: int, channel: str, events: list[InboundEvent], *, answer: bool = True
) -> int:
    """Store new events and enqueue their jobs; returns how many were new (not redeliveries).

    With `answer=False` (the owner stopped the channel) events are kept but not acted on.
    """
    dialect = session.get_bind().dialect.name
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    new = 0
    for event in events:
        statement = (
            dialect_insert(ChannelEvent)
            .values(agent_id=agent_id, channel=channel, event_id=event.event_id[:255], kind=str(event.kind),
                    payload=event_to_payload(event), received_at=utcnow())
            .on_conflict_do_nothing(index_elements=["agent_id", "channel", "event_id"])
            .returning(ChannelEvent.id)
        )
        row_id = (await session.execute(statement)).scalar()
        if row_id is None:
            continue  # a redelivery: stored already, answered already
        new += 1
        if answer and event.kind != EventKind.IGNORED:
            enqueue(session, CHANNEL_EVENT, {"event_row": row_id})
    if events:
        await session.execute(
            update(ChannelState)
            .where(ChannelState.agent_id == agent_id, ChannelState.channel == channel)
            .values(last_event_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return new


