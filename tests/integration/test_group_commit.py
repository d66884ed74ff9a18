"""Database.run's group commit: webhooks that arrive together share one transaction (their
events one INSERT), and one that fails loses none of the others' messages (on both databases)."""

from __future__ import annotations

import asyncio
import functools

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from botcraft.channels.events import EventKind, InboundEvent
from botcraft.channels.inbound import EventBatch, StoreEvents
from botcraft.db import Database
from botcraft.jobs import queue
from botcraft.jobs.kinds import CHANNEL_EVENT
from botcraft.models import Agent, ChannelEvent, Job, User


@pytest.fixture
async def db(settings):
    database = Database(settings.resolved_database_url)
    yield database
    await database.dispose()


def _store(connection, *, n: int, fail: bool = False) -> int:
    queue.enqueue_in(connection, "test_group", {"n": n, "text": "Сколько стоит доставка?"})
    if fail:
        raise ValueError("сообщение не разобрано")
    return n


async def _stored(db: Database) -> list[int]:
    async with db.transaction(write=False) as session:
        payloads = (await session.scalars(select(Job.payload).where(Job.kind == "test_group"))).all()
    return sorted(payload["n"] for payload in payloads)


async def test_one_failing_unit_of_a_group_fails_alone(db):
    units = [functools.partial(_store, n=n, fail=(n == 7)) for n in range(20)]
    outcomes = await asyncio.gather(*(db.run(unit, share=True) for unit in units), return_exceptions=True)

    assert isinstance(outcomes[7], ValueError)
    assert [o for i, o in enumerate(outcomes) if i != 7] == [n for n in range(20) if n != 7]
    assert await _stored(db) == [n for n in range(20) if n != 7]  # nothing of the failed one is kept


async def test_webhooks_waiting_together_share_one_transaction_on_postgresql(db):
    if db.is_sqlite:
        pytest.skip("SQLite groups every write in one thread; no transaction id to tell groups apart")

    def unit(connection, n: int) -> int:
        _store(connection, n=n)
        return int(connection.execute(select(func.txid_current())).scalar_one())

    transactions = await asyncio.gather(*(db.run(functools.partial(unit, n=n), share=True) for n in range(30)))

    assert await _stored(db) == list(range(30))
    assert len(set(transactions)) < 30, "every unit had a transaction of its own"


async def _agent(db: Database) -> int:
    async with db.transaction() as session:
        user = User(email="group@example.com")
        session.add(user)
        await session.flush()
        agent = Agent(user_id=user.id, name="Пекарня «Колосок»", system_prompt="Ты — помощник пекарни.",
                      integrations_json={})
        session.add(agent)
        await session.flush()
        return agent.id


def _update(update_id: int) -> tuple[dict, list[InboundEvent]]:
    raw = {"update_id": update_id, "message": {"message_id": update_id, "text": "Есть ли хлеб без глютена?",
                                               "chat": {"id": update_id, "type": "private"}}}
    return raw, [InboundEvent(channel="telegram", kind=EventKind.MESSAGE, event_id=f"update:{update_id}",
                              chat_id=str(update_id), customer_name="Ольга", text="Есть ли хлеб без глютена?",
                              message_id=str(update_id))]


async def _events(db: Database) -> tuple[list[str], int]:
    async with db.transaction(write=False) as session:
        ids = (await session.scalars(select(ChannelEvent.event_id))).all()
        jobs = (await session.scalars(select(func.count()).select_from(Job).where(Job.kind == CHANNEL_EVENT))).one()
    return sorted(ids), jobs


async def test_webhooks_stored_together_keep_each_one_its_own_answer(db):
    """Merged into one INSERT, each webhook still hears whether its update was new: an update
    delivered twice at once (Telegram retrying while the first is stored) is new exactly once,
    and one that was stored before is not new again."""
    agent_id = await _agent(db)
    raw, events = _update(1)
    assert await db.run(StoreEvents([EventBatch(agent_id, "telegram", events, raw=raw)]), share=True) == 1

    deliveries = [1, 2, 3, 2, 4, 3, 5]
    stored = await asyncio.gather(*(
        db.run(StoreEvents([EventBatch(agent_id, "telegram", _update(n)[1], raw=_update(n)[0])]), share=True)
        for n in deliveries))

    assert sorted(zip(deliveries, stored, strict=True)) == [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (4, 1), (5, 1)]
    ids, jobs = await _events(db)
    assert ids == [f"update:{n}" for n in range(1, 6)]
    assert jobs == 5  # one answer each, however many deliveries


async def test_a_webhook_that_fails_among_merged_ones_fails_alone(db):
    agent_id = await _agent(db)
    units = [StoreEvents([EventBatch(agent_id if n != 4 else 999_999, "telegram", _update(n)[1], raw=_update(n)[0])])
             for n in range(10)]  # agent 999999 does not exist: its insert breaks the foreign key
    outcomes = await asyncio.gather(*(db.run(unit, share=True) for unit in units), return_exceptions=True)

    assert isinstance(outcomes[4], IntegrityError)
    assert [o for i, o in enumerate(outcomes) if i != 4] == [1] * 9
    ids, jobs = await _events(db)
    assert ids == sorted(f"update:{n}" for n in range(10) if n != 4)
    assert jobs == 9
