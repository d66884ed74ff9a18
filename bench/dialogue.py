"""Issue 4: dialogue turns per second through the durable jobs, SQLite and PostgreSQL.

- Throughput: N inbound Telegram messages (one per conversation) are stored as the webhook
  stores them (`channels.inbound.StoreEvents`: the event and its `channel_event` job),
  then a WorkerPool drains them; the LLM is bench/fakellm.py (instant, real
  chat.completions protocol) in another process. Every turn does the real work: history,
  search over the agent's 300 knowledge chunks, prompt, the openai SDK call, the answer row,
  and the sender's verdict (the agent has no bot connected, so the answer is marked "not
  sent" instead of going to a fake: bench/channels_e2e.py measures the send).
  Baseline: the same number of no-op jobs drained by the same pool configuration.
- Slow model: the fake answers after 2 s; 2,000 conversations at once; time until all are
  answered, and the peak RSS of this (the worker) process.
Workers run on uvloop in this process, as under `botcraft serve`.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import time
from typing import Any

from bench.common import (
    PYTHON,
    ROOT,
    RSSSampler,
    free_port,
    goal,
    make_settings,
    new_database_url,
    run_async,
    seed_knowledge,
    seed_owner,
    stop_process,
    wait_port,
    workdir,
    write_result,
)
from bench.corpus import QUESTIONS, WORDS_RU

N_TURNS = 1000
CONFIGS = [(2, 16), (2, 64)]  # (worker loops, concurrency per loop); (2, 16) = serve's default
SLOW_CONVERSATIONS = 2000
SLOW_DELAY_S = 2.0
SLOW_CONFIG = (2, 1000)
SLOW_TIMEOUT_S = 30
NOOP = "bench_noop"


def _fake_llm(delay: float = 0.0) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "bench.fakellm", str(port), str(delay)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port, process)
    return process, port


async def _record(db: Any, agent: Any, start: int, n: int) -> float:
    from botcraft.channels.events import EventKind, InboundEvent
    from botcraft.channels.inbound import EventBatch, StoreEvents

    texts = QUESTIONS + WORDS_RU
    t0 = time.perf_counter()
    for batch in range(start, start + n, 200):
        events = [
            InboundEvent(channel="telegram", kind=EventKind.MESSAGE, event_id=f"update:{i}", chat_id=str(i),
                         customer_name=f"Клиент {i}", text=texts[i % len(texts)], message_id=str(i))
            for i in range(batch, min(batch + 200, start + n))
        ]
        await db.run(StoreEvents([EventBatch(agent.id, "telegram", events, raw=None)]))
    return time.perf_counter() - t0


def _runtime(settings: Any, db: Any) -> Any:
    """A worker process's runtime, as services.Background makes it (without starting anything)."""
    from botcraft.channels.inbound import LastEventClock
    from botcraft.channels.manager import ChannelManager
    from botcraft.channels.ratelimit import SendPacer
    from botcraft.runtime import Runtime
    from botcraft.services import register_handlers

    register_handlers()
    runtime = Runtime(settings, db)
    runtime.channels, runtime.pacer, runtime.last_event = ChannelManager(runtime), SendPacer(), LastEventClock()
    return runtime


async def _drain(
    runtime: Any, counter: dict[str, int], target: int, workers: int, concurrency: int, timeout: float = 120
) -> float:
    from botcraft.jobs.worker import WorkerPool

    pool = WorkerPool(runtime, workers, concurrency=concurrency, poll_interval=0.5)
    t0 = time.perf_counter()
    pool.start()
    deadline = t0 + timeout
    try:
        while counter["n"] < target and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        return time.perf_counter() - t0
    finally:
        await pool.stop(grace_seconds=10)


