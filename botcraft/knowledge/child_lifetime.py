"""Child processes that die with their parent: the parser child and its Tesseract.

A server killed with SIGKILL cannot stop its children, and nobody would read what they
produce. On Linux the kernel sends a child SIGKILL when its parent dies (PR_SET_PDEATHSIG;
"parent" is the thread that started it: the server's event loop, which lives as long as
the server). Elsewhere the parser child watches its parent's pid from a thread.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies; False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def bind_to_parent(parent_pid: int, *, interval: float = 0.5) -> None:
    """End this process when `parent_pid` is no longer its parent: now, or whenever it dies."""
    if not die_with_parent():
        threading.Thread(target=_watch_parent, args=(parent_pid, interval), name="parent-watch",
                         daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the kernel was asked to tell us
        os._exit(1)


def _watch_parent(parent_pid: int, interval: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(interval)
    os._exit(1)


def kill_with_parent_hook() -> Callable[[], object] | None:
    """`preexec_fn` for a grandchild (Tesseract) on Linux, where the caller is single-threaded."""
    return die_with_parent if sys.platform.startswith("linux") else None
