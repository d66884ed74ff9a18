"""The background parts of a process, started and stopped together.

`serve` runs everything (API, workers, Telegram pollers, the platform bot); `botcraft worker`
runs workers only.
"""

from __future__ import annotations

from botcraft.channels.manager import ChannelManager
from botcraft.channels.platform_bot import PlatformBot
from botcraft.channels.telegram_polling import PollingSupervisor
from botcraft.jobs import kinds as _job_kinds  # noqa: F401 - registers every job handler
from botcraft.jobs.worker import WorkerPool
from botcraft.owner.telegram_updates import OwnerUpdates
from botcraft.runtime import Runtime


class Background:
    def __init__(self, runtime: Runtime, *, workers: int, concurrency: int, serve: bool) -> None:
        self.runtime = runtime
        self.manager = ChannelManager(runtime)
        runtime.services["channels"] = self.manager
        self.workers = WorkerPool(runtime, workers, concurrency=concurrency)
        settings = runtime.settings
        polling = serve and settings.telegram_polling
        self.polling = (
            PollingSupervisor(runtime, self.manager, poll_timeout=settings.telegram_poll_timeout)
            if polling else None
        )
        self.platform_bot = (
            PlatformBot(settings, polling=polling, on_update=OwnerUpdates(runtime).handle)
            if serve and settings.telegram_token else None
        )
        if self.platform_bot is not None:
            runtime.services["platform_bot"] = self.platform_bot

    async def start(self) -> None:
        self.workers.start()
        if self.polling is not None:
            self.polling.start()
        if self.platform_bot is not None:
            await self.platform_bot.start()

    async def stop(self, grace_seconds: float = 10.0) -> None:
        if self.platform_bot is not None:
            await self.platform_bot.aclose()
        if self.polling is not None:
            await self.polling.aclose()
        await self.workers.stop(grace_seconds)
