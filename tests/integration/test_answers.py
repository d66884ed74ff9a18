"""What a customer gets with no LLM key, through the real upload → index → chat path, on both
databases: typos against the agent's own words, sheet names as context, follow-ups, small talk,
a request for a person, out of scope, overview, and the owner's synonyms; with an LLM, a
follow-up rewritten into a standalone question."""

from __future__ import annotations

import pytest

from tests import docgen
from tests.fakes.openai_fake import OpenAIFake
from tests.helpers import create_agent, sign_up, upload, wait_processed

PRICES = {
    "Ногти": [
        ["Услуга", "Длительность, мин", "Цена, ₽"],
        ["Маникюр классический", 60, 1200],
        ["Маникюр с покрытием гель-лак", 90, 1900],
        ["Педикюр", 90, 2200],
    ],
    "Доставка": [
        ["Город", "Срок", "Цена"],
        ["Самара", "3 дня", "450 руб"],
        ["Казань", "2 дня", "350 руб"],
    ],
}
FAQ = [
    "Салон находится по адресу: ул. Садовая, 12, второй этаж.",
    "Во дворе салона есть бесплатная парковка для клиентов.",
    "Мужской зал: стрижка машинкой и оформление бороды.",
]


async def _salon(client, tmp_path, email="owner@example.com", with_documents=True):
    headers = await sign_up(client, email)
    agent = await create_agent(client, headers, name="Лотос", business_description="Салон красоты в центре.")
    if with_documents:
        for path in (docgen.make_xlsx(tmp_path / "прайс.xlsx", PRICES),
                     docgen.make_docx(tmp_path / "вопросы.docx", "Частые вопросы", FAQ, [])):
            response = await upload(client, headers, agent["id"], path)
            assert (await wait_processed(client, headers, agent["id"], response.json()["id"]))["status"] == "ready"
    return headers, agent["id"]


