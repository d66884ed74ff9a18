"""Workers: claim jobs, run their handlers, renew leases, retry or bury failures.

Run inside `serve` (WORKERS_IN_SERVE) and as separate processes (`botcraft worker`).
Stopping gracefully finishes the jobs in hand within a grace period and releases the rest,
so another worker takes them at once instead of waiting for the lease to run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import socket
import traceback
from typing import Any

import structlog

from botcraft.jobs import queue
from botcraft.jobs.registry import DEAD_HANDLERS, HANDLERS, PermanentJobError, RetryLater
from botcraft.metrics.instruments import JOBS_FINISHED
from botcraft.runtime import Runtime

log = structlog.get_logger("botcraft.jobs")


class Worker:
    def __init__(
        self,
        runtime: Runtime,
        *,
        concurrency: int = 16,
        poll_interval: float = 0.5,
        lease_seconds: float | None = None,
    ) -> None:
        self.runtime = runtime
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease_seconds = lease_seconds or runtime.settings.job_lease_seconds
        self.id = f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(3)}"
        self._inflight: dict[int, tuple[queue.ClaimedJob, asyncio.Task[None]]] = {}
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._main: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._main = asyncio.create_task(self._run(), name=f"worker {self.id}")

    async def _run(self) -> None:
        self.runtime.db.wakeup.register(self._wake)
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            while not self._stopping.is_set():
                # Cleared before claiming: a job committed while the claim runs sets it
                # again, so that wake-up is not lost.
                self._wake.clear()
                free = self.concurrency - len(self._inflight)
                claimed: list[queue.ClaimedJob] = []
                # Claim in batches: one claim per finished job would cost a write each.
                if free > 0 and (free >= max(1, self.concurrency // 4) or not self._inflight):
                    try:
                        claimed = await queue.claim(
                            self.runtime.db, self.id, limit=free, lease_seconds=self.lease_seconds
                        )
                    except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
                        log.exception("claim_failed", worker=self.id)
                        await asyncio.sleep(self.poll_interval)
                for job in claimed:
                    task = asyncio.create_task(self._execute(job))
                    self._inflight[job.id] = (job, task)
                    task.add_done_callback(functools.partial(self._done, job.id))
                if claimed and len(self._inflight) < self.concurrency:
                    continue  # there may be more waiting
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        finally:
            self.runtime.db.wakeup.unregister(self._wake)
            heartbeat.cancel()

    def _done(self, job_id: int, _task: asyncio.Task[None]) -> None:
        self._inflight.pop(job_id, None)
        self._wake.set()  # a slot is free

    async def _execute(self, job: queue.ClaimedJob) -> None:
        structlog.contextvars.bind_contextvars(job_id=job.id, job_kind=job.kind)
        handler = HANDLERS.get(job.kind)
        try:
            if handler is None:
                raise PermanentJobError(f"no handler for job kind {job.kind!r}")
            await handler(self.runtime, job)
        except asyncio.CancelledError:
            raise  # shutdown: stop() releases the job
        except queue.LeaseLost:
            log.info("job_lease_lost", attempt=job.attempts)  # another worker finishes it
        except PermanentJobError as exc:
            await self._fail(job, str(exc), retry=False)
        except RetryLater as exc:
            outcome = await queue.fail(self.runtime.db, job, self.id, str(exc), retry=True, delay_seconds=exc.seconds)
            JOBS_FINISHED.labels(job.kind, "dead" if outcome == queue.DEAD else "retry").inc()
            if outcome == queue.DEAD:  # asked to wait once too often: the same trace as any death
                log.error("job_dead", attempts=job.attempts, error=str(exc))
                await self._after_death(job.kind, job.payload, str(exc))
        except Exception as exc:  # noqa: BLE001 - any failure is recorded on the job
            detail = f"{type(exc).__name__}: {exc}"
            log.warning("job_failed", attempt=job.attempts, error=detail, tb=traceback.format_exc(limit=5))
            await self._fail(job, detail, retry=True)
        else:
            if not job.completed:
                with contextlib.suppress(queue.LeaseLost):  # another worker holds it: theirs to finish
                    await self.runtime.db.run(functools.partial(queue.complete_in, job=job))
            JOBS_FINISHED.labels(job.kind, "done").inc()
        finally:
            structlog.contextvars.unbind_contextvars("job_id", "job_kind")

    async def _fail(self, job: queue.ClaimedJob, error: str, *, retry: bool) -> None:
        outcome = await queue.fail(self.runtime.db, job, self.id, error, retry=retry)
        JOBS_FINISHED.labels(job.kind, "dead" if outcome == queue.DEAD else "retry").inc()
        if outcome == queue.DEAD:
            log.error("job_dead", attempts=job.attempts, error=error)
            await self._after_death(job.kind, job.payload, error)

    async def _after_death(self, kind: str, payload: dict[str, Any], error: str) -> None:
        on_dead = DEAD_HANDLERS.get(kind)
        if on_dead is None:
            return
        try:
            await on_dead(self.runtime, payload, error)
        except Exception:  # noqa: BLE001 - the job is dead already; the trace is the log
            log.exception("on_dead_failed", job_kind=kind)

    async def _heartbeat(self) -> None:
        beats = 0
        while True:
            await asyncio.sleep(max(0.2, self.lease_seconds / 3))
            beats += 1
            try:
                await queue.renew(self.runtime.db, list(self._inflight), self.id, self.lease_seconds)
                if beats % 10 == 0:
                    for kind, payload in await queue.bury_exhausted(self.runtime.db):
                        log.error("job_dead", job_kind=kind, error=queue.BURIED_ERROR)
                        await self._after_death(kind, payload, queue.BURIED_ERROR)
            except Exception:  # noqa: BLE001 - retried on the next beat
                log.exception("lease_renewal_failed", worker=self.id)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._main is not None:
            await self._main
        pending = [task for _, task in self._inflight.values()]
        if pending:
            await asyncio.wait(pending, timeout=grace_seconds)
        for job, task in list(self._inflight.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            await queue.release(self.runtime.db, job, self.id)
            log.info("job_released", job_id=job.id, job_kind=job.kind)
        self._inflight.clear()


class WorkerPool:
    def __init__(self, runtime: Runtime, count: int, **options: float) -> None:
        self.workers = [Worker(runtime, **options) for _ in range(count)]  # type: ignore[arg-type]

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    async def stop(self, grace_seconds: float = 10.0) -> None:
        await asyncio.gather(*(w.stop(grace_seconds) for w in self.workers))
