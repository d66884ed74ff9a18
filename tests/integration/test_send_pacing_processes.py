"""Send pacing holds across processes: two processes sending for one bot share its rate.

On PostgreSQL the slots live in the database (botcraft_reserve_send); with the in-process
pacer the same two processes would each send at the full rate, which these tests catch.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest

from botcraft.channels.ratelimit import CHAT_SLACK, LATE_S, SharedSendPacer
from botcraft.db import Database
from tests.conftest import DB_KIND

pytestmark = pytest.mark.skipif(DB_KIND != "postgresql", reason="several processes share pacing on PostgreSQL")


def _run_two(database_url: str, chats_per_process: list[list[str]], *, per_sender: float, per_chat: float,
             shared: bool = True, now_first: bool = False, store_s: float = 0.0) -> list[tuple[str, float]]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.pacer_process", json.dumps({
                "database_url": database_url, "shared": shared, "sender": "telegram:7", "chats": chats,
                "per_sender": per_sender, "per_chat": per_chat, "now_first": now_first, "store_s": store_s,
            })],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for chats in chats_per_process
    ]
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    start_at = time.time() + 0.5
    for process in processes:
        process.stdin.write(f"{start_at}\n")
        process.stdin.flush()
    sent: list[tuple[str, float]] = []
    for process in processes:
        out, _ = process.communicate(timeout=90)
        assert process.returncode == 0
        sent.extend((chat, at) for chat, at in json.loads(out))
    return sorted(sent, key=lambda s: s[1])


def _most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


@pytest.mark.parametrize(("now_first", "store_s"), [(False, 0.0), (True, 0.0), (True, 0.2)],
                         ids=["waiting", "this-instant-first", "this-instant-first-slow-store"])
async def test_two_processes_together_stay_within_the_bots_rate(database_url, now_first, store_s):
    # 20 a second for the bot; each process has 20 different chats to answer at once. A store
    # of 0.2 s makes a process's first slot late: it is given up and taken again.
    chats = [[f"покупатель-{p}-{i}" for i in range(20)] for p in range(2)]
    sent = _run_two(database_url, chats, per_sender=20, per_chat=1, now_first=now_first, store_s=store_s)
    times = [at for _, at in sent]
    assert len(times) == 40
    assert _most_in_one_second(times) <= 20
    # 40 messages at 20 a second take about two seconds, not the one each process alone needs.
    assert times[-1] - times[0] >= 1.9


@pytest.mark.parametrize(("now_first", "store_s"), [(False, 0.0), (True, 0.0), (True, 0.2)],
                         ids=["waiting", "this-instant-first", "this-instant-first-slow-store"])
async def test_two_processes_writing_into_one_chat_keep_its_pace(database_url, now_first, store_s):
    # Both processes answer the same customer three times, and other customers in between.
    chats = [["анна"] * 3 + [f"иван-{p}-{i}" for i in range(5)] for p in range(2)]
    sent = _run_two(database_url, chats, per_sender=50, per_chat=2, now_first=now_first, store_s=store_s)
    anna = [at for chat, at in sent if chat == "анна"]
    assert len(anna) == 6
    gaps = [b - a for a, b in zip(anna, anna[1:], strict=False)]
    assert min(gaps) >= 0.5 / 0.95 - LATE_S - 0.01  # 2 a second into one chat; LATE_S: a busy loop
    # The busy chat did not hold the others back behind its own pace.
    others = [at for chat, at in sent if chat != "анна"]
    assert max(others) - min(others) < 1.5


async def test_pacing_in_each_process_alone_would_break_the_rate(database_url):
    """The check above can fail: two in-process pacers together send at twice the rate."""
    chats = [[f"покупатель-{p}-{i}" for i in range(20)] for p in range(2)]
    sent = _run_two(database_url, chats, per_sender=20, per_chat=1, shared=False)
    assert _most_in_one_second([at for _, at in sent]) > 20


async def test_the_slot_of_this_instant_is_taken_only_when_the_bot_and_the_chat_are_free(database_url):
    db = Database(database_url)
    pacer = SharedSendPacer(db)
    try:
        assert None is not await pacer.reserve_now("telegram:8", "анна", per_sender=1000, per_chat=2)
        # The chat's next slot is half a second (and its slack) away: not free, nothing taken.
        assert None is await pacer.reserve_now("telegram:8", "анна", per_sender=1000, per_chat=2)
        await asyncio.sleep(0.002)  # the bot's next slot, a thousandth of a second on
        assert None is not await pacer.reserve_now("telegram:8", "борис", per_sender=1000, per_chat=2)
        started = time.monotonic()
        await pacer.wait("telegram:8", "анна", per_sender=1000, per_chat=2)
        assert time.monotonic() - started >= 0.5 * (1 + CHAT_SLACK) / 0.95 - LATE_S - 0.01
        assert None is not await pacer.reserve_now("telegram:9", "а", per_sender=1, per_chat=100)
        assert None is await pacer.reserve_now("telegram:9", "б", per_sender=1, per_chat=100)  # its second is taken
    finally:
        await db.dispose()
