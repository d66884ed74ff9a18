"""Helpers of the browser tests: the live app, screenshots, waits, a Telegram stub."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from botcraft.config import Settings
from tests.fakes.server import LiveServer

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("BOTCRAFT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PASSWORD = "Pekarnya-2024!"


class RunningApp:
    """The real service on 127.0.0.1 with its lifespan entered on the server's loop."""

    def __init__(self, settings: Settings) -> None:
        from botcraft.app import create_app

        self.settings = settings
        self.app = create_app(settings)
        self.server = LiveServer(self.app)
        self._lifespan: Any = None

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> RunningApp:
        self.server.start()
        deadline = time.monotonic() + 10
        while self.server.loop is None:
            if time.monotonic() > deadline:
                raise RuntimeError("the live server's loop did not start")
            time.sleep(0.005)
        self._lifespan = self.app.router.lifespan_context(self.app)
        self.run(self._lifespan.__aenter__(), timeout=60)
        return self

    def stop(self) -> None:
        try:
            if self._lifespan is not None:
                self.run(self._lifespan.__aexit__(None, None, None), timeout=30)
        finally:
            self.server.stop()

    def run(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the app's event loop (where its database engine lives)."""
        loop = self.server.loop
        assert loop is not None
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    def execute(self, sql: str, **params: Any) -> None:
        from sqlalchemy import text

        async def go() -> None:
            async with self.app.state.db.transaction() as session:
                await session.execute(text(sql), params)

        self.run(go())

    # --- the API, for arranging what a test needs without clicking through it ---------

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def register(self, email: str, password: str = PASSWORD) -> str:
        with self.client() as c:
            r = c.post("/api/auth/register", json={"email": email, "password": password})
            assert r.status_code == 201, r.text
            return r.json()["access_token"]


_UNLABELLED = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), textarea, select, button, a[href], [role=button]')]
  .filter((el) => el.getClientRects().length || el.type === 'file')
  .filter((el) => !((el.getAttribute('aria-label') || '').trim()
    || [...(el.labels || [])].some((l) => l.textContent.trim())
    || el.getAttribute('aria-labelledby') || (el.textContent || '').trim() || el.title))
  .map((el) => el.outerHTML.slice(0, 160))"""


def assert_labelled(page: Any) -> None:
    """Every visible control has a name a screen reader can say."""
    unlabelled = page.evaluate(_UNLABELLED)
    assert not unlabelled, f"controls without a label: {unlabelled}"


def shot(page: Any, name: str, *, keep_toasts: bool = False) -> None:
    """Save the current screen at phone and desktop width (and go back to phone).

    Also checks that every control on the screen is labelled.
    """
    assert_labelled(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    if not keep_toasts:
        page.evaluate("() => document.querySelectorAll('.toast').forEach((t) => t.remove())")
    for label, size in (("390", PHONE), ("1280", DESKTOP)):
        page.set_viewport_size(size)
        page.wait_for_timeout(50)  # layout after the resize
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), animations="disabled")
    page.set_viewport_size(PHONE)


def wait_ready(page: Any, screen: str | None = None) -> None:
    """Wait until the app has rendered (and, if given, rendered that screen)."""
    page.wait_for_selector("body[data-ready='1']")
    if screen:
        page.wait_for_selector(f"body[data-screen='{screen}']")


def rgb(hex_colour: str) -> str:
    """'#17212b' → 'rgb(23, 33, 43)', as getComputedStyle reports it."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgb({r}, {g}, {b})"


def local_storage_token(page: Any) -> str:
    return page.evaluate("() => localStorage.getItem('botcraft.token')")


def wait_until(predicate: Callable[[], Any], timeout: float = 15, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


_TELEGRAM_STUB = """
(() => {
  const cfg = __CONFIG__;
  const log = [];
  const handlers = {back: [], main: []};
  const button = (kind) => ({
    isVisible: false, text: '', isActive: true,
    show() { this.isVisible = true; log.push(kind + '.show'); return this; },
    hide() { this.isVisible = false; log.push(kind + '.hide'); return this; },
    onClick(fn) { handlers[kind].push(fn); return this; },
    offClick(fn) { handlers[kind] = handlers[kind].filter((f) => f !== fn); return this; },
    setText(t) { this.text = t; return this; },
    enable() { this.isActive = true; return this; },
    disable() { this.isActive = false; return this; },
    showProgress() { return this; }, hideProgress() { return this; },
  });
  const app = {
    initData: cfg.initData,
    initDataUnsafe: {},
    version: '7.0',
    platform: 'android',
    colorScheme: cfg.colorScheme,
    themeParams: cfg.themeParams,
    ready() { log.push('ready'); },
    expand() { log.push('expand'); },
    onEvent() {}, offEvent() {},
    setHeaderColor(c) { log.push('header:' + c); },
    setBackgroundColor(c) { log.push('background:' + c); },
    isVersionAtLeast() { return true; },
    BackButton: button('back'),
    MainButton: button('main'),
  };
  window.Telegram = {WebApp: app};
  window.__tg = {
    log, back: app.BackButton, main: app.MainButton,
    click(kind) { handlers[kind].slice().forEach((fn) => fn()); },
  };
})();
"""


def telegram_stub(init_data: str, theme: dict[str, str], scheme: str = "dark") -> str:
    """JavaScript that plays Telegram's `window.Telegram.WebApp` and records what the app does.

    ``window.__tg.click('main' | 'back')`` presses a button; ``window.__tg.log`` lists calls.
    """
    config = {"initData": init_data, "colorScheme": scheme, "themeParams": theme}
    return _TELEGRAM_STUB.replace("__CONFIG__", json.dumps(config))
