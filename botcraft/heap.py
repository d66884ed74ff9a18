"""How a process that serves until it exits keeps its heap small and out of the GC's way.

Only for a process that runs one app until it exits (`botcraft serve`, `botcraft worker`):
both settings last for the life of the process, so a test that starts app after app would
keep what they keep.

**The start-up objects are frozen out of the garbage collector's full passes.** A started
process holds some 370,000 objects that live as long as it does (aiogram's pydantic models of
every Telegram type above all). Every full collection walked them all: 266 ms of one core
here, a stall of every request and job in flight (the webhooks' p99) and CPU spent on
nothing. `gc.freeze()` moves them to a generation that is never collected; what requests and
jobs allocate afterwards is collected as before.

**glibc's malloc is told to keep less.** Two of its defaults cost this process memory it
never gives back (bench/README.md, "Memory: glibc's arenas and mmap threshold"):
- one arena per thread that allocates, up to 8 per core: the database driver's threads and
  the executor's (10 at start, 25–32 under load) each kept their own, each with its own free
  pages. Two arenas are enough when the threads mostly wait.
- a dynamic mmap threshold: after the first large block is freed (an Argon2id hash takes
  19 MB, botcraft/auth/passwords.py) the threshold rises to that size, so every later hash is
  carved from the heap and its pages stay there. A fixed 4 MiB threshold keeps large,
  short-lived blocks in mmap, returned to the system when freed.
With 512 slow model calls in flight the serving process peaked at 245 MB instead of 265 MB.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import platform

# glibc's malloc.h: mallopt() parameters.
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_ARENAS = 2
_MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024


def freeze_startup_heap() -> None:
    gc.collect()  # start-up's garbage is freed first, not frozen with the rest
    gc.freeze()


def tune_malloc() -> None:
    """Sets the arenas and the mmap threshold above.

    Called before the process starts its threads (arenas already made are kept). An
    operator's own MALLOC_ARENA_MAX or MALLOC_MMAP_THRESHOLD_ wins over ours. Elsewhere
    (musl, macOS) it does nothing.
    """
    if platform.libc_ver()[0] != "glibc":
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    for variable, parameter, value in (("MALLOC_ARENA_MAX", _M_ARENA_MAX, _ARENAS),
                                       ("MALLOC_MMAP_THRESHOLD_", _M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)):
        if variable not in os.environ:
            libc.mallopt(parameter, value)