async def _chat(client, headers, agent_id, message, conversation_id=None):
    body = {"message": message} | ({"conversation_id": conversation_id} if conversation_id else {})
    response = await client.post(f"/api/agents/{agent_id}/chat", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_typo_is_corrected_against_the_agents_own_price_list(client, workers, tmp_path):
    headers, agent_id = await _salon(client, tmp_path)
    answer = await _chat(client, headers, agent_id, "Сколько стоит маникур?")
    assert "Маникюр классический (60 мин) — 1200 ₽" in answer["reply"] and not answer["needs_attention"]
    assert "прайс.xlsx" not in answer["reply"] and answer["sources"][0]["filename"] == "прайс.xlsx"


async def test_another_agents_words_correct_nothing(client, workers, tmp_path):
    await _salon(client, tmp_path)
    headers, shop_id = await _salon(client, tmp_path, email="shop@example.com", with_documents=False)
    response = await upload(client, headers, shop_id, docgen.make_xlsx(
        tmp_path / "shop.xlsx", {"Прайс": [["Товар", "Цена, ₽"], ["Футболка белая", 1500], ["Кепка", 700]]}))
    assert (await wait_processed(client, headers, shop_id, response.json()["id"]))["status"] == "ready"
    answer = await _chat(client, headers, shop_id, "Сколько стоит маникур?")
    assert answer["needs_attention"] and "сотрудник" in answer["reply"]


async def test_the_vocabulary_follows_new_documents(client, workers, tmp_path):
    headers, agent_id = await _salon(client, tmp_path)
    assert (await _chat(client, headers, agent_id, "сколько стоит ламенирование ресниц"))["needs_attention"]
    response = await upload(client, headers, agent_id, docgen.make_xlsx(
        tmp_path / "ресницы.xlsx", {"Ресницы": [["Услуга", "Цена, ₽"], ["Ламинирование ресниц", 2300]]}))
    assert (await wait_processed(client, headers, agent_id, response.json()["id"]))["status"] == "ready"
    answer = await _chat(client, headers, agent_id, "сколько стоит ламенирование ресниц")
    assert "2300" in answer["reply"] and not answer["needs_attention"]


async def test_the_sheet_name_answers_for_its_rows(client, workers, tmp_path):
    headers, agent_id = await _salon(client, tmp_path)
    answer = await _chat(client, headers, agent_id, "Сколько стоит доставка в Самару?")
    assert answer["reply"] == "Самара (3 дня) — 450 руб" and not answer["needs_attention"]


async def test_small_talk_and_a_person_request(client, workers, tmp_path):
    headers, agent_id = await _salon(client, tmp_path)
    for message in ("Спасибо!", "ок, понятно", "👍"):
        answer = await _chat(client, headers, agent_id, message)
        assert not answer["needs_attention"] and answer["answered_by"] == "smalltalk" and "сотрудник" not in answer["reply"]
    person = await _chat(client, headers, agent_id, "Позовите менеджера, пожалуйста")
    assert person["needs_attention"] and "сотрудник" in person["reply"]


@pytest.mark.parametrize("question", ["Делаете татуировки?", "Сколько стоит ремонт айфона?"])
async def test_out_of_scope_is_handed_over_honestly(client, workers, tmp_path, question):
    headers, agent_id = await _salon(client, tmp_path)
    answer = await _chat(client, headers, agent_id, question)
    assert answer["needs_attention"] and answer["reply"].startswith("К сожалению")


async def test_a_follow_up_is_searched_with_the_previous_question(client, workers, tmp_path):
    headers, agent_id = await _salon(client, tmp_path)
    first = await _chat(client, headers, agent_id, "Сколько стоит маникюр классический?")
    assert "1200" in first["reply"]
    follow = await _chat(client, headers, agent_id, "А с гель-лаком?", first["conversation_id"])
    assert follow["reply"] == "Маникюр с покрытием гель-лак (90 мин) — 1900 ₽"


async def test_two_part_question_and_overview(client, workers, tmp_path):
    headers, agent_id = await _salon(client, tmp_path)
    both = await _chat(client, headers, agent_id, "Сколько стоит педикюр и маникюр с гель-лаком?")
    assert "2200" in both["reply"] and "1900" in both["reply"] and not both["needs_attention"]
    overview = await _chat(client, headers, agent_id, "Какие у вас цены?")
    assert "• Маникюр классический (60 мин) — 1200 ₽" in overview["reply"]
    assert "• Педикюр (90 мин) — 2200 ₽" in overview["reply"] and "Самара" not in overview["reply"]
    assert "и ещё 2 позиции" in overview["reply"] and not overview["needs_attention"]


async def test_the_owners_synonyms_are_used_and_checked(client, workers, tmp_path):
    headers, agent_id = await _salon(client, tmp_path)
    assert (await _chat(client, headers, agent_id, "Есть барбер?"))["needs_attention"]
    bad = await client.put(f"/api/agents/{agent_id}", json={"synonyms": "барбер"}, headers=headers)
    assert bad.status_code == 422
    saved = await client.put(f"/api/agents/{agent_id}", json={"synonyms": "барбер, мужской зал"}, headers=headers)
    assert saved.status_code == 200 and saved.json()["synonyms"] == "барбер, мужской зал"
    answer = await _chat(client, headers, agent_id, "Есть барбер?")
    assert "Мужской зал" in answer["reply"] and not answer["needs_attention"]


async def test_with_an_llm_a_follow_up_is_rewritten_once_and_a_standalone_question_is_not(
        client, workers, tmp_path, settings):
    headers, agent_id = await _salon(client, tmp_path)
    fake = OpenAIFake(api_key="sk-test-key")
    with fake.serve():
        settings.openai_api_key = "sk-test-key"
        settings.openai_base_url = fake.base_url + "/v1"
        fake.reply("Маникюр классический стоит 1200 ₽.")
        first = await _chat(client, headers, agent_id, "Сколько стоит маникюр классический?")
        assert len(fake.chat_requests) == 1  # it stood alone: no rewrite
        fake.reply("Сколько стоит маникюр с покрытием гель-лак?")
        fake.reply(lambda body: "1900 ₽." if "1900" in body["messages"][0]["content"] else "не знаю")
        follow = await _chat(client, headers, agent_id, "А с гель-лаком?", first["conversation_id"])
        rewrite = fake.chat_requests[1].messages
        assert "Сколько стоит маникюр классический?" in rewrite[-1]["content"] and "А с гель-лаком?" in rewrite[-1]["content"]
        assert follow["reply"] == "1900 ₽." and len(fake.chat_requests) == 3
