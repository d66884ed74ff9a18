"""A worker process for the crash tests: `python -m tests.job_worker DB_URL DATA_DIR LOG`.

Registers one job kind that writes "start" and "finish" lines (with this process's pid)
to LOG around a pause, so a test can kill the process in the middle of a job.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from botcraft.config import Settings
from botcraft.db import Database
from botcraft.jobs.queue import ClaimedJob
from botcraft.jobs.registry import handler
from botcraft.jobs.worker import Worker
from botcraft.runtime import Runtime

LOG = Path(sys.argv[3])


@handler("record")
async def record(runtime: Runtime, job: ClaimedJob) -> None:
    with LOG.open("a") as fh:
        fh.write(f"start {job.payload['n']} {os.getpid()}\n")
    await asyncio.sleep(float(job.payload.get("seconds", 0)))
    with LOG.open("a") as fh:
        fh.write(f"finish {job.payload['n']} {os.getpid()}\n")


async def main() -> None:
    settings = Settings(_env_file=None, DATABASE_URL=sys.argv[1], DATA_DIR=Path(sys.argv[2]),  # type: ignore[call-arg]
                        JWT_SECRET_KEY="x" * 40).finalize()
    db = Database(settings.resolved_database_url)
    worker = Worker(Runtime(settings, db), concurrency=4, poll_interval=0.1, lease_seconds=float(sys.argv[4]))
    worker.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
