"""Issue 12: from a customer's message to the owner's notification, and what a notice costs.

- Latency: a customer's WhatsApp question no document answers (signed webhook), posted to
  the app in-process; the time until the fake Telegram receives the platform bot's
  sendMessage to the owner that quotes it. Sequential (one customer at a time, N_SEQUENTIAL)
  and a burst (N_BURST customers at once). Baseline in the same run: the time until the
  same customer's hand-over reply reaches the fake Graph API (the bot's own answer path).
- CPU: the process's CPU time (app, workers, fakes; all in this process) for N_CPU such
  conversations with the owner's notifications on, against the same run with them turned
  off (baseline). The difference per conversation is what a notification adds: the notice
  row, its job, rendering, aiogram's send and the fake's receipt.

The app runs in this process (create_app with its lifespan, WORKERS_IN_SERVE=1, SQLite),
the offline responder answers (no LLM), the fakes are tests/fakes on loopback threads.

    python -m bench.notifications     # writes bench/results/notifications.json
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

from bench.common import goal, make_settings, new_database_url, run_async, summary_ms, workdir, write_result

N_SEQUENTIAL = 40
N_BURST = 60
N_CPU = 60
OWNER_TG = 7_001_001
APP_SECRET = "bench-wa-secret"
GOAL_P99_S = 3.0


def _whatsapp(phone: str, wa_id: str, text: str, wamid: str) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "79000000000", "phone_number_id": phone},
            "contacts": [{"profile": {"name": "Клиент"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(int(time.time())), "type": "text",
                          "text": {"body": text}}]}}]}]}, ensure_ascii=False).encode()


async def _setup(tg: Any, graph: Any, enabled: bool) -> tuple[Any, Any, str]:
    import httpx
    from sqlalchemy import select

    from botcraft.app import create_app
    from botcraft.models import User

    platform = tg.add_bot(username="bench_platform_bot")
    root = workdir(f"notifications-{'on' if enabled else 'off'}")
    url = await new_database_url("sqlite", root)
    settings = make_settings(root / "data", url, WORKERS_IN_SERVE=1, TELEGRAM_TOKEN=platform,
                             TELEGRAM_API_BASE=tg.base_url, TELEGRAM_POLLING=False,
                             PUBLIC_BASE_URL="https://botcraft.example", GRAPH_API_BASE=graph.base_url,
                             WHATSAPP_APP_SECRET=APP_SECRET, WHATSAPP_VERIFY_TOKEN="v",
                             TELEGRAM_RATE_PER_CHAT=1000)
    app = create_app(settings)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    token = graph.add_token()
    phone = graph.add_whatsapp_number(token=token)
    signed_up = await client.post("/api/auth/register", json={"email": "owner@example.com", "password": "надёжный-пароль"})
    headers = {"Authorization": f"Bearer {signed_up.json()['access_token']}"}
    agent = (await client.post("/api/agents", headers=headers, json={
        "name": "Салон", "business_description": "Салон красоты", "capabilities": "Записи", "tone": "дружелюбный"})).json()
    response = await client.put(f"/api/agents/{agent['id']}/integrations", headers=headers,
                                json={"whatsapp": {"access_token": token, "phone_number_id": phone}})
    assert response.status_code == 200, response.text
    await client.put(f"/api/agents/{agent['id']}/notifications", headers=headers, json={"enabled": enabled})
    async with app.state.db.transaction() as session:  # as if linked through /start in Telegram
        user = await session.scalar(select(User))
        user.telegram_id = OWNER_TG
    return (app, lifespan, client), platform, phone


async def _post(client: Any, phone: str, wa_id: str, text: str, wamid: str) -> None:
    body = _whatsapp(phone, wa_id, text, wamid)
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = await client.post("/webhook/whatsapp", content=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": signature})
    assert response.status_code == 200, response.text


def _question(n: int) -> str:
    return f"Можно ли прийти с собакой породы номер {n}?"


async def _wait_notices(tg: Any, platform: str, markers: dict[str, float], timeout: float = 60) -> dict[str, float]:
    """marker -> seconds from its post (wall clock) to its notice (polled every 5 ms)."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < len(markers) and time.monotonic() < deadline:
        for m in tg.sent_messages(platform):
            if m["chat_id"] != OWNER_TG:
                continue
            for marker, started in markers.items():
                if marker not in seen and marker in m["text"]:
                    seen[marker] = time.time() - started
        await asyncio.sleep(0.005)
    return seen


def _reply_latency(graph: Any, phone: str, posted: dict[str, float]) -> list[float]:
    """Baseline: seconds from each customer's post to the bot's reply reaching the fake Graph API."""
    first: dict[str, float] = {}
    for m in graph.sent_messages(phone):
        if m["to"] in posted and m["to"] not in first:
            first[m["to"]] = m["at"] - posted[m["to"]]
    return list(first.values())


