"""Which agent a webhook is for, cached briefly: every update would otherwise pay a query.

Telegram routes by the hash of its secret token, WhatsApp and Instagram by the route key
(phone_number_id, account id). A change (new token, stop) is seen within `ttl` seconds.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from botcraft.db import Database
from botcraft.models import ChannelState

Route = tuple[int, bool]  # (agent id, enabled)


class RouteCache:
    def __init__(self, column: Any, ttl: float = 5.0) -> None:
        self.column = column
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, Route | None]] = {}

    async def lookup(self, db: Database, channel: str, value: str) -> Route | None:
        key = (channel, value)
        cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        async with db.transaction(write=False) as session:
            row = (await session.execute(
                select(ChannelState.agent_id, ChannelState.enabled)
                .where(ChannelState.channel == channel, self.column == value)
            )).first()
        route = (row[0], bool(row[1])) if row else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (time.monotonic() + self.ttl, route)
        return route


class Routes:
    """This process's route caches, made at start-up with the ChannelManager."""

    def __init__(self) -> None:
        self.by_secret_hash = RouteCache(ChannelState.webhook_secret_hash)
        self.by_route_key = RouteCache(ChannelState.route_key)
