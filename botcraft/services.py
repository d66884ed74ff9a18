"""The background parts of a process, started and stopped together, and every job's handler.

`serve` runs everything (API, workers, Telegram pollers, the platform bot); `botcraft worker`
runs workers only. Job handlers are registered here, at the top, so that no domain imports
another's job code (jobs/kinds.py holds the names only).
"""

from __future__ import annotations

import functools

from botcraft.channels import inbound, outbound
from botcraft.channels.inbound import LastEventClock
from botcraft.channels.manager import ChannelManager
from botcraft.channels.ratelimit import make_pacer
from botcraft.channels.telegram.platform_bot import PlatformBot
from botcraft.channels.telegram.polling import PollingSupervisor
from botcraft.jobs import kinds, queue
from botcraft.jobs.registry import DEAD_HANDLERS, HANDLERS, DeadHandler, Handler
from botcraft.jobs.worker import WorkerPool
from botcraft.knowledge import embedding, meaning, storage
from botcraft.knowledge.processing import process_document
from botcraft.notifications import tasks as notifications
from botcraft.owner.telegram_updates import OwnerUpdates
from botcraft.runtime import Runtime


async def agent_removed(runtime: Runtime, job: queue.ClaimedJob) -> None:
    """A deleted agent's bots are torn down and its files removed, once its rows are gone.

    Both steps are safe to repeat after a crash. The finished job keeps only the agent's id,
    not its channel settings (the bot token, encrypted).
    """
    await runtime.channels.tear_down_agent(job.payload)
    async with runtime.db.transaction(write=False) as session:
        await storage.remove_unreferenced(session, runtime.settings.data_dir, job.payload["files"])
    await runtime.db.run(functools.partial(queue.complete_in, job=job, keep={"agent_id": job.payload["agent_id"]}))


JOB_HANDLERS: dict[str, Handler] = {
    kinds.CHANNEL_EVENT: inbound.process_event,
    kinds.DELIVER_MESSAGE: outbound.deliver_message,
    kinds.PROCESS_DOCUMENT: process_document,
    kinds.EMBED_DOCUMENT: embedding.embed_document,
    kinds.NOTIFY_OWNER: notifications.notify_owner,
    kinds.AGENT_REMOVED: agent_removed,
}


# Run once a kind's job has failed for the last time: nobody's message ends in a silent dead job.
ON_DEAD: dict[str, DeadHandler] = {
    kinds.CHANNEL_EVENT: inbound.hand_over_dead_event,
    kinds.DELIVER_MESSAGE: outbound.give_up_delivery,
    kinds.NOTIFY_OWNER: notifications.give_up_notice,
}


def register_handlers() -> None:
    HANDLERS.update(JOB_HANDLERS)
    DEAD_HANDLERS.update(ON_DEAD)


class Background:
    def __init__(self, runtime: Runtime, *, workers: int, concurrency: int, serve: bool) -> None:
        register_handlers()
        self.runtime = runtime
        self.manager = ChannelManager(runtime)
        # Search by meaning: this process's embedder and vector index (None when off).
        self.meaning = meaning.install(runtime.settings)
        runtime.channels = self.manager
        runtime.pacer = make_pacer(runtime.db)
        runtime.last_event = LastEventClock()
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
        runtime.platform_bot = self.platform_bot

    async def start(self) -> None:
        await embedding.queue_model_change(self.runtime)
        if self.meaning is not None:
            self.meaning.warm_up()
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
