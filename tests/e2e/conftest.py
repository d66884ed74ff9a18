"""Browser tests: the real service on loopback, driven through Debian's Chromium.

`serve_app(**settings)` starts ``botcraft.app.create_app`` with the project's ``settings``
fixture (a fresh migrated database of the run's kind) in a LiveServer thread, with its
lifespan (database, migrations, job workers) running on the server's own event loop.
`new_page()` opens a page at 390×844 in which telegram.org answers with an empty script
(or fails, with ``abort_telegram=True``), so the app sees a plain browser unless a test
injects ``window.Telegram.WebApp``. Helpers (screenshots, waits, the Telegram stub) are in
``support.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from botcraft.config import Settings
from tests.e2e.support import CHROMIUM, CHROMIUM_ARGS, PHONE, RunningApp


@pytest.fixture
def browser(database_url: str) -> Iterator[Any]:
    """Chromium for one test.

    Per test, not per session: Playwright's sync API keeps an event loop running on the main
    thread while it is open, and the database fixtures (and the async tests of the other
    suites) need to run their own loops there. Depending on ``database_url`` makes the
    database exist before Playwright starts and outlive it.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (make test installs it when root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def serve_app(settings: Settings) -> Iterator[Callable[..., RunningApp]]:
    """Start the app once per test, after the test adjusts settings (fake servers, tokens).

    Tests list the fakes they use (``telegram_fake``, ``openai_fake``) before ``serve_app``,
    so that the fakes start first and stop last: the app's pollers talk to them until then.
    """
    started: list[RunningApp] = []

    def start(**overrides: Any) -> RunningApp:
        assert not started, "one app per test"
        settings.workers_in_serve = 1
        for key, value in overrides.items():
            setattr(settings, key, value)
        app = RunningApp(settings).start()
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Pages at phone size; fails the test on any uncaught script error in the page."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(init_script: str | None = None, abort_telegram: bool = False) -> Any:
        context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="ru-RU")
        context.set_default_timeout(10_000)
        if abort_telegram:
            context.route("https://telegram.org/**", lambda route: route.abort())
        else:
            context.route("https://telegram.org/**", lambda route: route.fulfill(
                status=200, content_type="application/javascript", body="/* no Telegram here */"))
        if init_script:
            context.add_init_script(init_script)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


# Slow CI machines: give assertions a little more time than Playwright's 5 s default.
expect.set_options(timeout=10_000)
