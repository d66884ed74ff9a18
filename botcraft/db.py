"""Engine and sessions for SQLite (aiosqlite) and PostgreSQL (asyncpg).

One rule for everything that writes: a unit of work runs in `Database.transaction()`,
which commits or rolls back as a whole and only then runs the callbacks registered with
`after_commit` (e.g. waking job workers), so nothing outside the database ever sees work
that was rolled back.

SQLite needs two things PostgreSQL does not:
- WAL mode, foreign keys and a busy timeout, set on every new connection;
- write transactions that take the write lock at BEGIN (`BEGIN IMMEDIATE`). A deferred
  transaction that reads and then writes fails outright with SQLITE_BUSY when another
  connection committed in between; an immediate one waits its turn instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_only

AfterCommit = Callable[[], Awaitable[None] | None]

# Every table's id is an INTEGER: 32 bits on PostgreSQL, 64 on SQLite. A larger number names
# no row, and handed to the driver it is an error (a 500), so ids that arrive in a path, a
# query or a body are this type: anything outside it is a 422 before a query is made.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Ge(1), Le(MAX_ROW_ID)]

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    "PRAGMA synchronous=NORMAL",
)


class Database:
    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 32) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        # A pool big enough that busy workers reuse connections instead of opening new
        # ones (a new PostgreSQL connection is a new server process).
        if self.is_sqlite:
            self.engine: AsyncEngine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=8)
            _configure_sqlite(self.engine)
        else:
            # No ping before every checkout (a round trip each time); connections are
            # recycled instead, and a job that meets a dropped connection is retried.
            self.engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=8, pool_recycle=1800
            )
        # Shares the pool; the option only changes how SQLite begins its transactions.
        self.write_engine = self.engine.execution_options(sqlite_immediate=True)
        self._read_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        maker = self._write_sessions if write else self._read_sessions
        async with maker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        await run_after_commit(session)

    async def dispose(self) -> None:
        await self.engine.dispose()


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the surrounding transaction has committed (never on rollback)."""
    session.info.setdefault("after_commit", []).append(callback)


async def run_after_commit(session: AsyncSession) -> None:
    for callback in session.info.pop("after_commit", []):
        result = callback()
        if result is not None:
            await result


class SQLiteWriterLocked(OperationalError):
    """No write lock within the wait: the same failure SQLite reports as 'database is locked'."""


# As long as SQLite's own busy_timeout: past it the write fails in the same way either way.
_WRITER_WAIT_SECONDS = 30.0


def _configure_sqlite(engine: AsyncEngine) -> None:
    # Writers of this process queue here, in arrival order, instead of in SQLite's busy
    # handler, which sleeps 1-100 ms between polls and hands the lock to whoever polls
    # first: under a burst of webhooks that made the slowest acknowledgement take seconds.
    # It is held exactly while SQLite's write lock is, from BEGIN IMMEDIATE until the
    # connection goes back to the pool, so it adds no serialisation of its own; other
    # processes still meet at BEGIN IMMEDIATE and the busy timeout.
    writer = asyncio.Lock()

    async def acquire_writer() -> None:
        try:
            await asyncio.wait_for(writer.acquire(), _WRITER_WAIT_SECONDS)
        except TimeoutError as exc:
            raise SQLiteWriterLocked("BEGIN IMMEDIATE", None, Exception("database is locked")) from exc

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _release_writer(_dbapi_connection: Any, record: Any) -> None:
        if record.info.pop("holds_writer", False):
            writer.release()

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves; pysqlite's own transaction handling is lazy and
        # would defer the write lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Reads run without BEGIN: in WAL mode each statement already sees a consistent
        # snapshot, and skipping BEGIN/COMMIT saves two round trips to aiosqlite's thread
        # on every read (a third of an authenticated GET).
        if connection.get_execution_options().get("sqlite_immediate", False):
            await_only(acquire_writer())
            connection.connection.info["holds_writer"] = True
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def database_dependency(request: Request) -> Database:
    # Async on purpose: FastAPI runs plain-function dependencies in its thread pool,
    # a hand-off per request for what is an attribute read.
    return get_db(request)


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commits when the endpoint returns, rolls back on error.

    Reads (GET/HEAD) run as plain transactions; anything else is a write transaction.
    """
    db = get_db(request)
    write = request.method not in ("GET", "HEAD", "OPTIONS")
    async with db.transaction(write=write) as session:
        yield session


# scope="function": commit before the response is sent, so a failed commit is an error
# response and never a success the client was already told about.
SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]
DatabaseDep = Annotated[Database, Depends(database_dependency)]
