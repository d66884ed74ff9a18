"""The background parts of a process, started and stopped together.

`serve` runs everything (API, workers, Telegram pollers); `botcraft worker` runs workers only.
"""

from __future__ import annotations

from botcraft.channels.manager import ChannelManager
from botcraft.channels.telegram_polling import PollingSupervisor
from botcraft.jobs import kinds as _job_kinds  # noqa: F401 - registers every job handler
from botcraft.jobs.worker import WorkerPool
from botcraft.runtime import Runtime


class Background:
    def __init__(self, runtime: Runtime, *, workers: int, concurrency: int, polling: bool) -> None:
        self.runtime = runtime
        self.manager = ChannelManager(runtime)
        runtime.services["channels"] = self.manager
        self.workers = WorkerPool(runtime, workers, concurrency=concurrency)
        self.polling = (
            PollingSupervisor(runtime, self.manager, poll_timeout=runtime.settings.telegram_poll_timeout)
            if polling else None
        )

    def start(self) -> None:
        self.workers.start()
        if self.polling is not None:
            self.polling.start()

    async def stop(self, grace_seconds: float = 10.0) -> None:
        if self.polling is not None:
            await self.polling.aclose()
        await self.workers.stop(grace_seconds)
