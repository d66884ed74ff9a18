"""What one process shares between requests and jobs: settings, database, clients.

Built once by the web app's lifespan or by `botcraft worker`, and handed to job handlers.
"""

from __future__ import annotations

from typing import Any

import httpx

from botcraft.config import Settings
from botcraft.db import Database


class Runtime:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        # One pooled client for outbound HTTP (channels, Graph API): connections are reused.
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        # Domain services attach themselves here (e.g. "parser_pool", "channels").
        self.services: dict[str, Any] = {}

    async def close(self) -> None:
        for service in reversed(list(self.services.values())):
            closer = getattr(service, "aclose", None)
            if closer is not None:
                await closer()
        await self.http.aclose()
