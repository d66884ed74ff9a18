"""Outbound pacing: a burst into one chat waits its turn; other chats are not held up."""

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from botcraft.channels.ratelimit import CHAT_SLACK, LATE_S, Pacer, SendPacer, SharedSendPacer, on_time
from botcraft.db import Database
from tests.conftest import DB_KIND


async def test_one_chat_is_paced_and_others_are_not():
    pacer = SendPacer()
    started = time.monotonic()
    await asyncio.gather(*(pacer.wait("bot", "chat-1", per_sender=1000, per_chat=10) for _ in range(4)))
    assert time.monotonic() - started >= 0.29  # 4 messages at 10 a second: slots 0, .1, .2, .3

    fresh = SendPacer()
    slots = []

    async def send(chat: str) -> None:
        await fresh.wait("bot", chat, per_sender=1000, per_chat=1)
        slots.append(time.monotonic())

    started = time.monotonic()
    await asyncio.gather(*(send(f"chat-{i}") for i in range(20)))
    # 20 different chats at 1,000 a second from the bot: none waits for another chat's second.
    assert max(slots) - started < 5  # paced per chat it would take 19 s


async def test_the_sender_limit_spaces_a_burst_across_chats():
    pacer = SendPacer()
    started = time.monotonic()
    await asyncio.gather(*(pacer.wait("bot", f"chat-{i}", per_sender=20, per_chat=100) for i in range(5)))
    assert time.monotonic() - started >= 0.19  # 5 messages at 20 a second


async def test_a_busy_chat_does_not_bunch_up_the_bots_other_sends():
    # One customer gets three answers (1 a second into a chat), nine others one each, from a
    # bot allowed 10 a second: every send of the bot stays a tenth of a second from the next.
    pacer = SendPacer()
    sent: list[tuple[str, float]] = []

    async def send(chat: str) -> None:
        await pacer.wait("bot", chat, per_sender=10, per_chat=1)
        sent.append((chat, time.monotonic()))

    await asyncio.gather(*(send(c) for c in ["анна"] * 3 + [f"гость-{i}" for i in range(9)]))
    # Slots are 0.105 s apart; a send may go out up to LATE_S after its slot (a busy loop).
    times = sorted(at for _, at in sent)
    assert min(b - a for a, b in zip(times, times[1:])) >= 0.1 / 0.95 - LATE_S - 0.005
    anna = [at for chat, at in sent if chat == "анна"]
    assert min(b - a for a, b in zip(anna, anna[1:])) >= (1 + CHAT_SLACK) / 0.95 - LATE_S - 0.005


async def test_a_send_that_goes_out_late_moves_its_chats_next_slot_past_itself(monkeypatch):
    """A send that wakes up late every time goes out after MAX_LATE slots; the chat's next
    message, on time again, still waits a whole interval after it."""
    import types

    import botcraft.channels.ratelimit as ratelimit

    real_sleep = asyncio.sleep
    loaded = True

    async def sleep(seconds: float) -> None:
        await real_sleep(seconds + (0.1 if loaded else 0.0))

    monkeypatch.setattr(ratelimit, "asyncio", types.SimpleNamespace(sleep=sleep))
    pacer = SendPacer()
    await pacer.wait("bot", "анна", per_sender=1000, per_chat=10)
    first = time.monotonic()
    loaded = False
    await pacer.wait("bot", "анна", per_sender=1000, per_chat=10)
    second = time.monotonic()
    assert second - first >= (1 + CHAT_SLACK) / (10 * 0.95) - 0.005


async def test_reserve_now_takes_only_a_free_slot_and_a_taken_one_makes_the_next_send_wait():
    pacer = SendPacer()
    assert None is not await pacer.reserve_now("bot", "анна", per_sender=1000, per_chat=2)
    # The chat's next slot is half a second (and its slack) away: not free now, and nothing taken.
    assert None is await pacer.reserve_now("bot", "анна", per_sender=1000, per_chat=2)
    await asyncio.sleep(0.002)  # the bot's next slot, a thousandth of a second on
    assert None is not await pacer.reserve_now("bot", "борис", per_sender=1000, per_chat=2)  # another chat is free
    started = time.monotonic()
    await pacer.wait("bot", "анна", per_sender=1000, per_chat=2)
    assert time.monotonic() - started >= 0.5 * (1 + CHAT_SLACK) / 0.95 - 0.01
    slow = SendPacer()
    assert None is not await slow.reserve_now("bot", "a", per_sender=1, per_chat=100)
    assert None is await slow.reserve_now("bot", "b", per_sender=1, per_chat=100)  # the bot's second is taken


async def test_a_send_made_late_by_its_store_takes_a_fresh_slot_and_the_chat_keeps_its_pace():
    pacer = SendPacer()
    sent: dict[str, float] = {}

    async def answer(store_s: float) -> None:
        slot_at = await pacer.reserve_now("bot", "анна", per_sender=1000, per_chat=4)
        assert slot_at is not None
        await asyncio.sleep(store_s)  # the answer's store, between the slot and the send
        if not on_time(slot_at):  # as channels/outbound.py does with a late slot
            if (retaken := await pacer.retake("bot", "анна", slot_at, per_sender=1000, per_chat=4)) is None:
                await pacer.wait("bot", "анна", per_sender=1000, per_chat=4, given_up=slot_at)
            else:
                assert on_time(retaken)
        sent["first"] = time.monotonic()

    async def next_answer() -> None:
        await asyncio.sleep(0.01)  # the customer's next message, answered while the first is stored
        await pacer.wait("bot", "анна", per_sender=1000, per_chat=4)
        sent["second"] = time.monotonic()

    await asyncio.gather(answer(0.12), next_answer())
    assert abs(sent["second"] - sent["first"]) >= 0.25 - 0.01  # 4 a second into one chat
    # On time, the slot is kept: the send goes at once.
    pacer = SendPacer()
    started = time.monotonic()
    await answer(0.0)
    assert sent["first"] - started < 0.02


