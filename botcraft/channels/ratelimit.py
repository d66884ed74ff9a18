"""Outbound pacing per bot and per chat: a burst waits its turn instead of failing.

Each key hands out send slots spaced 1/rate apart; a caller sleeps until its slot. Kept in
the process: with several processes, each keeps its own pace (set the rates accordingly).
"""

from __future__ import annotations

import asyncio
import time


class SendPacer:
    def __init__(self, per_bot: float, per_chat: float) -> None:
        self.per_bot = per_bot
        self.per_chat = per_chat
        self._next: dict[str, float] = {}

    def _reserve(self, key: str, rate: float, now: float) -> float:
        slot = max(now, self._next.get(key, 0.0))
        self._next[key] = slot + 1.0 / rate
        return slot

    async def wait(self, bot_key: str, chat_key: str) -> None:
        now = time.monotonic()
        slot = max(
            self._reserve(bot_key, self.per_bot, now),
            self._reserve(f"{bot_key}|{chat_key}", self.per_chat, now),
        )
        if len(self._next) > 100_000:  # forget idle keys
            self._next = {k: v for k, v in self._next.items() if v > now}
        delay = slot - now
        if delay > 0:
            await asyncio.sleep(delay)
