"""Issues 5 and 6 end to end: webhook → stored event → job → dialogue turn → answer at the fake.

- Every phase is bounded: posting stops after POST_SECONDS (or N updates), then every posted
  update must be answered within ANSWER_GRACE_S; unanswered ones are reported.
- Telegram: up to N text updates, each from its own chat (customers write one message each; the
  per-chat pace of 1 message/s stays the product's default), posted to `POST
  /webhook/telegram` with the agent's secret by a separate load process (httpx, 16
  connections, as fast as the app acknowledges). An update counts as answered when the fake
  Telegram receives its sendMessage. Answers/s = N / (first post → last answer).
- Duplicates: M updates, each delivered twice (the copies interleaved in the stream);
  sendMessage is counted per chat (one update per chat): zero duplicates is the goal.
- WhatsApp: N signed text messages (X-Hub-Signature-256 over the raw body, distinct wamids
  and customers) to `POST /webhook/whatsapp`; answered when the fake Graph API receives the
  text send (read receipts are not counted).
- Baselines in the same run: the rate at which the same app acknowledged the same posts
  (ingress, workers running), and the fake's own capacity (aiogram sendMessage / httpx
  Graph sends straight at the fake from the load process), so the fake is shown not to be
  the limit.

The app runs as `botcraft serve` (bench/server.py, one uvicorn process pinned to core 0) with
WORKERS_IN_SERVE=1 and WORKER_CONCURRENCY=256 (the defaults), TELEGRAM_RATE_PER_BOT=100000
(one bot carries all the traffic; the real limit is 30/s per bot, so this stands for many
bots), TELEGRAM_RATE_PER_CHAT=1 (default). The LLM is bench/fakellm.py (instant, real
chat.completions protocol) in its own process; the agent has 300 knowledge chunks so every
turn does a real search. Fakes and the load process share core 1.

    python -m bench.channels_e2e     # writes bench/results/channels_e2e.json
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.channels_ingress import APP_SECRET, NAMES, TEXTS, _app_env, connect_agent
from bench.common import (
    PYTHON,
    ROOT,
    free_port,
    goal,
    new_database_url,
    postgres,
    run_async,
    seed_knowledge,
    shutdown_postgres,
    start_pinned_server,
    stop_process,
    summary_ms,
    wait_port,
    workdir,
    write_result,
)

N_TELEGRAM = 3000
N_DUPLICATES = 1000
N_WHATSAPP = 2000
POST_CONCURRENCY = 16
POST_SECONDS = 12  # per phase: posting stops after this (fewer updates when the app is slow)
ANSWER_GRACE_S = 20  # then every posted update must be answered within this
SETTLE_S = 2.0  # after the last expected answer, wait this long for (duplicate) stragglers
TIMEOUT_S = 60
WORKERS = 1
WORKER_CONCURRENCY = 256
RATE_PER_BOT = 100_000


# ------------------------------------------------------------------ request bodies


def telegram_update(update_id: int, chat_id: int, message_id: int) -> bytes:
    name = NAMES[chat_id % len(NAMES)]
    body = {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "date": int(time.time()),
            "from": {"id": chat_id, "is_bot": False, "first_name": name, "language_code": "ru"},
            "chat": {"id": chat_id, "first_name": name, "type": "private"},
            "text": TEXTS[update_id % len(TEXTS)],
        },
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def whatsapp_message(phone_number_id: str, wa_id: str, n: int) -> bytes:
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "79001234567", "phone_number_id": phone_number_id},
                            "contacts": [{"profile": {"name": NAMES[n % len(NAMES)]}, "wa_id": wa_id}],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": f"wamid.HBgLNzkwMDEyMzQ1NjcVAgASGBQz{n:012d}",
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": TEXTS[n % len(TEXTS)]},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(body, separators=(",", ":")).encode()  # \\uXXXX, as Meta sends


# ------------------------------------------------------------------ the load process


async def _post_all(spec: dict[str, Any]) -> dict[str, Any]:
    import httpx

    requests: list[tuple[str, dict[str, str], bytes, int]] = []
    if spec["kind"] == "telegram":
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": spec["secret"]}
        for i in range(spec["n"]):
            chat = spec["first_chat"] + i
            body = telegram_update(spec["first_id"] + i, chat, 1000 + i)
            requests.extend([("/webhook/telegram", headers, body, chat)] * spec["copies"])
    else:
        for i in range(spec["n"]):
            body = whatsapp_message(spec["phone_number_id"], str(spec["first_chat"] + i), spec["first_id"] + i)
            sig = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
            headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sig}
            requests.extend([("/webhook/whatsapp", headers, body, spec["first_chat"] + i)] * spec["copies"])
    if spec["copies"] > 1:  # interleave: copy 2 of update i goes out around update i + 8
        first, second = requests[0::2], requests[1::2]
        requests = []
        for i in range(len(first)):
            requests.append(first[i])
            if i >= 8:
                requests.append(second[i - 8])
        requests.extend(second[max(0, len(first) - 8) :])
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    first_sent: dict[int, float] = {}
    it = iter(requests)
    limits = httpx.Limits(max_connections=spec["concurrency"], max_keepalive_connections=spec["concurrency"])
    async with httpx.AsyncClient(base_url=spec["url"], limits=limits, timeout=30) as client:
        deadline = time.time() + spec["post_seconds"]

        async def worker() -> None:
            for path, headers, body, chat in it:
                if time.time() > deadline and chat not in first_sent:
                    continue  # time is up: only the second copies of updates already sent go out
                first_sent.setdefault(chat, time.time())
                t0 = time.perf_counter()
                try:
                    r = await client.post(path, content=body, headers=headers)
                    statuses[r.status_code] += 1
                except httpx.HTTPError:
                    statuses[-1] += 1
                latencies.append(time.perf_counter() - t0)

        started = time.time()
        await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))
        finished = time.time()
    return {
        "started": started,
        "finished": finished,
        "requests": sum(statuses.values()),
        "statuses": {str(k): v for k, v in statuses.items()},
        "ack_latency": summary_ms(latencies),
        "first_sent": first_sent,
    }


async def _fake_capacity(spec: dict[str, Any]) -> dict[str, Any]:
    """sendMessage (aiogram, as the app sends) or a Graph text send (httpx), straight at the fake."""
    n, conc = spec["n"], spec["concurrency"]
    sem = asyncio.Semaphore(conc)
    t0 = time.perf_counter()
    if spec["kind"] == "telegram":
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        bot = Bot(spec["token"], session=AiohttpSession(api=TelegramAPIServer.from_base(spec["url"])))

        async def one(i: int) -> None:
            async with sem:
                await bot.send_message(
                    spec["first_chat"] + i, "Доставка по Москве стоит <b>300 ₽</b>.", parse_mode="HTML"
                )

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        seconds = time.perf_counter() - t0
        await bot.session.close()
    else:
        import httpx

        async with httpx.AsyncClient(base_url=spec["url"], timeout=30) as client:

            async def send(i: int) -> None:
                async with sem:
                    r = await client.post(
                        f"/v21.0/{spec['phone_number_id']}/messages",
                        headers={"Authorization": f"Bearer {spec['token']}"},
                        json={
                            "messaging_product": "whatsapp",
                            "to": str(spec["first_chat"] + i),
                            "type": "text",
                            "text": {"body": "Доставка стоит 300 ₽."},
                        },
                    )
                    r.raise_for_status()

            t0 = time.perf_counter()
            await asyncio.gather(*(send(i) for i in range(n)))
            seconds = time.perf_counter() - t0
    return {"sends": n, "concurrency": conc, "seconds": round(seconds, 2), "sends_per_s": round(n / seconds, 1)}


def _load_main(mode: str, spec_json: str) -> None:
    spec = json.loads(spec_json)
    coro = _post_all(spec) if mode == "post" else _fake_capacity(spec)
    Path(spec["output"]).write_text(json.dumps(run_async(coro)))


def _load(mode: str, spec: dict[str, Any]) -> tuple[subprocess.Popen[bytes], Path]:
    import tempfile

    fd, output = tempfile.mkstemp(suffix=".json", prefix="bench-load-")
    os.close(fd)
    spec = {**spec, "output": output}
    process = subprocess.Popen(
        [PYTHON, "-m", "bench.channels_e2e", mode, json.dumps(spec)],
        cwd=ROOT,
        preexec_fn=lambda: os.sched_setaffinity(0, {1}),
    )
    return process, Path(output)


def _load_result(load: tuple[subprocess.Popen[bytes], Path], timeout: float = TIMEOUT_S + 30) -> dict[str, Any]:
    process, output = load
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"load process failed with {process.returncode}")
    result: dict[str, Any] = json.loads(output.read_text())
    output.unlink(missing_ok=True)
    return result


# ------------------------------------------------------------------ fakes that time their answers


def _timed_telegram_fake() -> Any:
    from tests.fakes.telegram_fake import TelegramFake

    class TimedTelegramFake(TelegramFake):
        """Records when each chat's sendMessage arrived (wall clock, comparable across processes)."""

        def __init__(self) -> None:
            super().__init__()
            self.answered: dict[int, list[float]] = {}

        def _send_message(self, bot: Any, params: dict[str, Any]) -> dict[str, Any]:
            result = super()._send_message(bot, params)
            with self._lock:
                self.answered.setdefault(int(params["chat_id"]), []).append(time.time())
            return result

        def answers_in(self, chats: range) -> int:
            with self._lock:
                return sum(1 for c in chats if c in self.answered)

    return TimedTelegramFake()


