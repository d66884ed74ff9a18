"""`botcraft serve` freezes what start-up left out of the garbage collector's full passes
(botcraft.heap): a full pass over them stalled every request in flight for a quarter second."""

from __future__ import annotations

import subprocess
import sys

from tests.service_process import settings_env

_STARTED_APP = """
import gc
from fastapi.testclient import TestClient
from botcraft.app import {factory}
app = {factory}()
with TestClient(app) as client:
    assert client.get("/health").status_code == 200
    print(gc.get_freeze_count())
"""


def _frozen_after_start(settings, factory: str) -> int:
    done = subprocess.run([sys.executable, "-c", _STARTED_APP.format(factory=factory)],
                          env=settings_env(settings), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.split()[-1])


def test_the_served_app_freezes_its_start_up_heap_and_a_test_app_does_not(settings):
    # Start-up leaves some 370,000 objects (aiogram's models of every Telegram type above all).
    assert _frozen_after_start(settings, "serve_app") > 100_000
    # create_app() is what tests start again and again: what it froze would never be freed.
    assert _frozen_after_start(settings, "create_app") == 0
