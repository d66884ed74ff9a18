"""Outbound pacing per bot and per chat: a burst waits its turn instead of failing.

Each key hands out send slots spaced 1/rate apart; a caller sleeps until its slot. Kept in
the process: with several processes, each keeps its own pace (set the rates accordingly).
"""

from __future__ import annotations

import asyncio
import time


class SendPacer:
    def __init__(self) -> None:
        self._next: dict[str, float] = {}

    def _reserve(self, key: str, rate: float, now: float) -> float:
        slot = max(now, self._next.get(key, 0.0))
        self._next[key] = slot + 1.0 / rate
        return slot

    async def wait(self, sender_key: str, chat_key: str, *, per_sender: float, per_chat: float) -> None:
        """Sleep until this message's turn: `per_sender` messages a second from one bot or
        number, `per_chat` a second into one chat."""
        now = time.monotonic()
        slot = max(
            self._reserve(sender_key, per_sender, now),
            self._reserve(f"{sender_key}|{chat_key}", per_chat, now),
        )
        if len(self._next) > 100_000:  # forget idle keys
            self._next = {k: v for k, v in self._next.items() if v > now}
        delay = slot - now
        if delay > 0:
            await asyncio.sleep(delay)
