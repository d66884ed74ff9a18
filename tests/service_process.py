"""The real `botcraft serve` as a child process on loopback, configured from a Settings.

For what only a real server shows: how uvicorn treats a connection after an error, what
a client receives when an upload is refused, what happens to the server's children when it
is killed, and the fuzzing run against the service as deployed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from botcraft.config import Settings


def settings_env(settings: Settings, **overrides: Any) -> dict[str, str]:
    """The environment that makes a `botcraft serve` see these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOTCRAFT_", "OPENAI_"))}
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if field.alias and isinstance(value, str | int | float | bool | Path):
            env[field.alias] = str(value).lower() if isinstance(value, bool) else str(value)
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServiceProcess:
    """`python -m botcraft.cli serve` in its own process group, with its log in a file."""

    def __init__(self, settings: Settings, workdir: Path, **env: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = settings_env(settings, **env)
        self.workdir = workdir  # no .env there, so only the environment above counts
        self.log_path = workdir / f"serve-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ServiceProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "botcraft.cli", "serve", "--port", str(self.port)],
            cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"botcraft serve exited at start:\n{self.log()}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"botcraft serve did not start in {timeout} s:\n{self.log()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the server alone (not its process group): what an OOM killer or `kill -9` does."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
