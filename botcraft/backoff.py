"""The one back-off rule every retry in BotCraft follows (jobs, Graph API, LLM, Telegram polling)."""

from __future__ import annotations

import random


def backoff_seconds(attempt: int, *, base: float, cap: float) -> float:
    """Seconds to wait before retry number `attempt` (1 = the first retry).

    Exponential and capped, with "equal jitter": at least half of min(cap, base * 2^(attempt-1)),
    so retries do not hammer a service that is struggling, plus a random part, so many workers
    that failed together do not retry in lockstep.
    """
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)
