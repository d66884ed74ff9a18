"""Sign-in attempt limits on the `limits` library.

An e-mail sign-in counts against three keys: the account from this address (the tight
limit, LOGIN_ATTEMPTS_PER_MINUTE), the account from anywhere and the address for any
account (both higher ceilings). A stranger guessing the owner's password from elsewhere
spends their own account+address allowance and leaves the owner's untouched; only a
guessing campaign from many addresses at once reaches the per-account ceiling, and a
single address spraying many accounts reaches the per-address one.

Memory storage by default; RATE_LIMIT_STORAGE_URI=redis://... shares them between processes.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from botcraft.errors import TooManyRequests
from botcraft.i18n import N_


class LoginLimiter:
    def __init__(self, per_minute: int, storage_uri: str = "memory://", *, account_ceiling: int | None = None,
                 address_ceiling: int | None = None) -> None:
        self._pair = RateLimitItemPerMinute(per_minute)
        # A ceiling is never below the tight limit (a bench that raises only that one).
        self._account = RateLimitItemPerMinute(max(account_ceiling or per_minute * 10, per_minute))
        self._address = RateLimitItemPerMinute(max(address_ceiling or per_minute * 10, per_minute))
        self._limiter = MovingWindowRateLimiter(storage_from_string(f"async+{storage_uri}"))

    async def sign_in(self, account: str, address: str) -> None:
        """One sign-in attempt for `account` from `address`; 429 with Retry-After once spent."""
        await self._hit((self._pair, f"pair:{account}|{address}"), (self._account, f"account:{account}"),
                        (self._address, f"address:{address}"))

    async def from_address(self, action: str, address: str) -> None:
        """An attempt where no account is named yet (registration, a Telegram sign-in)."""
        await self._hit((self._pair, f"{action}:{address}"))

    async def _hit(self, *limits: tuple[RateLimitItem, str]) -> None:
        for item, key in limits:
            if not await self._limiter.hit(item, "login", key):
                stats = await self._limiter.get_window_stats(item, "login", key)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                raise TooManyRequests(
                    N_("Too many sign-in attempts; try again in {seconds} seconds.").format(seconds=retry_after),
                    headers={"Retry-After": str(retry_after)},
                    extra={"retry_after": retry_after},
                )
