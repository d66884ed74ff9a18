"""Scale-out, killed at random: two `serve` and two `worker` processes on PostgreSQL lose and
duplicate nothing, and together keep every bot within Telegram's rates.

- PostgreSQL: a throwaway cluster (tests/pg_cluster.py). Fakes on loopback: the Telegram Bot
  API and the Graph API (tests/fakes/, in this process, timing every send), the LLM
  (bench/fakellm.py, its own process).
- Four processes: `botcraft serve` ×2 (each with its worker loop: all four send) and
  `botcraft worker` ×2, sharing PROMETHEUS_MULTIPROC_DIR; JOB_LEASE_SECONDS=LEASE_S so the
  jobs of a killed process come back within the run.
- AGENTS agents, each with a Telegram bot (webhook mode) and a WhatsApp number, and 300
  knowledge chunks. N_TELEGRAM updates (TG_PER_CHAT per chat, so the per-chat pace matters)
  and N_WHATSAPP signed messages, posted over POST_SECONDS by a separate load process to
  both serve processes in turn; a post that fails (its process was killed) goes to the other
  one after a pause, as Telegram and Meta redeliver, until it is acknowledged. DOCUMENTS
  uploads go in on the way.
- Every KILL_EVERY_S seconds (random in the range) one of the four processes, chosen at
  random, gets SIGKILL and is started again, until KILL_UNTIL_S. Then everything drains
  (bounded by DRAIN_S) and is checked:
  answered exactly once per accepted update (counted per chat at the fake and per message
  in the database), no job left queued/running or past its lease, no document left in
  `processing`, and the most sends seen in any one second per bot and per chat.

    python -m bench.chaos        # or `make chaos`; writes bench/results/chaos.json
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

from bench.channels_e2e import _fake_llm, _seed_botcraft, telegram_update, whatsapp_message
from bench.channels_ingress import APP_SECRET, PASSWORD, _app_env
from bench.common import (
    PYTHON,
    ROOT,
    free_port,
    goal,
    new_database_url,
    postgres,
    run_async,
    shutdown_postgres,
    stop_process,
    workdir,
    write_result,
)

AGENTS = 4
# CHAOS_TELEGRAM / CHAOS_WHATSAPP scale a run down on a machine too busy for the full one.
N_TELEGRAM = int(os.environ.get("CHAOS_TELEGRAM", "2000"))
TG_PER_CHAT = 4
N_WHATSAPP = int(os.environ.get("CHAOS_WHATSAPP", "500"))
WA_PER_CHAT = 2
DOCUMENTS = 8
POST_SECONDS = 90
POST_CONCURRENCY = 16
KILL_EVERY_S = (4.0, 8.0)
KILL_UNTIL_S = 100  # and for as long as posts are still going in
MAX_KILLS = 40
POST_GRACE_S = 600  # posts still being acknowledged after POST_SECONDS (a loaded machine)
DRAIN_S = 420
LEASE_S = 30
TELEGRAM_RATE_PER_BOT = 30
TELEGRAM_RATE_PER_CHAT = 1
SEND_METHODS = ("sendmessage",)


# ------------------------------------------------------------------ the load process


async def _post_all(spec: dict[str, Any]) -> dict[str, Any]:
    """Post every request at its planned time to serve i % 2; redeliver on failure."""
    bases: list[str] = spec["bases"]
    plan: list[dict[str, Any]] = spec["plan"]
    step = spec["post_seconds"] / max(1, len(plan))
    accepted: dict[str, int] = {}
    attempts: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    queue: asyncio.Queue[tuple[int, dict[str, Any]]] = asyncio.Queue()
    for i, item in enumerate(plan):
        queue.put_nowait((i, item))
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=2.0),
                                 limits=httpx.Limits(max_connections=64)) as client:

        async def worker() -> None:
            while not queue.empty():
                i, item = queue.get_nowait()
                await asyncio.sleep(max(0.0, started + i * step - time.monotonic()))
                body = item["body"].encode()
                for attempt in range(60):
                    base = bases[(i + attempt) % len(bases)]
                    attempts[item["key"]] += 1
                    try:
                        r = await client.post(base + item["path"], content=body, headers=item["headers"])
                        statuses[str(r.status_code)] += 1
                        if r.status_code == 200:
                            accepted[item["key"]] = attempt + 1
                            break
                    except httpx.HTTPError as exc:
                        statuses[type(exc).__name__] += 1
                    await asyncio.sleep(0.5)

        async def progress() -> None:
            while True:
                await asyncio.sleep(5)
                Path(spec["output"] + ".progress").write_text(json.dumps(
                    {"accepted": len(accepted), "statuses": dict(statuses), "left": queue.qsize()}))

        reporter = asyncio.create_task(progress())
        await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))
        reporter.cancel()
    return {"accepted": accepted, "redelivered": sum(1 for n in attempts.values() if n > 1),
            "statuses": dict(statuses), "seconds": round(time.monotonic() - started, 1)}


def _load_main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    result = run_async(_post_all(spec))
    Path(spec["output"]).write_text(json.dumps(result))


# ------------------------------------------------------------------ the fakes, timing each send


def _timed_fakes() -> tuple[Any, Any]:
    from tests.fakes.graph_fake import GraphFake
    from tests.fakes.telegram_fake import TelegramFake

    class TimedTelegramFake(TelegramFake):
        def __init__(self) -> None:
            super().__init__()
            self.sends: list[tuple[str, int, float]] = []  # (bot token, chat, arrival)

        def _send_message(self, bot: Any, params: dict[str, Any]) -> dict[str, Any]:
            result = super()._send_message(bot, params)
            with self._lock:
                self.sends.append((bot.token, int(params["chat_id"]), time.time()))
            return result

    return TimedTelegramFake(), GraphFake()


def most_in_one_second(times: list[float]) -> int:
    ordered = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


# ------------------------------------------------------------------ the four processes


class Fleet:
    """Two serve and two worker processes, each restartable under its name."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.ports = [free_port(), free_port()]
        self.commands = {
            "serve-1": [PYTHON, "-m", "botcraft.cli", "serve", "--port", str(self.ports[0])],
            "serve-2": [PYTHON, "-m", "botcraft.cli", "serve", "--port", str(self.ports[1])],
            "worker-1": [PYTHON, "-m", "botcraft.cli", "worker"],
            "worker-2": [PYTHON, "-m", "botcraft.cli", "worker"],
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.kills: list[dict[str, Any]] = []
        self.starts: Counter[str] = Counter()
        self.extra: list[subprocess.Popen[bytes]] = []  # stopped with the fleet (the load process)

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    def start(self, name: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.starts[name] += 1
        self.processes[name] = subprocess.Popen(self.commands[name], cwd=ROOT, env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT)

    def start_all(self) -> None:
        for name in self.commands:
            self.start(name)
        for name, base in zip(("serve-1", "serve-2"), self.bases, strict=True):
            wait_healthy(base, self.processes[name])

    def is_up(self, name: str) -> bool:
        """Started and ready: serve answers /health; a worker has printed that it runs."""
        if self.processes[name].poll() is not None:
            return False
        if name.startswith("serve"):
            try:
                return httpx.get(self.bases[int(name[-1]) - 1] + "/health", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False
        text = (self.logs / f"{name}.log").read_text(errors="replace")
        return text.count("Worker running") >= self.starts[name]

    def kill_one(self, rng: random.Random, at: float) -> bool:
        """SIGKILL one running process, chosen at random, and start it again. A process still
        starting up is not chosen (it holds no work yet), and a serve only while the other
        one is up: with both down no update could be accepted at all (on this shared machine
        a restart takes 10-20 s)."""
        up = [n for n in sorted(self.commands) if self.is_up(n)]
        choices = [n for n in up if not n.startswith("serve") or sum(u.startswith("serve") for u in up) == 2]
        if not choices:
            return False
        name = rng.choice(choices)
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.kills.append({"process": name, "at_s": round(at, 1)})
        self.start(name)
        return True

    def stop(self) -> None:
        for process in [*self.extra, *self.processes.values()]:
            stop_process(process, timeout=20)


def wait_healthy(base: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 400) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{base}: the serve process exited with {process.returncode}")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base} did not become healthy")


def _call(fleet: Fleet, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A request to whichever serve process answers (one of them may be down)."""
    last: object = None
    deadline = time.monotonic() + 180  # both may be down and restarting at once
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        try:
            r = httpx.request(method, fleet.bases[attempt % 2] + path, timeout=30, **kwargs)
            if r.status_code < 500:
                return r
            last = f"{r.status_code} {r.text[:300]}"
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.5)
    raise RuntimeError(f"{method} {path} failed on both serve processes: {last}")


# ------------------------------------------------------------------ set-up


def _set_up(fleet: Fleet, tg: Any, graph: Any, url: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    r = _call(fleet, "POST", "/api/auth/register", json={"email": "chaos@example.com", "password": PASSWORD})
    r.raise_for_status()
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    agents = []
    for n in range(AGENTS):
        token = tg.add_bot(username=f"chaos_shop_{n}_bot", first_name=f"Магазин {n}")
        wa_token = graph.add_token()
        phone_number_id = graph.add_whatsapp_number(token=wa_token)
        r = _call(fleet, "POST", "/api/agents", headers=headers, json={
            "name": f"Магазин №{n + 1}", "business_description": "Интернет-магазин товаров для дома, доставка по России",
            "capabilities": "Консультации, заказы, доставка", "tone": "дружелюбный"})
        r.raise_for_status()
        agent_id = r.json()["id"]
        r = _call(fleet, "PUT", f"/api/agents/{agent_id}/integrations", headers=headers, json={
            "telegram": {"token": token, "webhook_mode": True},
            "whatsapp": {"access_token": wa_token, "phone_number_id": phone_number_id}})
        if r.status_code >= 400:
            raise RuntimeError(f"connecting channels failed: {r.status_code} {r.text}")
        run_async(_seed_botcraft(url, agent_id))
        agents.append({"agent_id": agent_id, "token": token, "secret": tg.webhook(token)["secret_token"],
                       "phone_number_id": phone_number_id})
    return headers, agents


def _plan(agents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every post, interleaved: each chat's messages spread over the whole posting time."""
    telegram, whatsapp = [], []
    per_agent = N_TELEGRAM // AGENTS
    for a, agent in enumerate(agents):
        chats = per_agent // TG_PER_CHAT
        for i in range(per_agent):
            chat = 800_000_000 + a * 100_000 + i % chats
            update_id = 10_000_000 * (a + 1) + i
            telegram.append({
                "key": f"tg:{a}:{update_id}", "chat": f"tg:{agent['token']}:{chat}", "path": "/webhook/telegram",
                "headers": {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": agent["secret"]},
                "body": telegram_update(update_id, chat, 1000 + i).decode(),
            })
    wa_per_agent = N_WHATSAPP // AGENTS
    for a, agent in enumerate(agents):
        chats = wa_per_agent // WA_PER_CHAT
        for i in range(wa_per_agent):
            wa_id = str(79_300_000_000 + a * 100_000 + i % chats)
            body = whatsapp_message(agent["phone_number_id"], wa_id, 5_000_000 * (a + 1) + i)
            sig = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
            whatsapp.append({
                "key": f"wa:{a}:{i}", "chat": f"wa:{agent['phone_number_id']}:{wa_id}", "path": "/webhook/whatsapp",
                "headers": {"Content-Type": "application/json", "X-Hub-Signature-256": sig},
                "body": body.decode(),
            })
    plan = telegram + whatsapp
    random.Random(7).shuffle(plan)
    return plan


def _upload(fleet: Fleet, headers: dict[str, str], agent_id: int, n: int, work: Path) -> int:
    from tests import docgen

    path = docgen.make_xlsx(work / f"прайс-{n}.xlsx", {"Прайс": [["Товар", "Цена, ₽"]] + [
        [f"Товар {n}-{i}: плед шерстяной, {100 + i} см", 1000 + i] for i in range(400)]})
    r = _call(fleet, "POST", f"/api/agents/{agent_id}/documents", headers=headers,
              files={"file": (path.name, path.read_bytes(), "application/octet-stream")})
    if r.status_code not in (200, 201):
        raise RuntimeError(f"upload failed: {r.status_code} {r.text}")
    return int(r.json()["id"])


# ------------------------------------------------------------------ checks


async def _database_state(url: str) -> dict[str, Any]:
    from sqlalchemy import text

    from botcraft.db import Database

    db = Database(url)
    try:
        async with db.transaction(write=False) as session:
            jobs = [list(r) for r in (await session.execute(text(
                "SELECT kind, status, count(*) FROM jobs GROUP BY kind, status ORDER BY kind, status"))).all()]
            past_lease = int(await session.scalar(text(
                "SELECT count(*) FROM jobs WHERE status = 'running' AND lease_expires_at < now()")) or 0)
            documents = dict((await session.execute(text(
                "SELECT status, count(*) FROM documents GROUP BY status"))).all())
            replies = [list(r) for r in (await session.execute(text(
                "SELECT i.channel, count(o.id) AS replies, count(*) FILTER (WHERE o.status = 'sent') AS sent "
                "FROM messages i LEFT JOIN messages o ON o.reply_to_id = i.id "
                "WHERE i.direction = 'in' GROUP BY i.id, i.channel"))).all()]
            attention = int(await session.scalar(text(
                "SELECT count(*) FROM conversations WHERE needs_attention")) or 0)
    finally:
        await db.dispose()
    inbound = Counter(ch for ch, _, _ in replies)
    per_message = Counter((ch, n, s) for ch, n, s in replies)
    return {
        "jobs_by_kind_and_status": jobs,
        "jobs_running_past_lease": past_lease,
        "jobs_not_done": sum(n for _, status, n in jobs if status != "done"),
        "documents_by_status": documents,
        "inbound_messages": dict(inbound),
        "inbound_without_a_reply": sum(v for (_, n, _), v in per_message.items() if n == 0),
        "inbound_with_reply_not_sent": sum(v for (_, n, s), v in per_message.items() if n >= 1 and s == 0),
        "conversations_flagged_for_the_owner": attention,
    }


def _metrics(fleet: Fleet) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = _call(fleet, "GET", "/metrics").text
    wanted = {"botcraft_jobs_finished_total", "botcraft_sends_total", "botcraft_send_errors_total",
              "botcraft_turns_total", "botcraft_jobs", "botcraft_documents"}
    out: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name in wanted:
                labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                out[f"{s.name}{{{labels}}}"] += s.value
    return dict(out)


# ------------------------------------------------------------------ the run


def run() -> dict[str, Any]:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 16384)), hard))
    load_at_start = round(os.getloadavg()[0], 2)
    rng = random.Random(int(os.environ.get("CHAOS_SEED", "14")))
    work = workdir("chaos")
    postgres()
    url = run_async(new_database_url("postgresql", work))
    llm, llm_port = _fake_llm()
    tg, graph = _timed_fakes()
    multiproc = work / "prometheus"
    multiproc.mkdir()
    with tg.serve(), graph.serve():
        env = _app_env(work, url, tg.base_url, graph.base_url)
        env.update({
            "LOG_LEVEL": "WARNING",
            "OPENAI_BASE_URL": f"http://127.0.0.1:{llm_port}/v1", "OPENAI_API_KEY": "sk-bench-0000000000",
            "OPENAI_MODEL": "fake-model", "WORKERS_IN_SERVE": "1", "WORKER_CONCURRENCY": "16",
            "JOB_LEASE_SECONDS": str(LEASE_S), "TELEGRAM_RATE_PER_BOT": str(TELEGRAM_RATE_PER_BOT),
            "TELEGRAM_RATE_PER_CHAT": str(TELEGRAM_RATE_PER_CHAT), "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
            "PARSER_PROCESSES": "1",
            # Word search only: the messages are what is measured here. With the embedded model
            # the 12 documents' embedding jobs would hold both cores for minutes after the
            # answers; a worker killed while embedding is tests/integration/test_meaning_crash.py.
            "EMBEDDINGS": "off",
        })
        fleet = Fleet(env, work)
        try:
            fleet.start_all()
            headers, agents = _set_up(fleet, tg, graph, url)
            plan = _plan(agents)
            fd, output = tempfile.mkstemp(prefix="chaos-load-", suffix=".json")
            os.close(fd)
            spec_path = work / "load-spec.json"
            spec_path.write_text(json.dumps({"bases": fleet.bases, "plan": plan, "post_seconds": POST_SECONDS,
                                             "concurrency": POST_CONCURRENCY, "output": output}))
            load = subprocess.Popen([PYTHON, "-m", "bench.chaos", "load", str(spec_path)], cwd=ROOT)
            fleet.extra.append(load)
            started = time.monotonic()
            next_kill = started + rng.uniform(*KILL_EVERY_S)
            next_report = started + 10
            documents: list[int] = []

            def upload_all() -> None:  # beside the kills, which must not wait for it
                for k in range(DOCUMENTS):
                    time.sleep(max(0.0, started + POST_SECONDS * (k + 0.5) / DOCUMENTS - time.monotonic()))
                    documents.append(_upload(fleet, headers, agents[k % AGENTS]["agent_id"], k, work))

            uploader = threading.Thread(target=upload_all, daemon=True)
            uploader.start()
            while time.monotonic() - started < KILL_UNTIL_S or load.poll() is None:
                now = time.monotonic()
                killing = (now - started < KILL_UNTIL_S or load.poll() is None) and len(fleet.kills) < MAX_KILLS
                if killing and now >= next_kill:
                    killed = fleet.kill_one(rng, now - started)
                    next_kill = now + (rng.uniform(*KILL_EVERY_S) if killed else 0.5)
                time.sleep(0.05)
                if now >= next_report:
                    next_report = now + 10
                    progress = Path(output + ".progress")
                    print(f"   {now - started:.0f} s: load {progress.read_text() if progress.exists() else '-'}; "
                          f"{len(tg.sends)} Telegram sends; {len(fleet.kills)} kills", file=sys.stderr, flush=True)
                if time.monotonic() - started > POST_SECONDS + POST_GRACE_S:
                    load.kill()
                    raise RuntimeError("the load process did not finish")
            uploader.join(timeout=DRAIN_S)
            posted = json.loads(Path(output).read_text())
            Path(output).unlink(missing_ok=True)
            Path(output + ".progress").unlink(missing_ok=True)
            for base in fleet.bases:
                wait_healthy(base)

            expected = Counter(item["chat"] for item in plan if item["key"] in posted["accepted"])
            bot_of = {a["token"]: a["agent_id"] for a in agents}
            phone_of = {a["phone_number_id"]: a["agent_id"] for a in agents}

            def answers() -> Counter[str]:
                got: Counter[str] = Counter()
                with tg._lock:
                    for token, chat, _ in tg.sends:
                        got[f"tg:{token}:{chat}"] += 1
                with graph._lock:
                    for m in graph._sent:
                        if m.get("type") == "text":
                            got[f"wa:{m['object_id']}:{m['to']}"] += 1
                return got

            drain_deadline = time.monotonic() + DRAIN_S
            while time.monotonic() < drain_deadline:
                got = answers()
                if all(got[c] >= n for c, n in expected.items()):
                    break
                time.sleep(0.5)
            time.sleep(LEASE_S + 2)  # stragglers: a job whose lease ran out after its send
            got = answers()
            state = run_async(_database_state(url))
            metrics = _metrics(fleet)
        finally:
            fleet.stop()
            stop_process(llm)
        with tg._lock:
            sends = list(tg.sends)
        with graph._lock:
            wa_sends = [m for m in graph._sent if m.get("type") == "text"]

    per_bot: dict[str, list[float]] = defaultdict(list)
    per_chat: dict[str, list[float]] = defaultdict(list)
    for token, chat, at in sends:
        per_bot[token].append(at)
        per_chat[f"{token}:{chat}"].append(at)
    per_number: dict[str, list[float]] = defaultdict(list)
    wa_per_chat: dict[str, list[float]] = defaultdict(list)
    for m in wa_sends:
        per_number[m["object_id"]].append(m["at"])
        wa_per_chat[f"{m['object_id']}:{m['to']}"].append(m["at"])
    duplicates = sum(max(0, got[c] - n) for c, n in expected.items()) + sum(
        n for c, n in got.items() if c not in expected)
    lost = sum(max(0, n - got[c]) for c, n in expected.items())
    tg_accepted = sum(1 for k in posted["accepted"] if k.startswith("tg:"))
    wa_accepted = sum(1 for k in posted["accepted"] if k.startswith("wa:"))
    bot_rates = {str(bot_of[t]): most_in_one_second(v) for t, v in per_bot.items()}
    chat_max = max((most_in_one_second(v) for v in per_chat.values()), default=0)
    figures = {
        "updates": {"telegram_planned": N_TELEGRAM, "whatsapp_planned": N_WHATSAPP,
                    "telegram_accepted": tg_accepted, "whatsapp_accepted": wa_accepted,
                    "redelivered_after_a_failed_post": posted["redelivered"], "post_statuses": posted["statuses"],
                    "posting_seconds": posted["seconds"]},
        "answers": {"telegram": len(sends), "whatsapp": len(wa_sends)},
        "duplicates": duplicates,
        "lost": lost,
        "kills": len(fleet.kills),
        "kills_by_process": dict(Counter(k["process"] for k in fleet.kills)),
        "kill_times": fleet.kills,
        "documents_uploaded": len(documents),
        "rates": {
            "telegram_most_sends_in_one_second_per_bot": bot_rates,
            "telegram_most_sends_in_one_second_in_one_chat": chat_max,
            "telegram_limit_per_bot": TELEGRAM_RATE_PER_BOT, "telegram_limit_per_chat": TELEGRAM_RATE_PER_CHAT,
            "whatsapp_most_sends_in_one_second_per_number": {
                str(phone_of[p]): most_in_one_second(v) for p, v in per_number.items()},
            "whatsapp_most_sends_in_one_second_in_one_chat": max(
                (most_in_one_second(v) for v in wa_per_chat.values()), default=0),
        },
        "database": state,
        "metrics_scraped_from_one_serve": metrics,
    }
    docs = state["documents_by_status"]
    passed = (
        lost == 0 and duplicates == 0 and state["jobs_running_past_lease"] == 0 and state["jobs_not_done"] == 0
        and not docs.get("processing") and not docs.get("queued")
        and max(bot_rates.values(), default=0) <= TELEGRAM_RATE_PER_BOT and chat_max <= TELEGRAM_RATE_PER_CHAT
        and tg_accepted == N_TELEGRAM and wa_accepted == N_WHATSAPP
    )
    print(f"   chaos: {tg_accepted + wa_accepted} accepted, {len(sends) + len(wa_sends)} answers, "
          f"{duplicates} duplicates, {lost} lost, {len(fleet.kills)} kills, most per bot in 1 s "
          f"{max(bot_rates.values(), default=0)}, per chat {chat_max}", file=sys.stderr, flush=True)
    return write_result("chaos", {
        "setup": {
            "load_average_1m_at_start": load_at_start,
            "database": "PostgreSQL (throwaway cluster)",
            "processes": "botcraft serve x2 (WORKERS_IN_SERVE=1) + botcraft worker x2, WORKER_CONCURRENCY=16, "
            f"JOB_LEASE_SECONDS={LEASE_S}, PROMETHEUS_MULTIPROC_DIR shared, EMBEDDINGS=off",
            "agents": f"{AGENTS}, each a Telegram bot (webhook) and a WhatsApp number, 300 chunks",
            "load": f"{N_TELEGRAM} Telegram updates ({TG_PER_CHAT} per chat) and {N_WHATSAPP} signed WhatsApp "
            f"messages ({WA_PER_CHAT} per chat) over {POST_SECONDS} s, alternating serve processes, redelivered "
            "to the other on failure",
            "kills": f"SIGKILL to a random one of the four every {KILL_EVERY_S[0]:g}-{KILL_EVERY_S[1]:g} s for "
            f"{KILL_UNTIL_S} s and while posts go in (at most {MAX_KILLS}), restarted at once; only processes that are up, a serve only while the other is up",
            "limits": f"TELEGRAM_RATE_PER_BOT={TELEGRAM_RATE_PER_BOT}, TELEGRAM_RATE_PER_CHAT={TELEGRAM_RATE_PER_CHAT}",
        },
        **figures,
        "goal": goal("every accepted update answered exactly once; nothing stuck; within 30/s per bot and "
                     "1/s per chat at the fake", passed),
    })


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "load":
        _load_main(sys.argv[2])
    else:
        try:
            print(json.dumps(run(), indent=2, ensure_ascii=False))
        finally:
            shutdown_postgres()
