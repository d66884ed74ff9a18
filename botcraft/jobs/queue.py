"""The durable job queue: rows in `jobs`, claimed under a lease.

- enqueue() adds a row in the caller's transaction, so a job exists exactly when the work
  it concerns was committed; the in-process workers are woken after the commit.
- claim() is one atomic statement: `FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the
  write transaction (BEGIN IMMEDIATE) makes the UPDATE ... RETURNING atomic.
- A job whose worker died is claimable again once its lease has run out.
- Failures retry with exponential backoff and jitter; the last failure leaves it `dead`
  with its error, never silently dropped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.db import Database, after_commit
from botcraft.metrics.instruments import JOB_CLAIM_LATENCY
from botcraft.models import Job, utcnow

QUEUED, RUNNING, DONE, DEAD = "queued", "running", "done", "dead"


@dataclass(slots=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    worker_id: str = ""
    completed: bool = False

    async def complete_in(self, session: AsyncSession) -> bool:
        """Mark done in the handler's own transaction, so its effect and `done` commit together.

        False means another worker holds the job now (this one's lease ran out): the caller
        should then not commit its effect.
        """
        self.completed = await complete(session, self, self.worker_id)
        return self.completed


class Wakeup:
    """Wakes this process's idle workers when a job is committed (others poll)."""

    def __init__(self) -> None:
        self._waiters: list[Any] = []

    def register(self, event: Any) -> None:
        self._waiters.append(event)

    def unregister(self, event: Any) -> None:
        if event in self._waiters:
            self._waiters.remove(event)

    def notify(self) -> None:
        for event in self._waiters:
            event.set()


wakeup = Wakeup()


def enqueue(
    db: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    delay_seconds: float = 0,
    max_attempts: int = 5,
) -> Job:
    job = Job(
        kind=kind,
        payload=payload,
        max_attempts=max_attempts,
        run_at=utcnow() + timedelta(seconds=delay_seconds),
    )
    db.add(job)
    after_commit(db, wakeup.notify)
    return job


def backoff_seconds(attempt: int, *, base: float = 2.0, cap: float = 600.0) -> float:
    """Exponential backoff with full jitter: spreads retries of jobs that failed together."""
    return random.uniform(base / 2, min(cap, base * 2 ** (attempt - 1)))


async def claim(db: Database, worker_id: str, *, limit: int, lease_seconds: float) -> list[ClaimedJob]:
    now = utcnow()
    claimable = (
        select(Job.id)
        .where(
            or_(
                and_(Job.status == QUEUED, Job.run_at <= now),
                # The lease ran out: its worker died or hung.
                and_(Job.status == RUNNING, Job.lease_expires_at < now, Job.attempts < Job.max_attempts),
            )
        )
        .order_by(Job.run_at, Job.id)
        .limit(limit)
    )
    if not db.is_sqlite:
        claimable = claimable.with_for_update(skip_locked=True)
    statement = (
        update(Job)
        .where(Job.id.in_(claimable.scalar_subquery()))
        .values(
            status=RUNNING,
            locked_by=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=Job.attempts + 1,
        )
        .returning(Job.id, Job.kind, Job.payload, Job.attempts, Job.max_attempts, Job.run_at)
        .execution_options(synchronize_session=False)
    )
    async with db.transaction() as session:
        rows = (await session.execute(statement)).all()
    for row in rows:
        JOB_CLAIM_LATENCY.labels(row[1]).observe(max(0.0, (now - row[5]).total_seconds()))
    return [
        ClaimedJob(id=r[0], kind=r[1], payload=r[2], attempts=r[3], max_attempts=r[4], worker_id=worker_id)
        for r in sorted(rows, key=lambda r: r[0])
    ]


async def bury_exhausted(db: Database) -> int:
    """Jobs whose workers died on every attempt end dead instead of being retried forever."""
    async with db.transaction() as session:
        result = await session.execute(
            update(Job)
            .where(Job.status == RUNNING, Job.lease_expires_at < utcnow(), Job.attempts >= Job.max_attempts)
            .values(
                status=DEAD,
                locked_by=None,
                finished_at=utcnow(),
                last_error="The worker stopped in the middle of this job on every attempt.",
            )
            .execution_options(synchronize_session=False)
        )
    return int(getattr(result, "rowcount", 0) or 0)


def _owned(job_id: int, worker_id: str) -> Any:
    return and_(Job.id == job_id, Job.locked_by == worker_id, Job.status == RUNNING)


async def complete(session: AsyncSession, job: ClaimedJob, worker_id: str) -> bool:
    """Mark done inside the handler's own transaction when it has one, so both commit together."""
    result = await session.execute(
        update(Job)
        .where(_owned(job.id, worker_id))
        .values(status=DONE, locked_by=None, lease_expires_at=None, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def fail(
    db: Database, job: ClaimedJob, worker_id: str, error: str, *, retry: bool = True,
    delay_seconds: float | None = None,
) -> str:
    final = not retry or job.attempts >= job.max_attempts
    values: dict[str, Any] = {"locked_by": None, "lease_expires_at": None, "last_error": error[:4000]}
    if final:
        values |= {"status": DEAD, "finished_at": utcnow()}
    else:
        delay = delay_seconds if delay_seconds is not None else backoff_seconds(job.attempts)
        values |= {"status": QUEUED, "run_at": utcnow() + timedelta(seconds=delay)}
    async with db.transaction() as session:
        await session.execute(
            update(Job).where(_owned(job.id, worker_id)).values(**values).execution_options(synchronize_session=False)
        )
    return DEAD if final else QUEUED


async def release(db: Database, job: ClaimedJob, worker_id: str) -> None:
    """Give a job back untouched (graceful shutdown): claimable again at once, attempt not counted."""
    async with db.transaction() as session:
        await session.execute(
            update(Job)
            .where(_owned(job.id, worker_id))
            .values(status=QUEUED, locked_by=None, lease_expires_at=None, attempts=Job.attempts - 1, run_at=utcnow())
            .execution_options(synchronize_session=False)
        )


async def renew(db: Database, job_ids: list[int], worker_id: str, lease_seconds: float) -> None:
    if not job_ids:
        return
    async with db.transaction() as session:
        await session.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.locked_by == worker_id, Job.status == RUNNING)
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
