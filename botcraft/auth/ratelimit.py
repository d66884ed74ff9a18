"""Login attempt limits (per IP and per account) on the `limits` library.

Memory storage by default; RATE_LIMIT_STORAGE_URI=redis://... shares them between processes.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from botcraft.errors import TooManyRequests
from botcraft.i18n import N_


class LoginLimiter:
    def __init__(self, per_minute: int, storage_uri: str = "memory://") -> None:
        self._item = RateLimitItemPerMinute(per_minute)
        self._limiter = MovingWindowRateLimiter(storage_from_string(f"async+{storage_uri}"))

    async def hit(self, *keys: str) -> None:
        """Count one attempt against every key; 429 with Retry-After once any is spent."""
        for key in keys:
            if not await self._limiter.hit(self._item, "login", key):
                stats = await self._limiter.get_window_stats(self._item, "login", key)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                raise TooManyRequests(
                    N_("Too many sign-in attempts; try again in {seconds} seconds.").format(seconds=retry_after),
                    headers={"Retry-After": str(retry_after)},
                    extra={"retry_after": retry_after},
                )
