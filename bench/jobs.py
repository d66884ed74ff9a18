"""Job claim latency on SQLite and PostgreSQL, against a SELECT 1 round trip in the same run.

- idle worker, same process: enqueue one job (the product's enqueue(), committed, which wakes
  the in-process workers) and time commit -> handler start; one job at a time.
- idle worker, another process: the job row is inserted without the in-process wake-up
  (as when `botcraft worker` runs apart from `serve`), so the worker finds it by polling.
- backlog: the claim statement (queue.claim, limit 1 and 16) with 10,000 queued jobs.
Workers run on uvloop, as under `botcraft serve`.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from sqlalchemy import insert, text

from bench.common import goal, make_settings, new_database_url, run_async, summary_ms, workdir, write_result

KIND = "bench_noop"
N_IDLE = 300
N_POLL = 12
N_BACKLOG = 10_000
N_CLAIMS = 300
N_SELECT = 1000


async def _measure(kind: str) -> dict[str, Any]:
    from botcraft.db import Database
    from botcraft.jobs import queue
    from botcraft.jobs.registry import HANDLERS
    from botcraft.jobs.worker import WorkerPool
    from botcraft.models import Job, utcnow
    from botcraft.runtime import Runtime

    work = workdir(f"jobs-{kind}")
    url = await new_database_url(kind, work)
    settings = make_settings(work / "data", url)
    db = Database(url)
    runtime = Runtime(settings, db)
    started: dict[int, float] = {}
    arrived = asyncio.Event()

    async def noop(_runtime: Any, job: Any) -> None:
        started[job.payload["n"]] = time.perf_counter()
        arrived.set()

    HANDLERS[KIND] = noop
    result: dict[str, Any] = {}
    try:
        # Baseline: the same session path as everything else.
        async def select1(write: bool) -> list[float]:
            times = []
            for _ in range(N_SELECT):
                t0 = time.perf_counter()
                async with db.transaction(write=write) as session:
                    await session.execute(text("SELECT 1"))
                times.append(time.perf_counter() - t0)
            return times

        await select1(False)
        result["baseline_select1_read_txn"] = summary_ms(await select1(False))
        result["baseline_select1_write_txn"] = summary_ms(await select1(True))

        pool = WorkerPool(runtime, 1, poll_interval=0.5)
        pool.start()
        await asyncio.sleep(0.3)
        commit_to_start, enqueue_to_start = [], []
        for n in range(N_IDLE):
            arrived.clear()
            t0 = time.perf_counter()
            async with db.transaction() as session:
                queue.enqueue(session, KIND, {"n": n})
                t_commit_begin = time.perf_counter()
            # run_after_commit (the wake-up) has run when the context exits.
            await asyncio.wait_for(arrived.wait(), 10)
            enqueue_to_start.append(started[n] - t0)
            commit_to_start.append(started[n] - t_commit_begin)
        result["idle_worker_same_process"] = {
            "enqueue_to_handler_start": summary_ms(enqueue_to_start),
            "commit_to_handler_start": summary_ms(commit_to_start),
        }

        polled = []
        rng = random.Random(3)
        for n in range(N_IDLE, N_IDLE + N_POLL):
            # Let the worker finish the last job and fall asleep, then insert at a random phase.
            await asyncio.sleep(0.6 + rng.random() * 0.5)
            arrived.clear()
            async with db.transaction() as session:
                session.add(Job(kind=KIND, payload={"n": n}, max_attempts=5, run_at=utcnow()))
            t0 = time.perf_counter()
            await asyncio.wait_for(arrived.wait(), 10)
            polled.append(started[n] - t0)
        result["idle_worker_other_process_polling"] = {
            "poll_interval_s": 0.5,
            "commit_to_handler_start": summary_ms(polled),
        }
        await pool.stop()

        # Backlog: 10k queued jobs; time the claim statement itself.
        now = utcnow()
        rows = [
            {
                "kind": KIND,
                "payload": {"n": -1},
                "status": "queued",
                "attempts": 0,
                "max_attempts": 5,
                "run_at": now,
                "created_at": now,
            }
            for _ in range(N_BACKLOG)
        ]
        async with db.transaction() as session:
            for i in range(0, len(rows), 2000):
                await session.execute(insert(Job), rows[i : i + 2000])
        if not db.is_sqlite:
            async with db.engine.connect() as conn:
                await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("ANALYZE jobs"))
        claims: dict[int, list[float]] = {1: [], 16: []}
        for limit in (1, 16):
            for _ in range(N_CLAIMS // (1 if limit == 1 else 4)):
                t0 = time.perf_counter()
                got = await queue.claim(db, "bench-worker", limit=limit, lease_seconds=60)
                claims[limit].append(time.perf_counter() - t0)
                assert len(got) == limit
        async with db.transaction(write=False) as session:
            left = (await session.execute(text("SELECT count(*) FROM jobs WHERE status = 'queued'"))).scalar()
        result["claim_statement_with_backlog"] = {
            "queued_jobs_at_start": N_BACKLOG,
            "queued_jobs_at_end": left,
            "limit_1": summary_ms(claims[1]),
            "limit_16": summary_ms(claims[16]),
        }
        base = result["baseline_select1_write_txn"]["p50_ms"]
        result["ratios_to_select1_write_txn_p50"] = {
            "idle_claim_latency_p50": round(
                result["idle_worker_same_process"]["commit_to_handler_start"]["p50_ms"] / base, 2
            ),
            "backlog_claim_limit1_p50": round(result["claim_statement_with_backlog"]["limit_1"]["p50_ms"] / base, 2),
        }
    finally:
        HANDLERS.pop(KIND, None)
        await runtime.close()
        await db.dispose()
    return result


def run() -> dict[str, Any]:
    figures = {kind: run_async(_measure(kind)) for kind in ("sqlite", "postgresql")}
    ok = all(
        f["idle_worker_same_process"]["commit_to_handler_start"]["p99_ms"] < 50
        and f["claim_statement_with_backlog"]["limit_1"]["p99_ms"] < 50
        for f in figures.values()
    )
    return write_result(
        "jobs",
        {
            "setup": {
                "worker": "WorkerPool(runtime, 1, poll_interval=0.5), concurrency 16, uvloop",
                "handler": "no-op that records its start time",
                "idle_jobs": N_IDLE,
                "polling_jobs": N_POLL,
                "backlog": N_BACKLOG,
            },
            **figures,
            "goal": goal("no numeric goal in the issue; here: idle claim p99 and backlog claim p99 under 50 ms", ok),
        },
    )
