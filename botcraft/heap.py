"""The objects start-up leaves are frozen out of the garbage collector's full passes.

A started process holds some 370,000 objects that live as long as it does (aiogram's pydantic
models of every Telegram type above all). Every full collection walked them all: 266 ms of
one core here, a stall of every request and job in flight (the webhooks' p99) and CPU spent
on nothing. `gc.freeze()` moves them to a generation that is never collected; what requests
and jobs allocate afterwards is collected as before.

Only for a process that runs one app until it exits (`botcraft serve`, `botcraft worker`):
an object frozen is never collected, so a test that starts app after app would keep them all.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    gc.collect()  # start-up's garbage is freed first, not frozen with the rest
    gc.freeze()
