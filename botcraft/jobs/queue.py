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

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft import backoff
from botcraft.db import Database, wake_after_commit
from botcraft.metrics.instruments import JOB_CLAIM_LATENCY
from botcraft.models import Job, table_of, utcnow

QUEUED, RUNNING, DONE, DEAD = "queued", "running", "done", "dead"
_JOBS = table_of(Job)
# Built once, executed with parameters: the message path enqueues and completes a job per
# message (db.per_dialect says why that matters).
_INSERT_JOB = insert(_JOBS)
_COMPLETE_JOB = update(_JOBS).where(
    _JOBS.c.id == bindparam("job_id"), _JOBS.c.locked_by == bindparam("worker_id"), _JOBS.c.status == RUNNING)


@dataclass(slots=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    worker_id: str = ""
    completed: bool = False



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
    wake_after_commit(db)
    return job


def _job_row(kind: str, payload: dict[str, Any], now: datetime, *, max_attempts: int = 5,
             delay_seconds: float = 0) -> dict[str, Any]:
    return {"kind": kind, "payload": payload, "status": QUEUED, "attempts": 0, "max_attempts": max_attempts,
            "run_at": now + timedelta(seconds=delay_seconds), "created_at": now}


def enqueue_in(connection: Connection, kind: str, payload: dict[str, Any], *, max_attempts: int = 5,
               delay_seconds: float = 0) -> None:
    """enqueue() for a unit of `Database.run`: one INSERT; the caller wakes the workers after it."""
    connection.execute(_INSERT_JOB, _job_row(kind, payload, utcnow(), max_attempts=max_attempts,
                                             delay_seconds=delay_seconds))


def enqueue_many_in(connection: Connection, kind: str, payloads: list[dict[str, Any]]) -> None:
    """enqueue_in() for many jobs of one kind at once: one executemany (nothing for none)."""
    if payloads:
        now = utcnow()
        connection.execute(_INSERT_JOB, [_job_row(kind, payload, now) for payload in payloads])


class LeaseLost(Exception):
    """This worker's lease ran out and another worker holds the job: its effect must not commit."""


def complete_in(connection: Connection, job: ClaimedJob, *, keep: dict[str, Any] | None = None) -> None:
    """Mark `job` done inside a unit of `Database.run`, so its effect and `done` commit together.

    `keep` replaces the payload kept with the finished job (a payload with secrets in it
    keeps only its ids). Raises LeaseLost (rolling the unit back) when another worker holds
    the job now.
    """
    values: dict[str, Any] = {"job_id": job.id, "worker_id": job.worker_id, "status": DONE, "locked_by": None,
                              "lease_expires_at": None, "finished_at": utcnow()}
    if keep is not None:
        values["payload"] = keep
    result = connection.execute(_COMPLETE_JOB, values)
    if not result.rowcount:
        raise LeaseLost(f"job {job.id} is held by another worker now")
    job.completed = True


def backoff_seconds(attempt: int) -> float:
    """A failed job's wait before its next attempt: 2 s, 4 s, 8 s... up to 10 minutes, jittered."""
    return backoff.backoff_seconds(attempt, base=2.0, cap=600.0)


def _claim_statement(*, skip_locked: bool) -> Any:
    claimable = (
        select(_JOBS.c.id)
        .where(
            or_(
                and_(_JOBS.c.status == QUEUED, _JOBS.c.run_at <= bindparam("now")),
                # The lease ran out: its worker died or hung.
                and_(_JOBS.c.status == RUNNING, _JOBS.c.lease_expires_at < bindparam("now"),
                     _JOBS.c.attempts < _JOBS.c.max_attempts),
            )
        )
        .order_by(_JOBS.c.run_at, _JOBS.c.id)
        .limit(bindparam("limit"))
    )
    if skip_locked:
        claimable = claimable.with_for_update(skip_locked=True)
    return (
        update(_JOBS)
        .where(_JOBS.c.id.in_(claimable.scalar_subquery()))
        .values(status=RUNNING, locked_by=bindparam("worker_id"), lease_expires_at=bindparam("lease_until"),
                attempts=_JOBS.c.attempts + 1)
        .returning(_JOBS.c.id, _JOBS.c.kind, _JOBS.c.payload, _JOBS.c.attempts, _JOBS.c.max_attempts,
                   _JOBS.c.run_at)
    )


# SQLite's write transaction already makes the claim atomic; PostgreSQL skips rows being claimed.
_CLAIM = {"sqlite": _claim_statement(skip_locked=False), "postgresql": _claim_statement(skip_locked=True)}


async def claim(db: Database, worker_id: str, *, limit: int, lease_seconds: float) -> list[ClaimedJob]:
    now = utcnow()
    parameters = {"now": now, "limit": limit, "worker_id": worker_id,
                  "lease_until": now + timedelta(seconds=lease_seconds)}

    def unit(connection: Connection) -> list[Any]:
        return list(connection.execute(_CLAIM[db.dialect], parameters).all())

    rows = await db.run(unit)
    for row in rows:
        JOB_CLAIM_LATENCY.labels(row[1]).observe(max(0.0, (now - row[5]).total_seconds()))
    return [
        ClaimedJob(id=r[0], kind=r[1], payload=r[2], attempts=r[3], max_attempts=r[4], worker_id=worker_id)
        for r in sorted(rows, key=lambda r: r[0])
    ]


BURIED_ERROR = "The worker stopped in the middle of this job on every attempt."


async def bury_exhausted(db: Database) -> list[tuple[str, dict[str, Any]]]:
    """Jobs whose workers died on every attempt end dead instead of being retried forever.

    Returns the buried jobs' (kind, payload), for their on-dead handlers.
    """
    rows = await db.run(partial(_rows, statement=(
        update(Job)
        .where(Job.status == RUNNING, Job.lease_expires_at < utcnow(), Job.attempts >= Job.max_attempts)
        .values(status=DEAD, locked_by=None, finished_at=utcnow(), last_error=BURIED_ERROR)
        .returning(Job.kind, Job.payload)
    )))
    return [(kind, payload) for kind, payload in rows]


def _owned(job_id: int, worker_id: str) -> Any:
    return and_(Job.id == job_id, Job.locked_by == worker_id, Job.status == RUNNING)


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
    await db.run(partial(_rows, statement=update(Job).where(_owned(job.id, worker_id)).values(**values)))
    return DEAD if final else QUEUED


async def release(db: Database, job: ClaimedJob, worker_id: str) -> None:
    """Give a job back untouched (graceful shutdown): claimable again at once, attempt not counted."""
    await db.run(partial(_rows, statement=(
        update(Job)
        .where(_owned(job.id, worker_id))
        .values(status=QUEUED, locked_by=None, lease_expires_at=None, attempts=Job.attempts - 1, run_at=utcnow())
    )))


async def renew(db: Database, job_ids: list[int], worker_id: str, lease_seconds: float) -> None:
    """Extend the leases of this worker's running jobs, except those whose rows are locked now.

    A locked row is being written by its own job's transaction (its completion, in a shared
    group on PostgreSQL), which ends the lease anyway, or is renewed at the next beat. Waiting
    for it instead locked the jobs in another order than the group did: each deadlock cost a
    second (PostgreSQL's deadlock_timeout) and rolled a group of webhooks and answers back.
    """
    if not job_ids:
        return
    mine = (select(Job.id).where(Job.id.in_(job_ids), Job.locked_by == worker_id, Job.status == RUNNING)
            .with_for_update(skip_locked=True))
    await db.run(partial(_rows, statement=(
        update(Job).where(Job.id.in_(mine)).values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
    )))


def _rows(connection: Connection, statement: Any) -> list[Any]:
    """One statement as a unit of `Database.run` (shares the group commit with the message path)."""
    result = connection.execute(statement)
    return list(result.all()) if result.returns_rows else []