async def _latency(tg: Any, graph: Any) -> dict[str, Any]:
    (app, lifespan, client), platform, phone = await _setup(tg, graph, enabled=True)
    try:
        sequential: list[float] = []
        posted: dict[str, float] = {}
        for i in range(N_SEQUENTIAL):
            started = posted[f"7916000{i:04d}"] = time.time()
            await _post(client, phone, f"7916000{i:04d}", _question(i), f"wamid.S{i}")
            got = await _wait_notices(tg, platform, {_question(i): started})
            sequential.extend(got.values())
        sequential_replies = _reply_latency(graph, phone, posted)
        markers: dict[str, float] = {}
        posted = {}
        posts = []
        for i in range(N_SEQUENTIAL, N_SEQUENTIAL + N_BURST):
            markers[_question(i)] = posted[f"7916000{i:04d}"] = time.time()
            posts.append(_post(client, phone, f"7916000{i:04d}", _question(i), f"wamid.B{i}"))
        await asyncio.gather(*posts)
        burst = await _wait_notices(tg, platform, markers)
        await asyncio.sleep(0.5)
        return {"sequential": {"notice": summary_ms(sequential),
                               "baseline_bot_reply": summary_ms(sequential_replies)},
                "burst": {"customers": N_BURST, "notice": summary_ms(list(burst.values())),
                          "baseline_bot_reply": summary_ms(_reply_latency(graph, phone, posted))}}
    finally:
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


async def _cpu(tg: Any, graph: Any, enabled: bool) -> dict[str, Any]:
    (app, lifespan, client), platform, phone = await _setup(tg, graph, enabled=enabled)
    try:
        answered_before = graph.sent_count(phone)
        notices_before = tg.sent_count(platform)
        cpu0, wall0 = time.process_time(), time.monotonic()
        for i in range(N_CPU):
            await _post(client, phone, f"7926000{i:04d}", _question(i), f"wamid.C{i}")
        # Every customer has the hand-over reply; with notifications on, the owner every notice.
        # Counted without copying the fakes' records, every 50 ms: the bench's own polling is in
        # the measured process and must not grow with the run's length.
        while graph.sent_count(phone) - answered_before < N_CPU and time.monotonic() - wall0 < 120:
            await asyncio.sleep(0.05)
        while enabled and tg.sent_count(platform) - notices_before < N_CPU and time.monotonic() - wall0 < 120:
            await asyncio.sleep(0.05)
        from sqlalchemy import func, select

        from botcraft.models import Job

        while time.monotonic() - wall0 < 120:  # until every job is done
            async with app.state.db.transaction(write=False) as session:
                left = await session.scalar(select(func.count()).select_from(Job).where(Job.status.in_(("queued", "running"))))
            if not left:
                break
            await asyncio.sleep(0.05)
        cpu = time.process_time() - cpu0
        return {"conversations": N_CPU, "cpu_s": round(cpu, 3), "cpu_ms_per_conversation": round(cpu / N_CPU * 1000, 2),
                "wall_s": round(time.monotonic() - wall0, 2)}
    finally:
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


async def _measure() -> dict[str, Any]:
    from tests.fakes.graph_fake import GraphFake
    from tests.fakes.telegram_fake import TelegramFake

    out: dict[str, Any] = {}
    for name, job in (("latency", lambda tg, g: _latency(tg, g)),
                      ("cpu_without_notifications", lambda tg, g: _cpu(tg, g, False)),
                      ("cpu_with_notifications", lambda tg, g: _cpu(tg, g, True))):
        tg, graph = TelegramFake(), GraphFake()
        with tg.serve(), graph.serve():
            out[name] = await job(tg, graph)
    return out


def run() -> dict[str, Any]:
    import os

    load = round(os.getloadavg()[0], 2)
    figures = run_async(_measure())
    base, with_n = figures["cpu_without_notifications"], figures["cpu_with_notifications"]
    added = round(with_n["cpu_ms_per_conversation"] - base["cpu_ms_per_conversation"], 2)
    p99 = figures["latency"]["sequential"]["notice"].get("p99_ms")
    return write_result("notifications", {
        "setup": {"load_average_1m_at_start": load, "database": "sqlite", "llm": "offline responder",
                  "in_process": "app, one worker, the fake Telegram and Graph API"},
        "results": {**figures, "cpu_added_ms_per_conversation": added,
                    "cpu_ratio_with_to_without": round(with_n["cpu_s"] / base["cpu_s"], 3) if base["cpu_s"] else None},
        "goal": goal(f"customer message → owner notification p99 under {GOAL_P99_S:.0f} s (sequential)",
                     p99 is not None and p99 < GOAL_P99_S * 1000, p99_ms=p99),
    })


if __name__ == "__main__":
    print(json.dumps(run()["results"], ensure_ascii=False, indent=2))
