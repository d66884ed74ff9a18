"""Engine and sessions for SQLite (aiosqlite) and PostgreSQL (asyncpg).

One rule for everything that writes: a unit of work runs in `Database.transaction()`,
which commits or rolls back as a whole and only then runs the callbacks registered with
`after_commit` (e.g. waking job workers), so nothing outside the database ever sees work
that was rolled back.

The message path (webhook → answer → send) runs its units with `Database.run(fn)` instead:
`fn(connection)` is a plain function of SQLAlchemy Core statements on a sync Connection. On
SQLite the whole unit is one hand-off to a thread that owns its own connection, and the
units that wait at the same moment share one transaction (group commit: one BEGIN, one
COMMIT, one fsync for a burst of webhooks); through aiosqlite every statement costs three or
four hand-offs. On PostgreSQL the unit runs in its own transaction with `run_sync`, except
units run with `share=True` (the webhooks' inserts of new events), which share one
transaction with the others of this process waiting at the same moment, as on SQLite.
Within a group, units of one `MergedUnit` class (the webhooks' `StoreEvents`) run as one:
their rows in one multi-row statement instead of a statement per unit.

SQLite needs two things PostgreSQL does not:
- WAL mode, foreign keys and a busy timeout, set on every new connection;
- write transactions that take the write lock at BEGIN (`BEGIN IMMEDIATE`). A deferred
  transaction that reads and then writes fails outright with SQLITE_BUSY when another
  connection committed in between; an immediate one waits its turn instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated, Any, Generic, TypeVar

from annotated_types import Ge, Le
from fastapi import Depends, Request
from sqlalchemy import create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.util import await_only

AfterCommit = Callable[[], Awaitable[None] | None]
T = TypeVar("T")
Unit = Callable[[Connection], T]

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


class MergedUnit(Generic[T]):
    """A unit that runs merged with the others of its class waiting in the same group.

    Two hundred webhooks at once are two hundred INSERTs of the same shape; merged, they are
    one multi-row INSERT: one round trip to PostgreSQL instead of one per unit, one
    statement's overhead in SQLAlchemy instead of one each. Units of one group were all
    waiting at the same moment, none waits on another, so running a class's units together
    (where the first of them stood) is as good an order as the one they arrived in.
    Alone (a group of one, or a group retried unit by unit) a unit is a merge of one.
    """

    def __call__(self, connection: Connection) -> T:
        return self.run_merged(connection, [self])[0]

    @classmethod
    def run_merged(cls, connection: Connection, units: list[Any]) -> list[T]:
        """One result per unit, in their order; `units` are all of this class."""
        raise NotImplementedError


def run_units(connection: Connection, units: list[Unit[Any]]) -> list[Any]:
    """Every unit's result, in order; MergedUnits run merged with the others of their class."""
    by_class: dict[type, list[int]] = {}
    for index, unit in enumerate(units):
        if isinstance(unit, MergedUnit):
            by_class.setdefault(type(unit), []).append(index)
    results: list[Any] = [None] * len(units)
    for index, unit in enumerate(units):
        if not isinstance(unit, MergedUnit):
            results[index] = unit(connection)
            continue
        positions = by_class.pop(type(unit), None)
        if positions is None:
            continue  # ran with the first of its class
        merged = type(unit).run_merged(connection, [units[position] for position in positions])
        for position, result in zip(positions, merged, strict=True):
            results[position] = result
    return results


class Wakeup:
    """Wakes this process's idle job workers when a commit queued work (workers elsewhere poll)."""

    def __init__(self) -> None:
        self._waiters: list[asyncio.Event] = []

    def register(self, waiter: asyncio.Event) -> None:
        self._waiters.append(waiter)

    def unregister(self, waiter: asyncio.Event) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)

    def notify(self) -> None:
        for waiter in self._waiters:
            waiter.set()