async def _measure(kind: str, llm_port: int, slow_port: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from botcraft.db import Database
    from botcraft.services import register_handlers

    register_handlers()
    from botcraft.jobs import queue
    from botcraft.jobs.registry import HANDLERS
    from botcraft.models import Agent, Job, Message

    work = workdir(f"dialogue-{kind}")
    url = await new_database_url(kind, work)
    out: dict[str, Any] = {}
    counter = {"n": 0}
    turn_handler = HANDLERS["channel_event"]

    async def counted_turn(runtime: Any, job: Any) -> None:
        await turn_handler(runtime, job)
        counter["n"] += 1

    async def noop(_runtime: Any, _job: Any) -> None:
        counter["n"] += 1

    deliver_handler = HANDLERS.get("deliver_message")
    HANDLERS["channel_event"] = counted_turn
    HANDLERS[NOOP] = noop
    try:
        settings = make_settings(
            work / "data",
            url,
            OPENAI_BASE_URL=f"http://127.0.0.1:{llm_port}/v1",
            OPENAI_API_KEY="sk-bench-0000000000",
            OPENAI_MODEL="fake-model",
        )
        db = Database(url)
        runtime = _runtime(settings, db)
        _, agent_id = await seed_owner(db)
        await seed_knowledge(db, agent_id)
        async with db.transaction(write=False) as session:
            agent = await session.get(Agent, agent_id)

        # Baseline: bare job round trips with a no-op handler, serve's default pool.
        for start in range(0, N_TURNS, 500):
            async with db.transaction() as session:
                for i in range(start, start + 500):
                    queue.enqueue(session, NOOP, {"i": i})
        counter["n"] = 0
        noop_s = await _drain(runtime, counter, N_TURNS, *CONFIGS[0])
        out["baseline_noop_jobs"] = {
            "jobs": N_TURNS,
            "seconds": round(noop_s, 2),
            "jobs_per_s": round(N_TURNS / noop_s, 1),
            "pool": list(CONFIGS[0]),
        }

        runs = []
        offset = 0
        for workers, concurrency in CONFIGS:
            record_s = await _record(db, agent, offset, N_TURNS)
            counter["n"] = 0
            cpu0 = time.process_time()
            seconds = await _drain(runtime, counter, N_TURNS, workers, concurrency)
            cpu = time.process_time() - cpu0
            runs.append(
                {
                    "workers": workers,
                    "concurrency_per_worker": concurrency,
                    "turns": counter["n"],
                    "seconds": round(seconds, 2),
                    "turns_per_s": round(counter["n"] / seconds, 1),
                    "worker_process_cpu_ms_per_turn": round(cpu / max(counter["n"], 1) * 1000, 2),
                    "record_inbound_per_s": round(N_TURNS / record_s, 1),
                }
            )
            offset += N_TURNS
        async with db.transaction(write=False) as session:
            answers = await session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.direction == "out", Message.answered_by == "llm")
            )
            dead = await session.scalar(
                select(func.count()).select_from(Job).where(Job.kind == "channel_event", Job.status != "done")
            )
        best = max(runs, key=lambda r: r["turns_per_s"])
        out["throughput"] = runs
        out["llm_answers_stored"] = answers
        out["dialogue_jobs_not_done"] = dead
        out["best_turns_per_s"] = best["turns_per_s"]
        out["ratio_best_to_noop_jobs"] = round(best["turns_per_s"] / out["baseline_noop_jobs"]["jobs_per_s"], 3)
        await runtime.close()

        await db.dispose()
    finally:
        HANDLERS["channel_event"] = turn_handler
        if deliver_handler is not None:
            HANDLERS["deliver_message"] = deliver_handler
        else:
            HANDLERS.pop("deliver_message", None)
        HANDLERS.pop(NOOP, None)
    return out


