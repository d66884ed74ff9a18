"""Serve the app or the bare baseline exactly as `botcraft serve` does (one uvicorn process).

    python -m bench.server app  PORT   # botcraft.app:serve_app, settings from the environment
    python -m bench.server bare PORT   # bench.server:bare_app, a FastAPI app with no database

Both go through the same uvicorn.run() call and options as botcraft/cli.py `_serve`.
The bare app answers GET /api/agents with the JSON body the real endpoint returned (file
named by BENCH_BARE_BODY), and POST /api/auth/email with a fixed token after parsing the
same JSON body, so the ratio isolates what the product adds: auth, database, logging.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from pydantic import BaseModel


class Credentials(BaseModel):
    email: str
    password: str


def bare_app() -> Any:
    from fastapi import FastAPI

    body_path = os.environ.get("BENCH_BARE_BODY")
    body = json.loads(open(body_path).read()) if body_path else []  # noqa: SIM115
    app = FastAPI()

    @app.get("/api/agents")
    async def agents() -> list[dict[str, Any]]:
        return body  # type: ignore[no-any-return]

    @app.post("/api/auth/email")
    async def login(credentials: Credentials) -> dict[str, Any]:
        return {"access_token": "x" * 160, "token_type": "bearer", "user": {"email": credentials.email}}

    return app


def main() -> None:
    import uvicorn

    from bench import counters
    from botcraft.cli import KEEP_ALIVE_S

    kind, port = sys.argv[1], int(sys.argv[2])
    counters.install(botcraft=kind == "app")  # only with BENCH_COUNTERS set (bench/channels_e2e.py)
    target = "botcraft.app:serve_app" if kind == "app" else "bench.server:bare_app"
    profile = os.environ.get("BENCH_PROFILE")  # a file: where the event loop's time went (cProfile)
    if profile:
        import cProfile
        import signal
        import time

        profiler = cProfile.Profile(time.process_time)  # CPU, not wall time: the machine is shared
        # SIGUSR1 starts, SIGUSR2 stops and writes: only the measured phase, not the start-up.
        signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
        signal.signal(signal.SIGUSR2, lambda *_: (profiler.disable(), profiler.dump_stats(profile)))
    uvicorn.run(
        target,
        factory=True,
        host="127.0.0.1",
        port=port,
        log_config=None,
        proxy_headers=True,
        timeout_keep_alive=KEEP_ALIVE_S,
    )


if __name__ == "__main__":
    main()
