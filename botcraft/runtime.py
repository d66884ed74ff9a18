"""What one process shares between requests and jobs: settings, database, clients, services.

Built once by the web app's lifespan or by `botcraft worker` (services.Background fills in
the channel services), and handed to job handlers.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx

from botcraft.config import Settings
from botcraft.db import Database

if TYPE_CHECKING:
    from botcraft.channels.inbound import LastEventClock
    from botcraft.channels.manager import ChannelManager
    from botcraft.channels.ratelimit import Pacer, SendPacer
    from botcraft.channels.telegram.platform_bot import PlatformBot


class Runtime:
    # Set by services.Background at start-up.
    channels: ChannelManager
    pacer: Pacer
    last_event: LastEventClock
    platform_bot: PlatformBot | None = None
    # The owners' notices: their own Bot API client and pacing, made when first needed.
    notify_client: Any = None  # botcraft.notifications.telegram.PlatformClient
    notify_pacer: SendPacer | None = None

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        # One pooled client for outbound HTTP (channels, Graph API): connections are reused.
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        # How many document parses run at once in this process.
        self.parser_slots = asyncio.Semaphore(settings.parser_processes)

    async def close(self) -> None:
        from botcraft.llm import aclose_clients

        channels = getattr(self, "channels", None)
        if channels is not None:
            await channels.aclose()
        if self.notify_client is not None:
            await self.notify_client.aclose()
        await aclose_clients()  # the shared openai SDK clients of this loop
        await self.http.aclose()