class Database:
    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 32) -> None:
        self.url = url
        self.wakeup = Wakeup()
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        # A pool big enough that busy workers reuse connections, and no overflow: an overflow
        # connection is opened and closed again per checkout under load (on SQLite a new
        # aiosqlite thread and the pragmas, on PostgreSQL a new server process). With 256
        # turns at once that churn cost ~7 ms of CPU per answer on SQLite in
        # bench/channels_e2e. Waiting for a pooled connection instead costs nothing: 32
        # statements at once is more than two cores run side by side anyway.
        self._units: _SQLiteUnits | None = None
        self._shared: _SharedWrites | None = None
        if self.is_sqlite:
            self.engine: AsyncEngine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=0)
            writer = _configure_sqlite(self.engine)
            self._units = _SQLiteUnits(url, writer)
        else:
            # No ping before every checkout (a round trip each time); connections are
            # recycled instead, and a job that meets a dropped connection is retried.
            self.engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=0, pool_recycle=1800
            )
            self._shared = _SharedWrites(self.engine)
        # Shares the pool; the option only changes how SQLite begins its transactions.
        self.write_engine = self.engine.execution_options(sqlite_immediate=True)
        # Statements without BEGIN and COMMIT, each its own transaction: run()'s reads on
        # PostgreSQL (each of those is a round trip of its own, asyncpg sending BEGIN before the
        # first statement, and under READ COMMITTED a transaction gives the statements no common
        # snapshot anyway) and the shared pacer's. Sessions keep their transaction: asyncpg
        # streams rows, session.stream(), only inside one.
        self.autocommit_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        maker = self._write_sessions if write else self._read_sessions
        async with maker() as session:
            session.info["wakeup"] = self.wakeup
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        await run_after_commit(session)

    async def run(self, unit: Unit[T], *, write: bool = True, share: bool = False) -> T:
        """Run `unit(connection)` as one transaction and return its result.

        A read (`write=False`) is one snapshot on SQLite; on PostgreSQL it runs without a
        transaction, each statement seeing its own snapshot as under READ COMMITTED, and so
        cannot stream its rows (`stream_results`): read those through `transaction()`.

        The unit may run more than once (a failed group is retried unit by unit), so it must do
        nothing but database work. Callbacks after the commit are the caller's, after the await.
        `share=True` lets a write share its transaction on PostgreSQL too: for short units that
        insert new rows (the webhooks', a stored turn) or change only rows their own job holds
        (a sent answer's record). A group holds its row locks until its COMMIT; should two
        processes' groups ever wait on each other, PostgreSQL's deadlock check fails one, and
        its units run again one by one.
        """
        if self._units is not None:
            return await self._units.run(unit, write=write)
        if write and share and self._shared is not None:
            return await self._shared.run(unit)
        if write:
            async with self.engine.begin() as connection:
                return await connection.run_sync(unit)
        async with self.autocommit_engine.connect() as connection:
            return await connection.run_sync(unit)

    async def dispose(self) -> None:
        if self._units is not None:
            self._units.close()
        await self.engine.dispose()


def dialect_insert(connection: Connection) -> Any:
    """The connection's dialect's `insert`, the one with ON CONFLICT."""
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def per_dialect(build: Callable[[Any], T]) -> Callable[[Connection], T]:
    """A hot-path statement built once for each dialect, by `build(that dialect's insert)`.

    Executed with its values as parameters (`connection.execute(statement, {...})`), a
    statement built once has its cache key computed once. One built per call, with
    `.values(...)`, is traversed for its key at every execution, values (JSON included) and
    all, and an ORM entity adds the ORM's bulk-insert plugin: 0.7 ms per INSERT into
    `messages`, against 0.1 ms for the prepared one.
    """
    built: dict[str, T] = {}

    def statement(connection: Connection) -> T:
        name = connection.dialect.name
        found = built.get(name)
        if found is None:
            found = built[name] = build(dialect_insert(connection))
        return found

    return statement


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the surrounding transaction has committed (never on rollback)."""
    session.info.setdefault("after_commit", []).append(callback)


def wake_after_commit(session: AsyncSession) -> None:
    """Wake this process's idle workers once the session's transaction has committed."""
    wakeup = session.info.get("wakeup")
    if wakeup is not None:
        after_commit(session, wakeup.notify)


async def run_after_commit(session: AsyncSession) -> None:
    for callback in session.info.pop("after_commit", []):
        result = callback()
        if result is not None:
            await result


class SQLiteWriterLocked(OperationalError):
    """No write lock within the wait: the same failure SQLite reports as 'database is locked'."""


# As long as SQLite's own busy_timeout: past it the write fails in the same way either way.
_WRITER_WAIT_SECONDS = 30.0


def _configure_sqlite(engine: AsyncEngine) -> asyncio.Lock:
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
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        _sqlite_connect(dbapi_connection, record)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Reads run without BEGIN: in WAL mode each statement already sees a consistent
        # snapshot, and skipping BEGIN/COMMIT saves two round trips to aiosqlite's thread
        # on every read (a third of an authenticated GET).
        if connection.get_execution_options().get("sqlite_immediate", False):
            await_only(acquire_writer())
            connection.connection.info["holds_writer"] = True
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return writer


# Units of one group: as many as arrived while the previous group ran, up to this many.
_GROUP_LIMIT = 256


class _Grouped:
    """Units queued while a group of them runs; each group runs as one by `_run_group`."""

    def __init__(self) -> None:
        self._pending: dict[bool, list[tuple[Unit[Any], asyncio.Future[Any]]]] = {True: [], False: []}
        self._draining: dict[bool, bool] = {True: False, False: False}

    async def _queue(self, unit: Unit[T], write: bool) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending[write].append((unit, future))
        if not self._draining[write]:
            self._draining[write] = True
            asyncio.get_running_loop().create_task(self._drain(write))
        return await future

    async def _run_group(self, units: list[Unit[Any]], write: bool) -> list[tuple[bool, Any]]:
        raise NotImplementedError

    async def _drain(self, write: bool) -> None:
        try:
            while self._pending[write]:
                group = self._pending[write][:_GROUP_LIMIT]
                del self._pending[write][:_GROUP_LIMIT]
                try:
                    outcomes = await self._run_group([unit for unit, _ in group], write)
                except BaseException as exc:  # noqa: BLE001 - every waiting unit hears of it
                    outcomes = [(False, exc)] * len(group)
                for (_, future), (ok, value) in zip(group, outcomes, strict=True):
                    if future.done():
                        continue  # the caller was cancelled
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self._draining[write] = False


class _SharedWrites(_Grouped):
    """PostgreSQL: the `share=True` writes waiting at the same moment, in one transaction.

    One BEGIN and one COMMIT (and one pooled connection, one greenlet) for a burst of webhooks
    instead of one of each per request. If any unit fails, the group is rolled back and each
    unit is run again in a transaction of its own, so one bad unit fails alone.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__()
        self._engine = engine

    async def run(self, unit: Unit[T]) -> T:
        return await self._queue(unit, True)

    async def _run_group(self, units: list[Unit[Any]], write: bool) -> list[tuple[bool, Any]]:
        if len(units) > 1:
            with contextlib.suppress(Exception):  # retried one by one below
                async with self._engine.begin() as connection:
                    results = await connection.run_sync(partial(run_units, units=units))
                return [(True, result) for result in results]
        outcomes: list[tuple[bool, Any]] = []
        for unit in units:
            try:
                async with self._engine.begin() as connection:
                    outcomes.append((True, await connection.run_sync(unit)))
            except Exception as exc:  # noqa: BLE001 - handed to that unit's caller
                outcomes.append((False, exc))
        return outcomes