def _wa_answers(graph: Any, chats: range) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    with graph._lock:
        for m in graph._sent:
            to = int(m["to"])
            if to in chats:
                out.setdefault(to, []).append(m["at"])
    return out


async def _seed_knowledge(url: str, agent_id: int) -> None:
    """300 chunks of the agent's price list and catalogue, as bench/dialogue.py seeds them."""
    from botcraft.db import Database

    db = Database(url)
    try:
        await seed_knowledge(db, agent_id, filename="прайс.xlsx")
    finally:
        await db.dispose()


def _phase(name: str, load_spec: dict[str, Any], answered: Any, chats: range) -> dict[str, Any]:
    """Post (bounded by POST_SECONDS), wait for an answer to every posted update (bounded by
    ANSWER_GRACE_S after the last post), settle, and compute the figures from the timings."""
    process, output = _load("post", {**load_spec, "post_seconds": load_spec.get("post_seconds", POST_SECONDS)})
    while process.poll() is None:
        time.sleep(0.05)
    posted = _load_result((process, output))
    sent_chats = [c for c in chats if str(c) in posted["first_sent"]]
    deadline = time.time() + ANSWER_GRACE_S
    while time.time() < deadline:
        answers = answered()
        if sum(1 for c in sent_chats if c in answers) >= len(sent_chats):
            break
        time.sleep(0.02)
    time.sleep(SETTLE_S)
    answers = answered()
    got = [c for c in sent_chats if c in answers]
    last = max((answers[c][0] for c in got), default=posted["finished"])
    seconds = last - posted["started"]
    per_chat = Counter(len(answers[c]) for c in got)
    print(
        f"   {name}: {len(got)}/{len(sent_chats)} answered in {seconds:.1f} s, posts acknowledged in "
        f"{posted['finished'] - posted['started']:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return {
        "updates_posted": len(sent_chats),
        "updates_planned": len(chats),
        "copies_delivered": load_spec["copies"],
        "answered": len(got),
        "unanswered": len(sent_chats) - len(got),
        "seconds_first_post_to_last_answer": round(seconds, 2),
        "answers_per_s": round(len(got) / seconds, 1) if seconds > 0 else None,
        "ingress": {
            "requests": posted["requests"],
            "statuses": posted["statuses"],
            "seconds": round(posted["finished"] - posted["started"], 2),
            "acknowledged_per_s": round(posted["requests"] / (posted["finished"] - posted["started"]), 1),
            "ack_latency": posted["ack_latency"],
        },
        "sends_per_update": {str(k): v for k, v in sorted(per_chat.items())},
        "duplicate_answers": sum((k - 1) * v for k, v in per_chat.items() if k > 1),
        "post_to_answer_latency": summary_ms([answers[c][0] - posted["first_sent"][str(c)] for c in got])
        if got
        else None,
    }


