"""Shared helpers: machine info, percentiles, result files, databases, servers, RSS sampling."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PYTHON = sys.executable

_pg: Any = None
_pg_counter = 0


# ------------------------------------------------------------------ machine and results


def machine_info() -> dict[str, Any]:
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        import psutil

        mem = round(psutil.virtual_memory().total / 2**30, 1)
    except Exception:  # noqa: BLE001
        pass
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        # Other work on the machine skews absolute figures; the same-run baselines less so.
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def _commit() -> str | None:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "botcraft"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}{'+dirty' if dirty else ''}" if head else None


def peak_rss_mb(pid: int | None = None) -> float:
    """A process's peak RSS since it started its program (VmHWM): this one's, or `pid`'s.
    ru_maxrss is not that after a fork and exec: Linux carries the parent's peak over into
    the child's."""
    try:
        with open(f"/proc/{pid or 'self'}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        if pid is not None:
            raise
    if pid is not None:
        raise LookupError(f"no VmHWM for process {pid}")
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KB on Linux


def pct(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank on the sorted values)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(pct(ms, 50), 3),
        "p90_ms": round(pct(ms, 90), 3),
        "p99_ms": round(pct(ms, 99), 3),
        "max_ms": round(max(ms), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
    }


def write_result(name: str, body: dict[str, Any]) -> dict[str, Any]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"benchmark": name, "machine": machine_info(), **body}
    tmp = RESULTS / f"{name}.json.tmp"
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    tmp.replace(RESULTS / f"{name}.json")
    return result


def goal(description: str, passed: bool | None, **details: Any) -> dict[str, Any]:
    return {"description": description, "pass": passed, **details}


# ------------------------------------------------------------------ databases


def postgres() -> Any:
    """One throwaway PostgreSQL cluster for the whole bench run (tests/pg_cluster.py)."""
    global _pg
    if _pg is None:
        from tests.pg_cluster import PostgresCluster

        cluster = PostgresCluster()
        cluster.start()
        _pg = cluster
    return _pg


def shutdown_postgres() -> None:
    global _pg
    if _pg is not None:
        _pg.stop()
        _pg = None


async def new_database_url(kind: str, workdir: Path) -> str:
    """A fresh, migrated database of `kind` ("sqlite" or "postgresql")."""
    global _pg_counter
    from botcraft import migrate
    from botcraft.db import Database

    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    else:
        import asyncpg

        cluster = postgres()
        _pg_counter += 1
        name = f"bench_{os.getpid()}_{_pg_counter}"
        conn = await asyncpg.connect(f"postgresql://{cluster.user}@127.0.0.1:{cluster.port}/postgres")
        try:
            await conn.execute(f"CREATE DATABASE {name}")
        finally:
            await conn.close()
        url = cluster.url(name)
    db = Database(url)
    try:
        await migrate.upgrade(db)
    finally:
        await db.dispose()
    return url


def make_settings(data_dir: Path, database_url: str, **extra: Any) -> Any:
    from cryptography.fernet import Fernet

    from botcraft.config import Settings

    data_dir.mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {
        "ENV": "development",
        "DATA_DIR": data_dir,
        "DATABASE_URL": database_url,
        "JWT_SECRET_KEY": "bench-jwt-secret-" + "x" * 32,
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "TELEGRAM_TOKEN": "",
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": "",
        "WORKERS_IN_SERVE": 0,
        "LOG_LEVEL": "WARNING",
    }
    values.update(extra)
    return Settings(_env_file=None, **values).finalize()  # type: ignore[call-arg]


async def run_queued_jobs(runtime: Any, kind: str) -> int:
    """Run the queued jobs of `kind` as a worker would: claimed (leased to this process), then
    handed to their registered handler, which completes them. Returns how many ran."""
    from botcraft.jobs import queue
    from botcraft.services import JOB_HANDLERS

    handler = JOB_HANDLERS[kind]
    ran = 0
    while True:
        claimed = await queue.claim(runtime.db, "bench", limit=20, lease_seconds=3600)
        if not claimed:
            return ran
        for job in claimed:
            assert job.kind == kind, f"unexpected {job.kind} job in the bench's queue"
            await handler(runtime, job)
            ran += 1


