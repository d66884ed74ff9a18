"""`botcraft serve` freezes what start-up left out of the garbage collector's full passes
(botcraft.heap): a full pass over them stalled every request in flight for a quarter second.
And it tells glibc's malloc to give large blocks back (botcraft.heap)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

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


_RSS_KEPT_BY_HASHES = """
from fastapi.testclient import TestClient
from botcraft.app import {factory}
from botcraft.auth.passwords import hash_password

def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS"))

app = {factory}()
with TestClient(app) as client:
    assert client.get("/health").status_code == 200
    before = rss_mb()
    for n in range(5):
        hash_password(f"пароль-владельца-{{n}}")  # Argon2id: 19 MB each, freed when done
    print(rss_mb() - before)
"""


def _rss_kept_by_five_password_hashes(settings, factory: str) -> int:
    done = subprocess.run([sys.executable, "-c", _RSS_KEPT_BY_HASHES.format(factory=factory)],
                          env=settings_env(settings), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt() is glibc's")
def test_the_served_app_gives_back_the_memory_of_a_password_hash(settings):
    # glibc raises its mmap threshold after the first large free, so each later hash was
    # carved from the heap and its 19 MB stayed there; the served app fixes the threshold.
    assert _rss_kept_by_five_password_hashes(settings, "serve_app") < 8
    assert _rss_kept_by_five_password_hashes(settings, "create_app") >= 15
