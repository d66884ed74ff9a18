"""create_app(): settings, logging, database, migrations, routers, the web app."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import structlog
from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import text
from starlette.types import Scope

from botcraft import __version__, migrate
from botcraft.agents.router import router as agents_router
from botcraft.auth.ratelimit import LoginLimiter
from botcraft.auth.router import router as auth_router
from botcraft.channels.registry import CHANNELS
from botcraft.channels.router import router as channels_router
from botcraft.config import Settings, get_settings
from botcraft.db import Database
from botcraft.dialogue.router import router as dialogue_router
from botcraft.errors import CatchAllMiddleware, install_error_handlers
from botcraft.heap import freeze_startup_heap, tune_malloc
from botcraft.knowledge.health import embeddings_health
from botcraft.knowledge.router import router as knowledge_router
from botcraft.knowledge.upload import upload_too_large
from botcraft.logs import configure_logging
from botcraft.metrics.router import router as metrics_router
from botcraft.middleware import BodyLimit, BodySizeLimitMiddleware, RequestContextMiddleware
from botcraft.notifications.router import router as notifications_router
from botcraft.openapi import install_openapi
from botcraft.owner.router import router as owner_router
from botcraft.runtime import Runtime
from botcraft.services import Background

log = structlog.get_logger("botcraft.app")

WEBAPP_DIR = Path(__file__).parent / "webapp"
_UPLOAD_PATH = re.compile(r"^/api/agents/\d+/documents/?$")


class DatabaseHealth(BaseModel):
    ok: bool
    dialect: str
    error: str | None = None


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    env: str
    database: DatabaseHealth
    configured: dict[str, Any]


class RevalidatedStaticFiles(StaticFiles):
    """The web app's modules are revalidated on every load (cheap 304s via ETag), so a
    browser never mixes modules of an old and a new version after an upgrade."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def create_app(settings: Settings | None = None, *, freeze_heap: bool = False) -> FastAPI:
    """The app; `freeze_heap` only for the one app of a process (serve_app(), botcraft.heap)."""
    settings = settings or get_settings()
    configure_logging(json_logs=settings.is_production, level=settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.resolved_database_url)
        app.state.db = db
        await migrate.upgrade(db)
        runtime = Runtime(settings, db)
        app.state.runtime = runtime
        background = Background(runtime, workers=settings.workers_in_serve,
                                concurrency=settings.worker_concurrency, serve=True)
        await background.start()
        if freeze_heap:
            freeze_startup_heap()
        log.info("started", version=__version__, database=db.dialect, env=settings.env,
                 workers=settings.workers_in_serve)
        try:
            yield
        finally:
            await background.stop()
            await runtime.close()
            await db.dispose()

    app = FastAPI(
        title="BotCraft",
        version=__version__,
        description="AI assistants for small businesses in Telegram, WhatsApp and Instagram.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.login_limiter = LoginLimiter(
        settings.login_attempts_per_minute, settings.rate_limit_storage_uri,
        account_ceiling=settings.login_attempts_per_account_per_minute,
        address_ceiling=settings.login_attempts_per_address_per_minute,
    )
    install_error_handlers(app)
    install_openapi(app)

    def body_limit(scope: Scope) -> BodyLimit:
        if _UPLOAD_PATH.match(scope["path"]):
            # Multipart framing on top of the file; the handler counts the file itself.
            return BodyLimit(settings.max_upload_bytes + 1024 * 1024, upload_too_large(settings.max_upload_bytes),
                             "file_too_large")
        return BodyLimit(settings.max_request_body_kb * 1024)

    # Innermost first: the catch-all answers inside the body limit and the request context.
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, limit_for=body_limit)
    app.add_middleware(RequestContextMiddleware)  # outermost: logs and counts the 413s and 404s too

    # Each channel's webhook first: a request is matched against the routers in this order,
    # at some 3 µs a route, and the webhooks are most of the requests (behind the API's
    # routers they paid 90 µs a request, a tenth of an acknowledgement's CPU).
    for channel in CHANNELS.values():
        for channel_router in channel.routers():
            app.include_router(channel_router)
    app.include_router(auth_router)
    app.include_router(agents_router)
    app.include_router(knowledge_router)
    app.include_router(dialogue_router)
    app.include_router(channels_router)
    app.include_router(owner_router)
    app.include_router(notifications_router)
    app.include_router(metrics_router)

    @app.get("/health", tags=["health"], response_model=HealthOut, responses={
        503: {"model": HealthOut, "description": "The database does not answer: `status` is degraded"}})
    async def health() -> JSONResponse:
        db: Database = app.state.db
        try:
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            database = {"ok": True, "dialect": db.dialect}
        except Exception as exc:  # noqa: BLE001 - health reports any failure in words
            database = {"ok": False, "dialect": db.dialect, "error": type(exc).__name__}
        body = {
            "status": "ok" if database["ok"] else "degraded",
            "version": __version__,
            "env": settings.env,
            "database": database,
            "configured": {
                "platform_telegram_bot": bool(settings.telegram_token),
                "llm": "openai-compatible" if settings.llm_configured else "offline",
                **{name: channel.server_configured(settings) for name, channel in CHANNELS.items()},
                "public_base_url": settings.public_base_url or None,
            },
            "embeddings": await embeddings_health(db, settings),
        }
        return JSONResponse(body, status_code=200 if database["ok"] else 503)

    if (WEBAPP_DIR / "index_new.html").exists():
        app.mount("/webapp", RevalidatedStaticFiles(directory=WEBAPP_DIR), name="webapp")

        @app.get("/", include_in_schema=False)
        async def index() -> FileResponse:
            return FileResponse(WEBAPP_DIR / "index_new.html", headers={"Cache-Control": "no-cache"})

    return app


def serve_app() -> FastAPI:
    """create_app() for `botcraft serve`, the one app of its process: malloc is told to keep
    less before any thread starts, and once started its heap is frozen out of the garbage
    collector's full passes (botcraft.heap)."""
    tune_malloc()
    return create_app(freeze_heap=True)
