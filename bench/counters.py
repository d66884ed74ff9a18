"""Database work counters for a server under benchmark (BotCraft or the peer).

    BENCH_COUNTERS=/tmp/x.json python -m bench.server app PORT

`install()` counts, in this process:
- aiosqlite thread hops: every call handed to an aiosqlite connection's thread (each is a
  queue put, a thread wake-up and a future resolved back on the event loop);
- BotCraft's own unit threads (botcraft.db `Database.run`): each group of units handed to
  its SQLite thread is one hop, like one aiosqlite call;
- statements: each execute / executemany / executescript / commit that reaches SQLite through
  aiosqlite (COMMIT is a statement SQLite runs; a rollback of nothing is a hop only), each
  statement and COMMIT through SQLAlchemy's sync SQLite driver (the unit threads), and on
  PostgreSQL each statement SQLAlchemy sends plus each BEGIN, COMMIT and ROLLBACK (asyncpg
  sends each as a round trip of its own).
With BENCH_COUNTERS_SQL=1 the file also tallies each statement by its first words ("sql").
A daemon thread writes the totals to the file every 50 ms; the bench reads them before and
after a phase and divides the difference by the updates answered in between.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

_STATEMENTS = {"execute", "executemany", "executescript", "commit"}
_hops = itertools.count()
_statements = itertools.count()
_pg_statements = itertools.count()
_by_text: collections.Counter[str] = collections.Counter()  # with BENCH_COUNTERS_SQL: statements by first words


def _value(counter: itertools.count[int]) -> int:
    # itertools.count has no getter, but its repr carries the value; next() is atomic under the GIL.
    return int(repr(counter)[6:-1])


def install(botcraft: bool) -> None:
    """Count in this process; the peer (`botcraft=False`) gets only its aiosqlite counters.

    The peer must not import botcraft, SQLAlchemy or asyncpg to be counted: they would add to
    its memory and change what it loads (botcraft's import defers aiogram's type builds).
    """
    path = os.environ.get("BENCH_COUNTERS")
    if not path:
        return
    import aiosqlite.core

    original = aiosqlite.core.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        next(_hops)
        if getattr(fn, "__name__", "") in _STATEMENTS:
            next(_statements)
        return await original(self, fn, *args, **kwargs)

    aiosqlite.core.Connection._execute = counted  # type: ignore[method-assign]
    if botcraft:
        _count_botcraft()
    _dump_every_50_ms(Path(path))


def _count_botcraft() -> None:
    from asyncpg.transaction import Transaction
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    by_text = bool(os.environ.get("BENCH_COUNTERS_SQL"))

    @event.listens_for(Engine, "before_cursor_execute")
    def _statement(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if by_text:
            _by_text[" ".join(statement.split())[:90]] += 1
        if conn.dialect.name == "postgresql":
            next(_pg_statements)
        elif conn.dialect.driver == "pysqlite":
            next(_statements)

    @event.listens_for(Engine, "commit")
    def _commit(conn: Any) -> None:
        if conn.dialect.driver == "pysqlite":
            next(_statements)

    from botcraft.db import _SQLiteUnits

    for name in ("start", "commit", "rollback"):  # BEGIN, COMMIT, ROLLBACK: a round trip each

        async def round_trip(self: Any, _original: Any = getattr(Transaction, name)) -> Any:
            next(_pg_statements)
            return await _original(self)

        setattr(Transaction, name, round_trip)

    for name in ("_write_group", "_read_group"):

        def hop(self: Any, units: Any, _run: Any = getattr(_SQLiteUnits, name)) -> Any:
            next(_hops)
            return _run(self, units)

        setattr(_SQLiteUnits, name, hop)


def _dump_every_50_ms(target: Path) -> None:
    def dump() -> None:
        while True:
            body = {
                "hops": _value(_hops),
                "statements": _value(_statements),
                "pg_statements": _value(_pg_statements),
                "at": time.time(),
                **({"sql": dict(_by_text)} if _by_text else {}),
            }
            tmp = target.with_suffix(".tmp")
            tmp.write_text(json.dumps(body))
            tmp.replace(target)
            time.sleep(0.05)

    threading.Thread(target=dump, name="bench-counters", daemon=True).start()


def read(path: str | Path) -> dict[str, int]:
    """The totals as last written (waits for a fresh write, so nothing in flight is missed)."""
    time.sleep(0.12)
    return {k: v for k, v in json.loads(Path(path).read_text()).items() if k not in ("at", "sql")}
