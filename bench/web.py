"""The web app's figures: page weight and time to first meaningful render, in Chromium.

    from bench.web import measure
    result = measure()      # a dict, JSON-ready

Starts the real app (SQLite in a temporary directory, no workers) on loopback, then opens
`/` in Debian's Chromium with a cold cache each time:

- page weight: the bytes of every response from this server that `/` loads until the first
  screen is rendered and the network is idle, fonts excluded (the app uses none). Measured
  twice: a first visit (the sign-in screen) and a signed-in visit (the agents screen, which
  adds the API's JSON). telegram.org's script is not from this server and is not counted;
  it is made to fail here, as it would in a plain browser without internet.
- first render: the app sets `performance.mark('botcraft-ready')` (and `body[data-ready]`)
  when its first screen is in the DOM; the figure is that mark's time from navigation start,
  and first-contentful-paint beside it. Median and max of several cold runs.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

GOAL_BYTES = 150_000
CHROMIUM = os.environ.get("BOTCRAFT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FONT_SUFFIXES = (".woff", ".woff2", ".ttf", ".otf", ".eot")
WEBAPP = Path(__file__).resolve().parent.parent / "botcraft" / "webapp"


class _App:
    """botcraft.app.create_app on loopback, its lifespan run on the server's own loop."""

    def __init__(self, data_dir: Path) -> None:
        from cryptography.fernet import Fernet

        from botcraft.app import create_app
        from botcraft.config import Settings
        from tests.fakes.server import LiveServer

        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            ENV="development",
            DATA_DIR=data_dir,
            DATABASE_URL=f"sqlite+aiosqlite:///{data_dir / 'bench.db'}",
            JWT_SECRET_KEY="bench-jwt-secret-" + "x" * 32,
            ENCRYPTION_KEY=Fernet.generate_key().decode(),
            TELEGRAM_TOKEN="",
            OPENAI_API_KEY="",
            OPENAI_BASE_URL="",
            WORKERS_IN_SERVE=0,
            LOGIN_ATTEMPTS_PER_MINUTE=1000,
        ).finalize()
        self.app = create_app(settings)
        self.server = LiveServer(self.app)
        self._lifespan: Any = None

    def __enter__(self) -> _App:
        self.server.start()
        deadline = time.monotonic() + 10
        while self.server.loop is None:
            if time.monotonic() > deadline:
                raise RuntimeError("the server's loop did not start")
            time.sleep(0.005)
        self._lifespan = self.app.router.lifespan_context(self.app)
        self._run(self._lifespan.__aenter__())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._run(self._lifespan.__aexit__(None, None, None))
        finally:
            self.server.stop()

    def _run(self, coro: Any) -> Any:
        assert self.server.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.server.loop).result(60)

    @property
    def url(self) -> str:
        return self.server.url


def _visit(browser: Any, url: str, token: str | None) -> dict[str, Any]:
    """One cold visit of `/`: what it loaded from `url`, and when it was ready."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.route("https://telegram.org/**", lambda route: route.abort())
    if token:
        context.add_init_script(f"localStorage.setItem('botcraft.token', {token!r})")
    page = context.new_page()
    responses: list[Any] = []
    page.on("response", lambda r: responses.append(r) if r.url.startswith(url) else None)
    try:
        page.goto(url + "/", wait_until="load")
        page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        page.wait_for_load_state("networkidle")
        timing = page.evaluate("""() => {
            const ready = performance.getEntriesByName('botcraft-ready')[0];
            const fcp = performance.getEntriesByName('first-contentful-paint')[0];
            return {ready: ready ? ready.startTime : null, fcp: fcp ? fcp.startTime : null,
                    screen: document.body.dataset.screen};
        }""")
        resources = []
        for r in responses:
            path = r.url[len(url) :] or "/"
            if path.split("?")[0].endswith(FONT_SUFFIXES) or r.request.resource_type == "font":
                continue
            try:
                size = len(r.body())
            except Exception:  # noqa: BLE001 - a redirect or aborted response has no body
                size = 0
            resources.append({"path": path, "type": r.request.resource_type, "status": r.status, "bytes": size})
    finally:
        context.close()
    return {
        "bytes": sum(x["bytes"] for x in resources),
        "requests": len(resources),
        "resources": resources,
        "ready_ms": timing["ready"],
        "fcp_ms": timing["fcp"],
        "screen": timing["screen"],
    }


def _summary(values: list[float]) -> dict[str, Any]:
    values = [round(v, 1) for v in values if v is not None]
    if not values:
        return {"runs": []}
    return {"runs": values, "median": round(statistics.median(values), 1), "max": max(values)}


def measure(runs: int = 5) -> dict[str, Any]:
    """Page weight and first render of the web app; see the module docstring."""
    import httpx
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium is not installed at {CHROMIUM}")
    with tempfile.TemporaryDirectory(prefix="botcraft-web-") as tmp, _App(Path(tmp)) as app:
        r = httpx.post(
            app.url + "/api/auth/register",
            json={"email": "bench@example.com", "password": "bench-password-1"},
            timeout=30,
        )
        r.raise_for_status()
        token = r.json()["access_token"]
        httpx.post(
            app.url + "/api/agents",
            json={"name": "Пекарня «Колосок»", "business_description": "Хлеб"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).raise_for_status()

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                _visit(browser, app.url, None)  # warm the server (imports, first queries)
                first = [_visit(browser, app.url, None) for _ in range(runs)]
                signed = [_visit(browser, app.url, token) for _ in range(runs)]
                version = browser.version
            finally:
                browser.close()

    visit, visit_signed = first[-1], signed[-1]
    if (visit["screen"], visit_signed["screen"]) != ("login", "agents"):
        raise RuntimeError(f"unexpected first screens: {visit['screen']}, {visit_signed['screen']}")
    static_total = sum(f.stat().st_size for f in WEBAPP.rglob("*") if f.is_file())
    heaviest = max(visit["bytes"], visit_signed["bytes"])
    return {
        "name": "web",
        "browser": f"Chromium {version}",
        "page_weight": {
            "first_visit": {k: visit[k] for k in ("bytes", "requests", "resources")},
            "signed_in": {k: visit_signed[k] for k in ("bytes", "requests", "resources")},
            "webapp_files_bytes": static_total,  # every file the app could ever load
            "goal_bytes": GOAL_BYTES,
        },
        "first_render_ms": {
            "first_visit": _summary([v["ready_ms"] for v in first]),
            "signed_in": _summary([v["ready_ms"] for v in signed]),
        },
        "first_contentful_paint_ms": {
            "first_visit": _summary([v["fcp_ms"] for v in first]),
            "signed_in": _summary([v["fcp_ms"] for v in signed]),
        },
        "goal": {
            "page_weight_bytes": heaviest,
            "page_weight_under": GOAL_BYTES,
            "pass": heaviest < GOAL_BYTES,
        },
    }


if __name__ == "__main__":
    import json

    print(json.dumps(measure(), indent=2, ensure_ascii=False))


def run() -> dict[str, Any]:
    """`python -m bench web`: the figures above as bench/results/web.json."""
    from bench.common import write_result

    return write_result("web", measure())
