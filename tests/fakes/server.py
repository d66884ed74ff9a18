"""Run an ASGI app with uvicorn on loopback, in a background thread.

The fakes of external services are real HTTP servers so that production code talks to them
through its real client (aiogram, the openai SDK, httpx) with only the base URL changed.
Modelled on httpx's own ``tests/conftest.py``.

    with serve(app) as base_url:          # "http://127.0.0.1:<free port>"
        ...

    server = LiveServer(app).start()      # or as a long-lived (module/session) fixture
    ...
    server.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

__all__ = ["FakeService", "LiveServer", "serve"]


class _QuietDeliberateDrops(logging.Filter):
    """Fakes cut connections and abandon requests on purpose; uvicorn calls that an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not threading.current_thread().name.startswith(THREAD_PREFIX):
            return True
        if record.getMessage() == "ASGI callable returned without completing response.":
            return False
        # Requests still pending when a test ends (long polls, delays) are cancelled.
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, asyncio.CancelledError)


THREAD_PREFIX = "fake-server-"
logging.getLogger("uvicorn.error").addFilter(_QuietDeliberateDrops())


class _ThreadServer(uvicorn.Server):
    """A uvicorn server that can run outside the main thread and stop without polling."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def install_signal_handlers(self) -> None:  # older uvicorn
        pass

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # uvicorn >= 0.29: signals belong to the test
        yield

    async def main_loop(self) -> None:
        # uvicorn's own loop wakes every 0.1 s to look at should_exit; a test suite that starts
        # a server per test would spend that on every teardown.
        self.loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        await self.on_tick(0)
        while not self.should_exit:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            self._wake.clear()
            await self.on_tick(0)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's graceful shutdown sleeps 0.1 s and waits for open requests. A fake's
        # pending requests (long polls, scripted delays) belong to a finished test: close
        # everything now; the loop cancels what is left when it ends.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        await asyncio.sleep(0)

    def request_exit(self) -> None:
        self.should_exit = True
        loop, wake = self.loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)


class LiveServer:
    """An ASGI app served on ``127.0.0.1:<free port>`` from a daemon thread."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", startup_timeout: float = 10.0, http: str = "h11"):
        self.app = app
        self.http = http
        self.host = host
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self._server: _ThreadServer | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("server is not running")
        return f"http://{self.host}:{self.port}"

    base_url = url

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the app runs on (for thread-safe wake-ups from tests)."""
        return self._server.loop if self._server else None

    def start(self) -> LiveServer:
        if self._server is not None:
            raise RuntimeError("server already started")
        # Bind first and hand the socket to uvicorn: the port is known before the thread
        # starts and no other process can take it in between.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.set_inheritable(True)
        self._sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            loop="asyncio",
            http=self.http,
            ws="none",
            timeout_graceful_shutdown=1,
        )
        self._server = _ThreadServer(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"{THREAD_PREFIX}{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("fake server thread died during startup")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("fake server did not start in time")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        # Tests leave long polls and deliberate delays pending; don't wait for them.
        server.force_exit = True
        server.request_exit()
        thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` for the duration of the block; yields its base URL (no trailing slash)."""
    with LiveServer(app) as server:
        yield server.url


class FakeService:
    """Base for the fakes: an ASGI ``app`` plus state that tests script and inspect.

    Handlers run on the server thread while tests call hooks from theirs, so subclasses guard
    shared state with ``self._lock`` and wake waiting handlers with :meth:`_call_in_loop`.
    """

    app: Any

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.base_url: str | None = None

    def _remember_loop(self) -> None:
        """Called from handlers: the loop to schedule wake-ups on."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()

    def _call_in_loop(self, fn: Any, *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn(*args)
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(fn, *args)

    @contextlib.contextmanager
    def serve(self) -> Iterator[Any]:
        """Run this fake on loopback; yields the fake itself with ``base_url`` set."""
        with LiveServer(self.app) as server:
            self.base_url = server.url
            try:
                yield self
            finally:
                self.base_url = None
                self._loop = None