async def _slow(kind: str, slow_port: int) -> dict[str, Any]:
    """In a fresh process, so that its RSS is the worker's own and nothing left by other benchmarks."""
    import os

    from sqlalchemy import func, select

    from botcraft.db import Database
    from botcraft.services import register_handlers

    register_handlers()
    from botcraft.jobs.registry import HANDLERS
    from botcraft.models import Agent, Job

    counter = {"n": 0}
    turn_handler = HANDLERS["channel_event"]

    async def counted_turn(runtime: Any, job: Any) -> None:
        await turn_handler(runtime, job)
        counter["n"] += 1

    HANDLERS["channel_event"] = counted_turn
    work = workdir(f"dialogue-slow-{kind}")
    url = await new_database_url(kind, work)
    settings = make_settings(
        work / "data",
        url,
        OPENAI_BASE_URL=f"http://127.0.0.1:{slow_port}/v1",
        OPENAI_API_KEY="sk-bench-0000000000",
        OPENAI_MODEL="fake-model",
    )
    db = Database(url)
    runtime = _runtime(settings, db)
    _, agent_id = await seed_owner(db)
    await seed_knowledge(db, agent_id)
    async with db.transaction(write=False) as session:
        agent = await session.get(Agent, agent_id)
    record_s = await _record(db, agent, 0, SLOW_CONVERSATIONS)
    idle = RSSSampler(os.getpid())
    with idle:
        await asyncio.sleep(0.05)
    with RSSSampler(os.getpid(), interval=0.02) as rss:
        seconds = await _drain(runtime, counter, SLOW_CONVERSATIONS, *SLOW_CONFIG, timeout=SLOW_TIMEOUT_S)
    async with db.transaction(write=False) as session:
        retried = await session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == "channel_event", Job.attempts > 1)
        )
    await runtime.close()
    await db.dispose()
    return {
        "conversations": SLOW_CONVERSATIONS,
        "llm_delay_s": SLOW_DELAY_S,
        "workers": SLOW_CONFIG[0],
        "concurrency_per_worker": SLOW_CONFIG[1],
        "answered": counter["n"],
        "seconds_until_all_answered_or_timeout": round(seconds, 2),
        "timeout_s": SLOW_TIMEOUT_S,
        "turn_jobs_retried": retried,
        "record_inbound_seconds": round(record_s, 2),
        "rss_before_mb": idle.as_dict()["peak_server_process_mb"],
        "peak_rss_mb": rss.as_dict()["peak_server_process_mb"],
    }


def _slow_in_subprocess(kind: str, slow_port: int) -> dict[str, Any]:
    import json

    out = subprocess.run(
        [PYTHON, "-m", "bench.dialogue", "slow", kind, str(slow_port)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SLOW_TIMEOUT_S + 90,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run() -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 16384)), hard))
    llm, llm_port = _fake_llm()
    slow, slow_port = _fake_llm(SLOW_DELAY_S)
    try:
        figures = {}
        for kind in ("sqlite", "postgresql"):
            figures[kind] = run_async(_measure(kind, llm_port, slow_port))
            figures[kind]["slow_llm"] = _slow_in_subprocess(kind, slow_port)
    finally:
        stop_process(llm)
        stop_process(slow)
    tput_ok = all(f["best_turns_per_s"] >= 300 for f in figures.values())
    slow_ok = all(
        f["slow_llm"]["answered"] == SLOW_CONVERSATIONS
        and f["slow_llm"]["seconds_until_all_answered_or_timeout"] <= 5
        and f["slow_llm"]["peak_rss_mb"] <= 300
        for f in figures.values()
    )
    return write_result(
        "dialogue",
        {
            "setup": {
                "turns_per_run": N_TURNS,
                "channel": "telegram",
                "knowledge_chunks": 300,
                "llm": "bench/fakellm.py (OpenAI chat.completions over HTTP/1.1, uvloop), separate process",
                "configs": CONFIGS,
                "loop": "uvloop",
            },
            **figures,
            "goal": goal(
                ">= 300 turns/s on both databases; 2,000 conversations with a 2 s model all answered "
                "within 5 s with peak RSS <= 300 MB",
                tput_ok and slow_ok,
                throughput_pass=tput_ok,
                slow_llm_pass=slow_ok,
            ),
        },
    )


if __name__ == "__main__":
    import json
    import sys

    if sys.argv[1] == "slow":
        from bench.common import shutdown_postgres

        try:
            print(json.dumps(run_async(_slow(sys.argv[2], int(sys.argv[3])))))
        finally:
            shutdown_postgres()
