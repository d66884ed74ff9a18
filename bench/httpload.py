"""Load generation with wrk (Lua script for the auth header), pinned to its own core."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def wrk(
    url: str, *, connections: int, seconds: float, headers: dict[str, str] | None = None, cpu: int | None = 1
) -> dict[str, Any]:
    """Run wrk with one thread; returns requests/s, latency percentiles in ms and errors."""
    lua = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in (headers or {}).items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(lua)
        script = fh.name
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s", "-s", script, url]
    if cpu is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(cpu), *cmd]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    finally:
        Path(script).unlink(missing_ok=True)
    return parse_wrk(out, connections=connections, seconds=seconds)


def parse_wrk(out: str, *, connections: int, seconds: float) -> dict[str, Any]:
    """wrk's --latency report as requests/s, latency percentiles in ms and errors."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    dist = {p: _ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "connections": connections,
        "seconds": seconds,
        "requests": total,
        "requests_per_s": round(rps, 1),
        "p50_ms": dist.get("50"),
        "p90_ms": dist.get("90"),
        "p99_ms": dist.get("99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else None,
    }