class _SQLiteUnits(_Grouped):
    """Units of work on SQLite, each group of waiting units in one thread hand-off.

    Writes: one thread with its own connection. The group runs in one BEGIN IMMEDIATE ...
    COMMIT, holding this process's writer lock (the one the async engine's writers queue on)
    for exactly that long. If any unit fails, the group is rolled back and each unit is run
    again in a transaction of its own, so one bad unit fails alone.
    Reads: a second thread and connection; a group of reads is one hand-off, without BEGIN
    (in WAL mode each statement sees a consistent snapshot; a unit that needs one snapshot
    across statements runs as a write).
    """

    def __init__(self, url: str, writer: asyncio.Lock) -> None:
        super().__init__()
        sync_url = make_url(url).set(drivername="sqlite")
        self._writer = writer
        self._engine = create_engine(sync_url, poolclass=StaticPool)
        self._read_engine = create_engine(sync_url, poolclass=StaticPool)
        for engine in (self._engine, self._read_engine):
            event.listen(engine, "connect", _sqlite_connect)
        self._write_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._read_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-reader")
        self._local = threading.local()

    async def run(self, unit: Unit[T], *, write: bool) -> T:
        return await self._queue(unit, write)

    async def _run_group(self, units: list[Unit[Any]], write: bool) -> list[tuple[bool, Any]]:
        loop = asyncio.get_running_loop()
        if not write:
            return await loop.run_in_executor(self._read_thread, self._read_group, units)
        try:
            await asyncio.wait_for(self._writer.acquire(), _WRITER_WAIT_SECONDS)
        except TimeoutError as exc:
            raise SQLiteWriterLocked("BEGIN IMMEDIATE", None, exc) from exc
        try:
            return await loop.run_in_executor(self._write_thread, self._write_group, units)
        finally:
            self._writer.release()

    def _connection(self, engine: Any, name: str) -> Connection:
        connection: Connection | None = getattr(self._local, name, None)
        if connection is None:
            connection = engine.connect()
            setattr(self._local, name, connection)
        return connection

    def _write_group(self, units: list[Unit[Any]]) -> list[tuple[bool, Any]]:
        connection = self._connection(self._engine, "writer")
        if len(units) > 1:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                results = run_units(connection, units)
                connection.commit()
                return [(True, r) for r in results]
            except Exception:  # noqa: BLE001 - retried one by one below
                connection.rollback()
        outcomes: list[tuple[bool, Any]] = []
        for unit in units:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                result = unit(connection)
                connection.commit()
                outcomes.append((True, result))
            except Exception as exc:  # noqa: BLE001 - handed to that unit's caller
                connection.rollback()
                outcomes.append((False, exc))
        return outcomes

    def _read_group(self, units: list[Unit[Any]]) -> list[tuple[bool, Any]]:
        connection = self._connection(self._read_engine, "reader")
        outcomes: list[tuple[bool, Any]] = []
        for unit in units:
            try:
                outcomes.append((True, unit(connection)))
            except Exception as exc:  # noqa: BLE001 - handed to that unit's caller
                outcomes.append((False, exc))
        connection.rollback()  # ends SQLAlchemy's transaction; SQLite has none open (no BEGIN)
        return outcomes

    def close(self) -> None:
        for thread in (self._write_thread, self._read_thread):
            thread.shutdown(wait=True)
        self._engine.dispose()
        self._read_engine.dispose()


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let us emit BEGIN ourselves; pysqlite's own transaction handling is lazy and would
    # defer the write lock.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in _SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


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