@pytest.fixture(params=["in the process", "in PostgreSQL"])
def shared_pacer_url(request: pytest.FixtureRequest) -> str | None:
    """None for the pacer of one process; the database's URL for the shared one."""
    if request.param == "in the process":
        return None
    if DB_KIND != "postgresql":
        pytest.skip("the shared pacer's slots live in PostgreSQL (CI's PostgreSQL run)")
    return str(request.getfixturevalue("database_url"))


@pytest.fixture
async def pacer(shared_pacer_url: str | None) -> AsyncIterator[Pacer]:
    if shared_pacer_url is None:
        yield SendPacer()
        return
    db = Database(shared_pacer_url)
    try:
        yield SharedSendPacer(db)
    finally:
        await db.dispose()


async def test_a_late_slot_is_moved_to_this_instant_only_when_nothing_was_taken_after_it(pacer):
    # 20 a second from the bot: its slots are 53 ms apart, so a store of 40 ms makes a slot
    # late (LATE_S) while the bot's next slot is still the one after it.
    slot_at = await pacer.reserve_now("bot", "анна", per_sender=20, per_chat=1)
    assert slot_at is not None
    await asyncio.sleep(LATE_S + 0.005)
    assert not on_time(slot_at)
    retaken = await pacer.retake("bot", "анна", slot_at, per_sender=20, per_chat=1)
    assert retaken is not None and on_time(retaken) and retaken > slot_at
    # The bot's next slot and the chat's moved with it: nothing else goes out this instant.
    assert None is await pacer.reserve_now("bot", "борис", per_sender=20, per_chat=1)
    await asyncio.sleep(1 / (20 * 0.95))
    assert None is not await pacer.reserve_now("bot", "борис", per_sender=20, per_chat=1)
    assert None is await pacer.reserve_now("bot", "анна", per_sender=20, per_chat=1)  # its second

    # The bot's next slot was taken by another chat's answer while this one was stored.
    slot_at = await pacer.reserve_now("bot2", "вера", per_sender=20, per_chat=1)
    assert slot_at is not None
    await pacer.wait("bot2", "глеб", per_sender=20, per_chat=1)
    assert None is await pacer.retake("bot2", "вера", slot_at, per_sender=20, per_chat=1)

    # The customer's next message waits for the chat meanwhile (it takes no slot until the chat
    # is free): the late answer is moved all the same, and the next one goes a whole chat
    # interval after it.
    slot_at = await pacer.reserve_now("bot3", "дина", per_sender=1000, per_chat=2)
    assert slot_at is not None

    async def next_answer() -> float:
        await pacer.wait("bot3", "дина", per_sender=1000, per_chat=2)
        return time.time()

    waiting = asyncio.create_task(next_answer())
    await asyncio.sleep(LATE_S + 0.005)
    retaken = await pacer.retake("bot3", "дина", slot_at, per_sender=1000, per_chat=2)
    assert retaken is not None
    assert await waiting - retaken >= 0.5 * (1 + CHAT_SLACK) / 0.95 - LATE_S


async def test_a_slot_given_up_does_not_hold_back_its_own_sends_fresh_one(pacer):
    # The answer's slot came too late to use: its fresh slot is at once, not a chat's second
    # (1.26 s) after the slot that was never sent at.
    slot_at = await pacer.reserve_now("bot", "анна", per_sender=1000, per_chat=1)
    assert slot_at is not None
    started = time.monotonic()
    await pacer.wait("bot", "анна", per_sender=1000, per_chat=1, given_up=slot_at)
    assert time.monotonic() - started < 0.3
    # That fresh slot was used: the chat's next message waits its second behind it.
    started = time.monotonic()
    await pacer.wait("bot", "анна", per_sender=1000, per_chat=1)
    assert time.monotonic() - started >= 1 / 0.95 - LATE_S

    # A slot the bot gave to another chat after the one given up is kept: the fresh one comes
    # after it (the bot's fifth of a second), though the chat itself is free at once.
    slot_at = await pacer.reserve_now("bot2", "вера", per_sender=5, per_chat=1)
    assert slot_at is not None
    await pacer.wait("bot2", "глеб", per_sender=5, per_chat=1)
    glebs = time.monotonic()
    await pacer.wait("bot2", "вера", per_sender=5, per_chat=1, given_up=slot_at)
    assert 1 / (5 * 0.95) - LATE_S <= time.monotonic() - glebs < 0.6


async def test_a_late_wake_up_takes_its_fresh_slot_at_once(monkeypatch):
    """A wait that wakes up past its slot gives it up; the next slot is this instant, not one
    interval after the slot nobody sent at."""
    import types

    import botcraft.channels.ratelimit as ratelimit

    real_sleep = asyncio.sleep
    stalls = [0.1]  # the first sleep overruns by a tenth of a second: a busy loop

    async def sleep(seconds: float) -> None:
        await real_sleep(seconds + (stalls.pop() if stalls else 0.0))

    monkeypatch.setattr(ratelimit, "asyncio", types.SimpleNamespace(sleep=sleep))
    pacer = SendPacer()
    started = time.monotonic()
    await pacer.wait("bot", "анна", per_sender=2, per_chat=1)  # the bot's slot of this instant
    await pacer.wait("bot", "борис", per_sender=2, per_chat=1)  # its next, 0.53 s on, woken 0.1 s late
    # Given up and taken again at once: about 0.63 s; behind the slot given up it was 1.05 s.
    assert time.monotonic() - started < 2 / (2 * 0.95) - 0.1
