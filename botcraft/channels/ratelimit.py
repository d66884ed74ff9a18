"""Outbound pacing per bot and per chat: a burst waits its turn instead of failing.

A send takes a slot from its sender (bot token, phone number), spaced 1/rate apart, and
only a slot at which its chat is free too: a chat that is busy makes its own message wait
and ask again, without holding back the sender's other chats.

Two places keep the slots, behind one call, `await runtime.pacer.wait(...)` (made by `make_pacer`);
`await reserve_now()` takes a slot only if the sender and the chat are both free this instant,
without waiting (the message path asks just before it stores an answer, stores it already
marked as being sent and sends it straight after: one write fewer, and no slot to wake up for);
`on_time()` then says whether the send may go. A slot the store made too late is moved to
this instant by `await retake()` when nothing was taken after it (moving it later crowds no
other send), and only otherwise given up for a fresh one, as a late wake-up does. A slot
given up was not used: while it is still its sender's or chat's latest, the fresh one does
not wait behind it (`wait(given_up=...)`):
- `SendPacer`, in the process: a single `serve` on SQLite sends from one process.
- `SharedSendPacer`, in PostgreSQL (`send_pacing`, `botcraft_reserve_send()`,
  `botcraft_reserve_send_now()` and `botcraft_retake_send_slot()`, migrations 0009, 0012,
  0013 and 0014): with several `serve` and `worker` processes all sending for the same bots, each slot
  is taken under the row's lock and timed by the database's clock, so the processes together
  stay within the platform's rate.

Both pace at HEADROOM of the configured rate: the platform counts sends when they arrive,
after network and event-loop delays this side cannot see. That slack also bounds how late a
send may go out after its slot: a process that wakes up later than LATE_S (its event loop
was busy, its CPU taken) gives the slot up and takes a new one (up to MAX_LATE times),
rather than going out together with the sends of the slots after it.

A chat's slots are also CHAT_SLACK (a fifth) further apart than its rate: a chat seldom gets two
answers within a second, so the wait costs no throughput, and it covers what LATE_S cannot
see, the time between the check and the send's arrival (the request itself on a loaded host).
A send that goes out late all the same (MAX_LATE) moves its chat's next slot past itself.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol, cast

from sqlalchemy import Result, TextClause, text

from botcraft.db import Database

HEADROOM = 0.95
# Within the 1/HEADROOM - 1 = 52 ms of slack a second has at HEADROOM, with room for the
# network after the check.
LATE_S = 0.035
# A process that is late every time still sends, after this many slots given up.
MAX_LATE = 5
# The share added to the interval of a chat's slots (module docstring): 0.2 s at 1 a second.
# The chaos run measured two sends within one second into a chat at the fake without it
# (bench/README.md).
CHAT_SLACK = 0.2
# Rows of chats idle this long are deleted now and then (a chat's row only matters for a second).
FORGET_AFTER_S = 600.0
_FORGET_EVERY_S = 60.0


def _interval(rate: float) -> float:
    return 1.0 / (rate * HEADROOM)


def _chat_interval(rate: float) -> float:
    return _interval(rate) * (1 + CHAT_SLACK)


def _chat(sender_key: str, chat_key: str) -> str:
    return f"{sender_key}|{chat_key}"


class Pacer(Protocol):
    async def wait(self, sender_key: str, chat_key: str, *, per_sender: float, per_chat: float,
                   given_up: float | None = None) -> None:
        """Sleep until this message's turn: `per_sender` messages a second from one bot or
        number, `per_chat` a second into one chat. `given_up` is a slot of this message's
        that was taken and not used (too late to send at): while it is still the sender's or
        the chat's latest, it holds nothing back."""

    async def reserve_now(self, sender_key: str, chat_key: str, *, per_sender: float,
                          per_chat: float) -> float | None:
        """Take the slot of this instant if the sender and the chat are both free, and return its
        time (epoch seconds; on PostgreSQL the database's clock, as wait() times its slots);
        None takes nothing. Send it only while on_time()."""

    async def retake(self, sender_key: str, chat_key: str, slot_at: float, *, per_sender: float,
                     per_chat: float) -> float | None:
        """Move a slot of reserve_now() that the store made late to this instant, and return its
        new time; None (nothing changed) unless the sender and the chat are each free now or
        still have this slot as their latest: with no slot taken after it, the send going later
        than its slot leaves more room before it and crowds none after it."""


