"""Test harness: every test gets a fresh, migrated database of the kind the run is for.

BOTCRAFT_TEST_DB=sqlite (default) or postgresql; `make test` runs the suite once each.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet

from botcraft import migrate
from botcraft.config import Settings
from botcraft.db import Database
from tests.pg_cluster import PostgresCluster

pytest_plugins = ["tests.fakes.fixtures"]

DB_KIND = os.environ.get("BOTCRAFT_TEST_DB", "sqlite")
_counter = itertools.count()


def pytest_report_header() -> str:
    return f"database: {DB_KIND}"


def _migrate(url: str) -> None:
    async def run() -> None:
        db = Database(url)
        try:
            await migrate.upgrade(db)
        finally:
            await db.dispose()

    asyncio.run(run())


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A migrated template: a SQLite file to copy, or a PostgreSQL template database."""
    if DB_KIND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        _migrate(f"sqlite+aiosqlite:///{path}")
        yield path
        return
    cluster = PostgresCluster()
    cluster.start()
    try:
        async def create_template() -> None:
            conn = await asyncpg.connect(cluster.url("postgres", "").replace("postgresql+", "postgresql"))
            await conn.execute("CREATE DATABASE botcraft_template")
            await conn.close()

        asyncio.run(create_template())
        _migrate(cluster.url("botcraft_template"))
        yield cluster
    finally:
        cluster.stop()


def _pg_dsn(cluster: PostgresCluster, database: str) -> str:
    return f"postgresql://{cluster.user}@127.0.0.1:{cluster.port}/{database}"


@pytest.fixture
def database_url(_template: object, tmp_path: Path) -> Iterator[str]:
    if isinstance(_template, Path):
        target = tmp_path / "botcraft.db"
        shutil.copyfile(_template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    assert isinstance(_template, PostgresCluster)
    name = f"test_{os.getpid()}_{next(_counter)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(_pg_dsn(_template, "postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE DATABASE {name} TEMPLATE botcraft_template"))
    yield _template.url(name)
    asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        ENV="development",
        DATA_DIR=data,
        DATABASE_URL=database_url,
        JWT_SECRET_KEY="test-jwt-secret-" + "x" * 32,
        ENCRYPTION_KEY=Fernet.generate_key().decode(),
        TELEGRAM_TOKEN="",
        OPENAI_API_KEY="",
        OPENAI_BASE_URL="",
        WORKERS_IN_SERVE=0,
        TELEGRAM_POLL_TIMEOUT=1,
        # Word search only unless a test turns meaning on (tests/integration/test_meaning*.py):
        # the real model then runs, loaded once per session.
        EMBEDDINGS="off",
    ).finalize()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[object]:
    from botcraft.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def closes_llm_clients() -> AsyncIterator[None]:
    """For tests that call a model without the app: its shutdown would close the shared
    clients of the loop (botcraft.llm.aclose_clients), left open they warn when collected."""
    yield
    from botcraft.llm import aclose_clients

    await aclose_clients()


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def workers(app: object) -> AsyncIterator[object]:
    """Job workers for the app under test (the app fixture starts none)."""
    from botcraft.jobs.worker import WorkerPool

    pool = WorkerPool(app.state.runtime, 1, poll_interval=0.05)  # type: ignore[attr-defined]
    pool.start()
    yield pool
    await pool.stop(grace_seconds=5)


@pytest.fixture
def tg(settings: Settings, telegram_fake: object) -> object:
    """The fake Telegram Bot API, with the app pointed at it."""
    settings.telegram_api_base = telegram_fake.base_url  # type: ignore[attr-defined]
    return telegram_fake


WA_SECRET = "wa-app-secret-for-tests"
IG_SECRET = "ig-app-secret-for-tests"


@pytest.fixture
def meta(settings: Settings, graph_fake: object) -> object:
    """The fake Graph API for both hosts, with webhook secrets and verify tokens set."""
    settings.graph_api_base = graph_fake.base_url  # type: ignore[attr-defined]
    settings.instagram_api_base = graph_fake.base_url  # type: ignore[attr-defined]
    settings.whatsapp_app_secret, settings.whatsapp_verify_token = WA_SECRET, "wa-verify-токен-1"
    settings.instagram_app_secret, settings.instagram_verify_token = IG_SECRET, "ig-verify-token-2"
    return graph_fake