async def seed_owner(db: Any, *, agent_name: str = "Магазин") -> tuple[int, int]:
    """A user and one agent, straight into the database: (user_id, agent_id)."""
    from botcraft.models import Agent, User

    async with db.transaction() as session:
        user = User(email=f"owner{time.time_ns()}@example.com", display_name="Owner")
        session.add(user)
        await session.flush()
        agent = Agent(
            user_id=user.id,
            name=agent_name,
            business_description="Интернет-магазин одежды и товаров для дома, доставка по России",
            capabilities="Консультации, заказы, доставка",
            tone="дружелюбный",
            system_prompt="Ты — помощник магазина. Отвечай по материалам.",
            language="ru",
            integrations_json={},
        )
        session.add(agent)
        await session.flush()
        return user.id, agent.id


def workdir(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"botcraft-bench-{name}-"))


# ------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop_process(process: subprocess.Popen[Any], timeout: float = 15) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RSSSampler:
    """Peak RSS of a process and all its descendants, sampled every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak_total = 0
        self.peak_main = 0
        self.peak_children = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                main = self.process.memory_info().rss
            except psutil.Error:
                break
            children = 0
            try:
                for child in self.process.children(recursive=True):
                    try:
                        children += child.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            self.peak_main = max(self.peak_main, main)
            self.peak_children = max(self.peak_children, children)
            self.peak_total = max(self.peak_total, main + children)
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RSSSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def as_dict(self) -> dict[str, Any]:
        mb = 1024 * 1024
        return {
            "peak_total_mb": round(self.peak_total / mb, 1),
            "peak_server_process_mb": round(self.peak_main / mb, 1),
            "peak_children_mb": round(self.peak_children / mb, 1),
            "samples": self.samples,
        }


def run_async(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


async def seed_knowledge(db: Any, agent_id: int, *, filename: str = "price.xlsx", n: int = 300) -> None:
    """`n` chunks of a generated price list and catalogue, indexed, for an agent to answer from."""
    from sqlalchemy import insert

    from bench.corpus import chunks
    from botcraft.language.analyzer import index_text
    from botcraft.models import Chunk, Document

    async with db.transaction() as session:
        doc = Document(agent_id=agent_id, filename=filename, file_path="x", file_type="xlsx", size=1,
                       sha256="0" * 64, status="ready", is_processed=True)
        session.add(doc)
        await session.flush()
        rows = [
            {"document_id": doc.id, "agent_id": agent_id, "ordinal": i, "text": body,
             "search_text": index_text(body), "page": src.get("page"), "sheet": src.get("sheet"),
             "row_start": src.get("row_start"), "row_end": src.get("row_end")}
            for i, (body, src) in enumerate(chunks(n, seed=3))
        ]
        await session.execute(insert(Chunk), rows)


def start_pinned_server(cmd: list[str], env: dict[str, str],
                        log: Path | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """Start `cmd PORT` on core 0 (the load generator gets core 1); returns it once it listens.
    Its output goes to `log` when given (kept for a run that went wrong), else nowhere."""
    port = free_port()
    with log.open("wb") if log is not None else open(os.devnull, "wb") as output:  # the child keeps its copy
        process = subprocess.Popen(
            [*cmd, str(port)], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
            preexec_fn=lambda: os.sched_setaffinity(0, {0}),
        )
    wait_port(port, process)
    return process, port


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def wait_until_idle(pid: int, *, below: float = 0.05, window_s: float = 1.0, timeout_s: float = 120.0) -> float:
    """Wait until the process uses under `below` of a core over `window_s` (its start-up work,
    such as loading the local embedding model in the background, is done); the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        before = cpu_seconds(pid)
        time.sleep(window_s)
        if cpu_seconds(pid) - before < below * window_s:
            break
    return round(time.monotonic() - started, 1)
