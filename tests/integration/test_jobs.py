"""The durable job queue: claiming, leases, retries, dead jobs, crash recovery."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from botcraft.db import Database
from botcraft.jobs import queue
from botcraft.jobs.registry import PermanentJobError, handler
from botcraft.jobs.worker import Worker
from botcraft.models import Job, utcnow
from botcraft.runtime import Runtime

CALLS: list[tuple[str, int]] = []


@handler("test_ok")
async def _ok(runtime, job):
    CALLS.append(("ok", job.payload["n"]))


@handler("test_flaky")
async def _flaky(runtime, job):
    CALLS.append(("flaky", job.attempts))
    if job.attempts < 2:
        raise RuntimeError("сервис временно недоступен")


@handler("test_broken")
async def _broken(runtime, job):
    raise PermanentJobError("файл повреждён")


@handler("test_slow")
async def _slow(runtime, job):
    await asyncio.sleep(30)


@pytest.fixture
async def runtime(settings):
    db = Database(settings.resolved_database_url)
    rt = Runtime(settings, db)
    CALLS.clear()
    yield rt
    await rt.close()
    await db.dispose()


async def _enqueue(db: Database, kind: str, n: int = 0, seconds: float = 0, **kw) -> int:
    async with db.transaction() as session:
        job = queue.enqueue(session, kind, {"n": n, "seconds": seconds}, **kw)
        await session.flush()
        return job.id


async def _job(db: Database, job_id: int) -> Job:
    async with db.transaction(write=False) as session:
        return await session.get(Job, job_id)


async def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_a_committed_job_runs_and_is_marked_done(runtime):
    worker = Worker(runtime, poll_interval=5)  # a long poll: the commit must wake it
    worker.start()
    job_id = await _enqueue(runtime.db, "test_ok", 7)

    async def done():
        return (await _job(runtime.db, job_id)).status == "done"

    await _wait_for(done, timeout=3)
    await worker.stop()
    assert CALLS == [("ok", 7)]


async def test_a_rolled_back_job_never_exists(runtime):
    with pytest.raises(RuntimeError):
        async with runtime.db.transaction() as session:
            queue.enqueue(session, "test_ok", {"n": 1})
            await session.flush()
            raise RuntimeError("the request failed")
    async with runtime.db.transaction(write=False) as session:
        assert (await session.scalars(select(Job))).all() == []


async def test_concurrent_claims_never_share_a_job(runtime):
    async with runtime.db.transaction() as session:
        for n in range(120):
            queue.enqueue(session, "test_ok", {"n": n})
    claimed = await asyncio.gather(
        *(queue.claim(runtime.db, f"w{i}", limit=7, lease_seconds=30) for i in range(12))
    )
    ids = [job.id for batch in claimed for job in batch]
    assert len(ids) == len(set(ids)) == 84


async def test_failures_retry_with_backoff_then_succeed(runtime):
    job_id = await _enqueue(runtime.db, "test_flaky")
    worker = Worker(runtime, poll_interval=0.05)
    worker.start()

    async def retried():
        job = await _job(runtime.db, job_id)
        return job.status == "queued" and job.attempts == 1

    await _wait_for(retried)
    job = await _job(runtime.db, job_id)
    assert "сервис временно недоступен" in job.last_error
    assert job.run_at > utcnow()  # backing off, not a hot loop
    async with runtime.db.transaction() as session:  # skip the wait
        await session.execute(update(Job).where(Job.id == job_id).values(run_at=utcnow()))
    runtime.db.wakeup.notify()

    async def done():
        return (await _job(runtime.db, job_id)).status == "done"

    await _wait_for(done)
    await worker.stop()
    assert CALLS == [("flaky", 1), ("flaky", 2)]


async def test_last_failure_leaves_a_dead_job_with_its_error(runtime):
    permanent = await _enqueue(runtime.db, "test_broken")
    exhausted = await _enqueue(runtime.db, "test_flaky", max_attempts=1)
    unknown = await _enqueue(runtime.db, "no_such_kind")
    worker = Worker(runtime, poll_interval=0.05)
    worker.start()

    async def all_dead():
        return all([(await _job(runtime.db, j)).status == "dead" for j in (permanent, exhausted, unknown)])

    await _wait_for(all_dead)
    await worker.stop()
    assert (await _job(runtime.db, permanent)).last_error == "файл повреждён"
    assert (await _job(runtime.db, permanent)).attempts == 1
    assert "сервис временно недоступен" in (await _job(runtime.db, exhausted)).last_error
    assert "no handler" in (await _job(runtime.db, unknown)).last_error


async def test_an_expired_lease_is_taken_again(runtime):
    job_id = await _enqueue(runtime.db, "test_ok", 3)
    [job] = await queue.claim(runtime.db, "dead-worker", limit=1, lease_seconds=30)
    assert await queue.claim(runtime.db, "other", limit=5, lease_seconds=30) == []
    async with runtime.db.transaction() as session:
        await session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    [again] = await queue.claim(runtime.db, "other", limit=5, lease_seconds=30)
    assert again.id == job.id and again.attempts == 2
    # The first worker, back from the dead, cannot mark it done any more (nor commit its effect).
    with pytest.raises(queue.LeaseLost):
        await runtime.db.run(functools.partial(queue.complete_in, job=job))
    async with runtime.db.transaction(write=False) as session:
        assert (await session.get(Job, job_id)).status == "running"


async def test_a_lease_renewal_passes_over_a_job_its_own_transaction_is_writing(runtime):
    """On PostgreSQL a renewal that waited for a locked job row deadlocked with the shared
    group completing jobs in another order; it renews the others and leaves that one."""
    if runtime.db.is_sqlite:
        pytest.skip("SQLite has one writer at a time: no row locks to wait on")
    first, second = await _enqueue(runtime.db, "test_ok", 1), await _enqueue(runtime.db, "test_ok", 2)
    claimed = await queue.claim(runtime.db, "worker-1", limit=2, lease_seconds=5)
    assert sorted(job.id for job in claimed) == [first, second]
    leases = {job_id: (await _job(runtime.db, job_id)).lease_expires_at for job_id in (first, second)}

    async with runtime.db.engine.connect() as completing:  # the job's own transaction, mid-write
        await completing.execute(select(Job.id).where(Job.id == first).with_for_update())
        await asyncio.wait_for(queue.renew(runtime.db, [first, second], "worker-1", lease_seconds=60), 2)
        await completing.rollback()

    assert (await _job(runtime.db, first)).lease_expires_at == leases[first]
    assert (await _job(runtime.db, second)).lease_expires_at > leases[second] + timedelta(seconds=30)


async def test_graceful_stop_releases_unfinished_jobs(runtime):
    job_id = await _enqueue(runtime.db, "test_slow")
    worker = Worker(runtime, poll_interval=0.05)
    worker.start()

    async def running():
        return (await _job(runtime.db, job_id)).status == "running"

    await _wait_for(running)
    await worker.stop(grace_seconds=0.2)
    job = await _job(runtime.db, job_id)
    assert job.status == "queued" and job.locked_by is None and job.attempts == 0


def _start_worker(settings, log: Path, lease: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.job_worker", settings.resolved_database_url, str(settings.data_dir), str(log), str(lease)],
        cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout.readline().strip() == "ready"
    return process


async def test_a_job_whose_worker_is_killed_completes_once_on_another(runtime, settings, tmp_path):
    log = tmp_path / "jobs.log"
    log.touch()
    first = _start_worker(settings, log, lease=1.5)
    job_id = await _enqueue(runtime.db, "record", 1, seconds=1.0)
    try:
        deadline = time.monotonic() + 10
        while "start 1" not in log.read_text():
            assert time.monotonic() < deadline, "the first worker never started the job"
            await asyncio.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        second = _start_worker(settings, log, lease=1.5)
        try:
            async def done():
                return (await _job(runtime.db, job_id)).status == "done"

            await _wait_for(done, timeout=20)
        finally:
            second.kill()
            second.wait()
    finally:
        first.kill()
    lines = log.read_text().splitlines()
    finishes = [line for line in lines if line.startswith("finish")]
    assert len(finishes) == 1, lines
    assert finishes[0].split()[2] != str(first.pid)  # finished by the second worker
    job = await _job(runtime.db, job_id)
    assert job.attempts == 2
