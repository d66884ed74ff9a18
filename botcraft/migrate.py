"""Apply Alembic migrations programmatically (at start-up and by `botcraft migrate`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from botcraft.db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant: several processes starting at once on PostgreSQL migrate one at a time.
_PG_MIGRATION_LOCK = 7_150_001


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def upgrade(db: Database, revision: str = "head") -> None:
    # On SQLite the write engine's BEGIN IMMEDIATE does the serialising.
    async with db.write_engine.begin() as conn:
        if not db.is_sqlite:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        await conn.run_sync(_upgrade, revision)
