"""/metrics after a real journey: sign-in, upload, a chat turn, a Telegram update; and its token."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

from botcraft.jobs.queue import enqueue
from tests import docgen
from tests.fakes.openai_fake import OpenAIFake
from tests.helpers import PASSWORD, create_agent, sign_up, until, upload, wait_processed
from tests.integration.test_telegram import PUBLIC, text_update


@pytest.fixture
def llm(settings):
    fake = OpenAIFake(api_key="sk-test-key")
    with fake.serve():
        settings.openai_api_key = "sk-test-key"
        settings.openai_base_url = fake.base_url + "/v1"
        settings.openai_model = "gpt-test"
        yield fake


async def scrape(client, headers=None) -> dict[tuple[str, frozenset], float]:
    response = await client.get("/metrics", headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def _sent(tg, token):
    return tg.sent_messages(token)


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before, after, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_a_journey_moves_every_figure(client, workers, llm, tg, settings, tmp_path, app):
    before = await scrape(client)
    headers = await sign_up(client, "metrics@example.com")
    login = await client.post("/api/auth/email", json={"email": "metrics@example.com", "password": PASSWORD})
    assert login.status_code == 200
    agent = await create_agent(client, headers, name="Пекарня «Колосок»",
                               business_description="Пекарня в Твери: хлеб, выпечка, торты на заказ")
    xlsx = docgen.make_xlsx(tmp_path / "меню.xlsx", {"Меню": [
        ["Код", "Изделие", "Цена, ₽"], ["BR-1", "Хлеб бородинский", 95], ["CK-12", "Торт «Наполеон», 1 кг", 1200]]})
    document = (await upload(client, headers, agent["id"], xlsx)).json()
    assert (await wait_processed(client, headers, agent["id"], document["id"]))["status"] == "ready"
    assert (await client.get(f"/api/agents/{agent['id'] + 1000}", headers=headers)).status_code == 404

    llm.reply("Торт «Наполеон» стоит 1200 ₽ за килограмм [1].")
    chat = await client.post(f"/api/agents/{agent['id']}/chat", json={"message": "Сколько стоит торт?"},
                             headers=headers)
    assert chat.status_code == 200 and chat.json()["answered_by"] == "llm"

    settings.public_base_url = PUBLIC
    token = tg.add_bot(username="kolosok_bot", first_name="Колосок")
    connected = await client.put(f"/api/agents/{agent['id']}/integrations",
                                 json={"telegram": {"token": token, "webhook_mode": True}}, headers=headers)
    assert connected.status_code == 200, connected.text
    secret = tg.webhook(token)["secret_token"]
    update = await client.post("/webhook/telegram", json=text_update(1001, "Есть бородинский хлеб?"),
                               headers={"X-Telegram-Bot-Api-Secret-Token": secret})
    assert update.status_code == 200
    await until(lambda: _sent(tg, token))
    await asyncio.sleep(0.3)  # the send's job is marked done just after the send

    # A job nobody can run ends dead, and is counted as dead until someone looks at it.
    async with app.state.db.transaction() as session:
        enqueue(session, "неизвестная_работа", {}, max_attempts=1)
    await asyncio.sleep(0.5)

    after = await scrape(client)
    # HTTP: by route template and status, never by the raw path with its ids.
    assert moved(before, after, "botcraft_http_requests_total", method="POST",
                 route="/api/agents/{agent_id}/documents", status="201") == 1
    assert moved(before, after, "botcraft_http_requests_total", method="GET",
                 route="/api/agents/{agent_id}", status="404") == 1
    assert moved(before, after, "botcraft_http_requests_total", method="POST",
                 route="/webhook/telegram", status="200") == 1
    assert moved(before, after, "botcraft_http_request_duration_seconds_count", method="POST",
                 route="/api/auth/email") == 1
    assert not [labels for (_, labels) in after if ("route", f"/api/agents/{agent['id']}") in labels]
    # Jobs: claimed with their latency, finished by outcome; the dead one is in the table's count.
    # (The customer's answer is sent within its channel_event job; deliver_message is the owner's.)
    for kind in ("process_document", "channel_event"):
        assert moved(before, after, "botcraft_job_claim_latency_seconds_count", kind=kind) >= 1, kind
        assert moved(before, after, "botcraft_jobs_finished_total", kind=kind, outcome="done") >= 1, kind
    assert value(after, "botcraft_jobs", kind="неизвестная_работа", status="dead") == 1
    assert moved(before, after, "botcraft_jobs_finished_total", kind="неизвестная_работа", outcome="dead") == 1
    # Turns by who answered; the model's latency; the Telegram send; the document's status.
    assert moved(before, after, "botcraft_turns_total", answered_by="llm") == 2
    assert moved(before, after, "botcraft_llm_request_duration_seconds_count", operation="complete") >= 1
    assert moved(before, after, "botcraft_llm_request_duration_seconds_count", operation="stream") \
        + moved(before, after, "botcraft_llm_request_duration_seconds_count", operation="complete") == 2
    assert moved(before, after, "botcraft_sends_total", channel="telegram") == 1
    assert value(after, "botcraft_documents", status="ready") == 1


async def test_a_model_failure_is_counted_by_its_code(client, workers, llm, settings):
    headers = await sign_up(client)
    agent = await create_agent(client, headers)
    before = await scrape(client)
    llm.insufficient_quota()
    chat = await client.post(f"/api/agents/{agent['id']}/chat", json={"message": "Сколько стоит букет роз?"},
                             headers=headers)
    assert chat.status_code == 200 and chat.json()["answered_by"] == "offline"
    after = await scrape(client)
    assert moved(before, after, "botcraft_llm_errors_total", code="quota") == 1
    assert moved(before, after, "botcraft_turns_total", answered_by="offline") == 1


async def test_the_token_guards_metrics_when_it_is_set(client, settings):
    settings.metrics_token = "metrics-only-for-prometheus-5f2c"
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic abc"}):
        response = await client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "metrics_token_required"
        assert "METRICS_TOKEN" in response.json()["detail"]
    samples = await scrape(client, {"Authorization": "Bearer metrics-only-for-prometheus-5f2c"})
    assert ("botcraft_jobs", frozenset()) not in samples  # labelled series only