def _measure(kind: str, tg: Any, graph: Any, llm_port: int) -> dict[str, Any]:
    work = workdir(f"channels-e2e-{kind}")
    url = run_async(new_database_url(kind, work))
    env = _app_env(work, url, tg.base_url, graph.base_url)
    env.update(
        {
            "WORKERS_IN_SERVE": str(WORKERS),
            "WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
            "TELEGRAM_RATE_PER_BOT": str(RATE_PER_BOT),
            "TELEGRAM_RATE_PER_CHAT": "1",
            "OPENAI_BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
            "OPENAI_API_KEY": "sk-bench-0000000000",
            "OPENAI_MODEL": "fake-model",
        }
    )
    app, port = start_pinned_server([PYTHON, "-m", "bench.server", "app"], env)
    base = f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {}
    try:
        agent = connect_agent(base, tg, graph)
        run_async(_seed_knowledge(url, agent["agent_id"]))

        def tg_answers() -> dict[int, list[float]]:
            with tg._lock:
                return {c: list(t) for c, t in tg.answered.items()}

        # Warm-up: 100 updates (connections, caches, the first LLM client).
        chats = range(700_000_000, 700_000_100)
        _phase(
            "warmup",
            {
                "kind": "telegram",
                "url": base,
                "secret": agent["secret"],
                "first_id": 1,
                "first_chat": chats.start,
                "n": len(chats),
                "copies": 1,
                "concurrency": POST_CONCURRENCY,
            },
            tg_answers,
            chats,
        )

        chats = range(710_000_000, 710_000_000 + N_TELEGRAM)
        out["telegram"] = _phase(
            "telegram",
            {
                "kind": "telegram",
                "url": base,
                "secret": agent["secret"],
                "first_id": 1_000_000,
                "first_chat": chats.start,
                "n": len(chats),
                "copies": 1,
                "concurrency": POST_CONCURRENCY,
            },
            tg_answers,
            chats,
        )

        chats = range(720_000_000, 720_000_000 + N_DUPLICATES)
        out["telegram_every_update_twice"] = _phase(
            "duplicates",
            {
                "kind": "telegram",
                "url": base,
                "secret": agent["secret"],
                "first_id": 2_000_000,
                "first_chat": chats.start,
                "n": len(chats),
                "copies": 2,
                "concurrency": POST_CONCURRENCY,
                "post_seconds": POST_SECONDS * 2 // 3,
            },
            tg_answers,
            chats,
        )

        wa_chats = range(79_170_000_000, 79_170_000_000 + N_WHATSAPP)
        out["whatsapp"] = _phase(
            "whatsapp",
            {
                "kind": "whatsapp",
                "url": base,
                "phone_number_id": agent["phone_number_id"],
                "first_id": 3_000_000,
                "first_chat": wa_chats.start,
                "n": len(wa_chats),
                "copies": 1,
                "concurrency": POST_CONCURRENCY,
                "post_seconds": POST_SECONDS * 2 // 3,
            },
            lambda: _wa_answers(graph, wa_chats),
            wa_chats,
        )
    finally:
        stop_process(app)

    # Baselines: what the fakes take when nothing else runs.
    out["baseline_fake_telegram_sendmessage"] = _load_result(
        _load(
            "capacity",
            {
                "kind": "telegram",
                "url": tg.base_url,
                "token": agent["token"],
                "first_chat": 790_000_000,
                "n": 2000,
                "concurrency": 64,
            },
        )
    )
    out["baseline_fake_graph_send"] = _load_result(
        _load(
            "capacity",
            {
                "kind": "whatsapp",
                "url": graph.base_url,
                "token": agent["wa_token"],
                "phone_number_id": agent["phone_number_id"],
                "first_chat": 79_190_000_000,
                "n": 2000,
                "concurrency": 64,
            },
        )
    )
    tg_rate = out["telegram"]["answers_per_s"] or 0
    wa_rate = out["whatsapp"]["answers_per_s"] or 0
    out["ratios"] = {
        "telegram_answers_to_ingress_ack_rate": round(tg_rate / out["telegram"]["ingress"]["acknowledged_per_s"], 3),
        "telegram_answers_to_fake_capacity": round(
            tg_rate / out["baseline_fake_telegram_sendmessage"]["sends_per_s"], 3
        ),
        "telegram_answers_to_goal_200": round(tg_rate / 200, 3),
        "whatsapp_answers_to_ingress_ack_rate": round(wa_rate / out["whatsapp"]["ingress"]["acknowledged_per_s"], 3),
        "whatsapp_answers_to_fake_capacity": round(wa_rate / out["baseline_fake_graph_send"]["sends_per_s"], 3),
    }
    return out


