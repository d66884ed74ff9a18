"""Database.run's group commit: webhooks that arrive together share one transaction, and one
that fails loses none of the others' messages (on both databases)."""

from __future__ import annotations

import asyncio
import functools

import pytest
from sqlalchemy import func, select

from botcraft.db import Database
from botcraft.jobs import queue
from botcraft.models import Job


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