class SendPacer:
    """The slots of one process, timed by the wall clock as the shared pacer's are, so that
    reserve_now()'s time is the slot retake() is given back."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}

    def _free_at(self, key: str, interval: float, given_up: float | None) -> float:
        """When `key` may send next; at once when its latest slot is the one given up."""
        next_at = self._next.get(key, 0.0)
        return 0.0 if given_up is not None and next_at == given_up + interval else next_at

    def _take(self, sender_key: str, chat: str, per_sender: float, per_chat: float, now: float,
              given_up: float | None) -> tuple[bool, float]:
        """(True, the slot) with a slot taken; (False, when to ask again) while the chat is busy."""
        start = max(now, self._free_at(sender_key, _interval(per_sender), given_up))
        chat_free = self._free_at(chat, _chat_interval(per_chat), given_up)
        if chat_free > start:
            return False, chat_free
        self._next[sender_key] = start + _interval(per_sender)
        self._next[chat] = start + _chat_interval(per_chat)
        return True, start

    def _take_now(self, sender_key: str, chat_key: str, per_sender: float, per_chat: float,
                  given_up: float | None) -> float | None:
        """The slot of this instant when the sender and the chat are both free now (a slot
        given up and still their latest holds nothing back); None takes nothing."""
        now = time.time()
        chat = _chat(sender_key, chat_key)
        if (self._free_at(sender_key, _interval(per_sender), given_up) > now
                or self._free_at(chat, _chat_interval(per_chat), given_up) > now):
            return None
        self._take(sender_key, chat, per_sender, per_chat, now, given_up)
        return now

    async def reserve_now(self, sender_key: str, chat_key: str, *, per_sender: float,
                          per_chat: float) -> float | None:
        return self._take_now(sender_key, chat_key, per_sender, per_chat, None)

    async def retake(self, sender_key: str, chat_key: str, slot_at: float, *, per_sender: float,
                     per_chat: float) -> float | None:
        return self._take_now(sender_key, chat_key, per_sender, per_chat, slot_at)

    async def wait(self, sender_key: str, chat_key: str, *, per_sender: float, per_chat: float,
                   given_up: float | None = None) -> None:
        chat = _chat(sender_key, chat_key)
        late = 0
        while True:
            now = time.time()
            reserved, at = self._take(sender_key, chat, per_sender, per_chat, now, given_up)
            if len(self._next) > 100_000:  # forget idle keys
                self._next = {k: v for k, v in self._next.items() if v > now}
            if reserved and at == now:
                return  # the slot is now: no yield to the loop, so no chance to be late for it
            await asyncio.sleep(at - now)
            if reserved:
                sent_at = time.time()
                if sent_at - at <= LATE_S:
                    return
                if late >= MAX_LATE:
                    self._next[chat] = max(self._next.get(chat, 0.0), sent_at + _chat_interval(per_chat))
                    return
                late, given_up = late + 1, at


# Built once: a text() clause parses its SQL for bind parameters when it is made, and these
# run for every answer sent (2% of the event loop on PostgreSQL, py-spy, bench.e2e_phases).
_RESERVE_NOW = text("SELECT botcraft_reserve_send_now(:sender, :chat, :sender_s, :chat_s)")
_RETAKE = text("SELECT botcraft_retake_send_slot(:sender, :chat, :slot_at, :sender_s, :chat_s)")
_RESERVE = text("SELECT reserved, at FROM botcraft_reserve_send(:sender, :chat, :sender_s, :chat_s, :given_up)")
_PUSH_CHAT = text("UPDATE send_pacing SET next_at = greatest(next_at, "
                  "extract(epoch from clock_timestamp()) + :interval) WHERE key = :chat")
_FORGET_IDLE = text("DELETE FROM send_pacing WHERE next_at < extract(epoch from clock_timestamp()) - :age")


class SharedSendPacer:
    """The slots of every process, in PostgreSQL: one round trip a slot."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._forgotten_at = time.monotonic()

    async def _execute(self, statement: TextClause, params: dict[str, Any]) -> Result[Any]:
        # Autocommit: the bot's row is locked only while the function runs in the server, not
        # until a COMMIT round trip from a process that may be busy with other work (every send
        # of the bot would queue behind that process's event loop).
        async with self.db.autocommit_engine.connect() as conn:
            return await conn.execute(statement, params)

    async def reserve_now(self, sender_key: str, chat_key: str, *, per_sender: float,
                          per_chat: float) -> float | None:
        result = await self._execute(
            _RESERVE_NOW,
            {"sender": sender_key, "chat": _chat(sender_key, chat_key), "sender_s": _interval(per_sender),
             "chat_s": _chat_interval(per_chat)},
        )
        return cast("float | None", result.scalar())

    async def retake(self, sender_key: str, chat_key: str, slot_at: float, *, per_sender: float,
                     per_chat: float) -> float | None:
        result = await self._execute(
            _RETAKE,
            {"sender": sender_key, "chat": _chat(sender_key, chat_key), "slot_at": slot_at,
             "sender_s": _interval(per_sender), "chat_s": _chat_interval(per_chat)},
        )
        return cast("float | None", result.scalar())

    async def wait(self, sender_key: str, chat_key: str, *, per_sender: float, per_chat: float,
                   given_up: float | None = None) -> None:
        chat = _chat(sender_key, chat_key)
        late = 0
        while True:
            row = (await self._execute(
                _RESERVE,
                {"sender": sender_key, "chat": chat, "sender_s": _interval(per_sender),
                 "chat_s": _chat_interval(per_chat), "given_up": given_up},
            )).one()
            await self._forget_idle()
            # Until an absolute time on the database's clock (the hosts' clocks are kept by
            # NTP): however long the answer took to come back, the send is not moved later.
            await asyncio.sleep(max(0.0, float(row.at) - time.time()))
            if row.reserved:
                if time.time() - float(row.at) <= LATE_S:
                    return
                if late >= MAX_LATE:
                    await self._push_chat(chat, _chat_interval(per_chat))
                    return
                late, given_up = late + 1, float(row.at)

    async def _push_chat(self, chat: str, interval: float) -> None:
        """A send going out past its slot: the chat's next slot comes a whole interval after it."""
        await self._execute(
            _PUSH_CHAT,
            {"chat": chat, "interval": interval},
        )

    async def _forget_idle(self) -> None:
        if time.monotonic() - self._forgotten_at < _FORGET_EVERY_S:
            return
        self._forgotten_at = time.monotonic()
        await self._execute(
            _FORGET_IDLE,
            {"age": FORGET_AFTER_S},
        )


def on_time(slot_at: float) -> bool:
    """Whether the send of a slot taken with reserve_now() may still go out, the answer's store
    having come in between: within LATE_S of its slot, as for a slot wait() wakes up for. Later
    than that, retake() may move the slot to this instant; a late send among the bot's slots
    taken after it would put one more into their second (the two-process test measured 21 at 20
    a second with a late slot kept for a chat's slack)."""
    return time.time() - slot_at <= LATE_S


def make_pacer(db: Database) -> Pacer:
    """A process's pacer: shared through the database on PostgreSQL (several processes send),
    in the process on SQLite (one process does)."""
    return SendPacer() if db.is_sqlite else SharedSendPacer(db)