def _fake_llm() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "bench.fakellm", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: os.sched_setaffinity(0, {1}),
    )
    wait_port(port, process)
    return process, port


def run(kinds: tuple[str, ...] = ("sqlite", "postgresql")) -> dict[str, Any]:
    import resource

    from tests.fakes.graph_fake import GraphFake

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 16384)), hard))
    load_at_start = round(os.getloadavg()[0], 2)
    if "postgresql" in kinds:
        with contextlib.suppress(Exception):  # started before pinning: PostgreSQL may use both cores
            postgres()
    previous_cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {1})  # this process serves the fakes
    llm, llm_port = _fake_llm()
    figures: dict[str, Any] = {}
    try:
        for kind in kinds:
            tg, graph = _timed_telegram_fake(), GraphFake()
            with tg.serve(), graph.serve():
                try:
                    figures[kind] = _measure(kind, tg, graph, llm_port)
                except Exception as exc:  # noqa: BLE001 - PostgreSQL may be missing; SQLite must not be
                    if kind == "sqlite":
                        raise
                    figures[kind] = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        stop_process(llm)
        os.sched_setaffinity(0, previous_cpus)  # `python -m bench` runs other benchmarks after this one
    sq = figures["sqlite"]
    tput = (sq["telegram"]["answers_per_s"] or 0) >= 200 and sq["telegram"]["unanswered"] == 0
    dup = all(
        f["telegram_every_update_twice"]["duplicate_answers"] == 0
        and f["telegram_every_update_twice"]["unanswered"] == 0
        for f in figures.values()
        if "error" not in f
    )
    return write_result(
        "channels_e2e",
        {
            "setup": {
                # The machine is shared (2 cores): a load average well above 2 at the start means
                # other work ran beside this benchmark and the figures are pessimistic.
                "load_average_1m_at_start": load_at_start,
                "server": "uvicorn, 1 process, uvloop+httptools, as `botcraft serve` (bench/server.py), pinned to core 0",
                "workers": {"WORKERS_IN_SERVE": WORKERS, "WORKER_CONCURRENCY": WORKER_CONCURRENCY},
                "pacing": {
                    "TELEGRAM_RATE_PER_BOT": RATE_PER_BOT,
                    "TELEGRAM_RATE_PER_CHAT": 1,
                    "chats": "one update per chat (distinct chat ids / wa_ids)",
                },
                "llm": "bench/fakellm.py (instant, OpenAI chat.completions over HTTP/1.1), own process, core 1",
                "fakes": "tests/fakes TelegramFake (timing sendMessage per chat) and GraphFake, in the bench process, "
                "core 1",
                "load": f"separate process on core 1, httpx, {POST_CONCURRENCY} connections, posting as fast as "
                "acknowledged",
                "knowledge": "300 chunks (bench/corpus.py) seeded for the agent",
                "updates": {"telegram": N_TELEGRAM, "duplicates_run": N_DUPLICATES, "whatsapp": N_WHATSAPP},
            },
            **figures,
            "goal": goal(
                ">= 200 Telegram updates answered/s on SQLite, every one answered; every update delivered "
                "twice gives zero duplicate answers",
                tput and dup,
                throughput_pass=tput,
                duplicates_pass=dup,
            ),
        },
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("post", "capacity"):
        _load_main(sys.argv[1], sys.argv[2])
    else:
        try:
            print(json.dumps(run(), indent=2, ensure_ascii=False))
        finally:
            shutdown_postgres()
