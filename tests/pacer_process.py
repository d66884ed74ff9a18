"""A sending process for the shared-pacing tests: `python -m tests.pacer_process SPEC_JSON`.

Says "ready", reads the wall-clock time to start at from stdin (so that several processes
start together however long each took to start up), then takes a slot for each (sender, chat) of the spec from the pacer the
process would use in production, and prints when each wait ended, as JSON. With "now_first",
each send first asks for the slot of this instant and waits for one only when it is not free,
as the message path does; "store_s" is how long its answer's store takes before the send
(a slot it made late is retaken, or else given up for a fresh one).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from botcraft.channels.ratelimit import SendPacer, SharedSendPacer, on_time
from botcraft.db import Database


async def main(spec: dict) -> None:
    db = Database(spec["database_url"])
    pacer = SharedSendPacer(db) if spec["shared"] else SendPacer()
    sent: list[tuple[str, float]] = []

    async def send(chat: str) -> None:
        rates = {"per_sender": spec["per_sender"], "per_chat": spec["per_chat"]}
        slot_at = await pacer.reserve_now(spec["sender"], chat, **rates) if spec.get("now_first") else None
        given_up = None
        if slot_at is not None:
            await asyncio.sleep(spec.get("store_s", 0))  # the answer's store, between the slot and the send
            if not on_time(slot_at):  # as channels/outbound.py does with a late slot
                given_up, slot_at = slot_at, await pacer.retake(spec["sender"], chat, slot_at, **rates)
        if slot_at is None or not on_time(slot_at):
            await pacer.wait(spec["sender"], chat, **rates, given_up=slot_at or given_up)
        sent.append((chat, time.time()))

    async with db.engine.connect():
        pass  # connected and warm before the start
    print("ready", flush=True)
    start_at = float(await asyncio.to_thread(sys.stdin.readline))
    await asyncio.sleep(max(0.0, start_at - time.time()))
    try:
        await asyncio.gather(*(send(chat) for chat in spec["chats"]))
    finally:
        await db.dispose()
    print(json.dumps(sent), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
