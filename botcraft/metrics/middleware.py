"""HTTP requests and their latency, by route template and status (pure ASGI, a few µs each).

The route is read after the app has answered, from the `route` Starlette's router puts in
the scope: `/api/agents/{agent_id}`, never `/api/agents/17`, so that ids cannot multiply
the series. A request no route took (404s, a 413 refused before routing) counts as
`unrouted`.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botcraft.metrics.instruments import HTTP_LATENCY, HTTP_REQUESTS

UNROUTED = "unrouted"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNROUTED
            method = scope["method"]
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_LATENCY.labels(method, template).observe(time.perf_counter() - started)
