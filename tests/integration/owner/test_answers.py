"""Q&A pairs, unanswered questions, statistics and the inbox, as the owner uses them."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from botcraft.models import Document
from tests import docgen
from tests.helpers import sign_up, until, upload, wait_processed
from tests.owner_support import ask, link_telegram, notices, received

QUESTION = "Есть ли у вас парковка для клиентов?"
ANSWER = "Да, бесплатная парковка во дворе, въезд с улицы Молодогвардейской."


async def test_pairs_crud_ownership_and_the_bot_answers_verbatim(client, shop, app):
    headers, agent_id, phone = shop
    created = await client.post(f"/api/agents/{agent_id}/answers", headers=headers, json={
        "questions": [QUESTION, "Где у вас можно оставить машину?"], "answer": ANSWER})
    assert created.status_code == 201, created.text
    pair = created.json()
    assert pair["question"] == QUESTION and pair["questions"][1] == "Где у вас можно оставить машину?"

    # Both phrasings find it; the answer is the owner's text, word for word, without sources.
    for question in ("А парковка для клиентов у вас есть?", "Где можно оставить машину?"):
        chat = (await client.post(f"/api/agents/{agent_id}/chat", headers=headers, json={"message": question})).json()
        assert chat["reply"] == ANSWER and chat["answered_by"] == "owner_answer" and not chat["needs_attention"]
    found = (await client.get(f"/api/agents/{agent_id}/search", params={"q": "парковка"}, headers=headers)).json()
    assert any(ANSWER in hit["text"] for hit in found["results"])
    # A pair is knowledge, not an upload: the documents list does not show it.
    documents = (await client.get(f"/api/agents/{agent_id}/documents", headers=headers)).json()
    assert [d["filename"] for d in documents] == ["услуги.xlsx"]

    changed = await client.put(f"/api/agents/{agent_id}/answers/{pair['id']}", headers=headers,
                               json={"question": QUESTION, "answer": "Парковки нет, но рядом есть городская."})
    assert changed.status_code == 200 and changed.json()["questions"] == [QUESTION]
    chat = (await client.post(f"/api/agents/{agent_id}/chat", headers=headers,
                              json={"message": "Где у вас можно оставить машину?"})).json()
    assert chat["answered_by"] != "owner_answer"  # that phrasing was removed
    chat = (await client.post(f"/api/agents/{agent_id}/chat", headers=headers, json={"message": QUESTION})).json()
    assert chat["reply"] == "Парковки нет, но рядом есть городская."
    # The edit is searchable at once: the word index is read again, not served from before.
    found = (await client.get(f"/api/agents/{agent_id}/search", params={"q": "городская"}, headers=headers)).json()
    assert [hit["text"] for hit in found["results"]] == [f"{QUESTION}\nПарковки нет, но рядом есть городская."]

    other = await sign_up(client, "stranger@example.com")
    assert (await client.get(f"/api/agents/{agent_id}/answers", headers=other)).status_code == 404
    missing = await client.delete(f"/api/agents/{agent_id}/answers/999999", headers={**headers, "Accept-Language": "ru"})
    assert missing.status_code == 404 and missing.json() == {"detail": "Ответ не найден.", "code": "answer_not_found"}
    missing = await client.delete(f"/api/agents/{agent_id}/answers/999999", headers={**headers, "Accept-Language": "en"})
    assert missing.json()["detail"] == "Answer not found."
    for method in ("put", "delete"):
        response = await client.request(method, f"/api/agents/{agent_id}/answers/{pair['id']}", headers=other,
                                        json={"question": "чужой", "answer": "чужой"})
        assert response.status_code == 404
    bad = await client.post(f"/api/agents/{agent_id}/answers", headers=headers, json={"question": "  ", "answer": "x"})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"

    assert (await client.delete(f"/api/agents/{agent_id}/answers/{pair['id']}", headers=headers)).status_code == 204
    assert (await client.get(f"/api/agents/{agent_id}/answers", headers=headers)).json() == []
    async with app.state.db.transaction(write=False) as session:
        assert await session.scalar(select(Document.id).where(Document.file_type == "qa")) is None
    chat = (await client.post(f"/api/agents/{agent_id}/chat", headers=headers, json={"message": QUESTION})).json()
    assert chat["answered_by"] != "owner_answer" and chat["needs_attention"]


async def test_the_next_customer_message_is_answered_from_a_document_uploaded_since(client, shop, meta, tmp_path):
    # The channel path reads the agent's knowledge version with the event and keeps the
    # passages it found with the vocabulary: neither may hide what the owner added since.
    headers, agent_id, phone = shop
    await ask(client, phone, "Сколько стоит маникюр?", "wamid.E1")
    assert "2200" in (await until(lambda: received(meta, phone)))[-1].replace(" ", "")
    xlsx = docgen.make_xlsx(tmp_path / "педикюр.xlsx", {"Педикюр": [
        ["Код", "Услуга", "Цена, ₽"], ["PD-1", "Аппаратный педикюр", 2700]]})
    response = await upload(client, headers, agent_id, xlsx)
    assert (await wait_processed(client, headers, agent_id, response.json()["id"]))["status"] == "ready"
    await ask(client, phone, "Сколько стоит аппаратный педикюр?", "wamid.E2")

    async def second() -> list[str] | None:
        texts = await received(meta, phone)
        return texts if len(texts) == 2 else None

    assert "2700" in (await until(second))[-1].replace(" ", "")


async def test_unanswered_groups_the_same_question_and_answering_reaches_the_waiting(
        client, shop, meta, app, tg, platform):
    headers, agent_id, phone = shop
    await ask(client, phone, "Есть ли у вас парковка?", "wamid.U1", customer="79160000011")
    await ask(client, phone, "А парковка у вас есть рядом?", "wamid.U2", customer="79160000012")
    await ask(client, phone, "Можно ли прийти с собакой?", "wamid.U3", customer="79160000013")
    await ask(client, phone, "Сколько стоит маникюр?", "wamid.U4", customer="79160000014")  # answered by the bot

    async def three_handed_over():
        body = (await client.get(f"/api/agents/{agent_id}/unanswered", headers=headers)).json()
        return body if body["total"] == 3 else None

    body = await until(three_handed_over, timeout=30)
    groups = {g["question"]: g for g in body["groups"]}
    assert len(groups) == 2
    [parking] = [g for g in body["groups"] if g["count"] == 2]
    assert parking["answer_id"] is None
    assert sorted(w["conversation_id"] for w in parking["waiting"]) == sorted(parking_conversations :=
                                                                             [w["conversation_id"] for w in parking["waiting"]])
    assert len(parking_conversations) == 2

    # "Ответить": save a pair from the group, then send it to the customers still waiting.
    pair = (await client.post(f"/api/agents/{agent_id}/answers", headers=headers,
                              json={"questions": parking["phrasings"], "answer": ANSWER})).json()
    sent = await client.post(f"/api/agents/{agent_id}/answers/{pair['id']}/send", headers=headers,
                             json={"conversation_ids": parking_conversations + [999999]})
    assert sent.status_code == 200 and sorted(sent.json()["sent"]) == sorted(parking_conversations)
    assert sent.json()["skipped"] == [999999]
    for customer in ("79160000011", "79160000012"):
        await until(lambda c=customer: _got(meta, phone, c, ANSWER))
    body = (await client.get(f"/api/agents/{agent_id}/unanswered", headers=headers)).json()
    [parking] = [g for g in body["groups"] if g["count"] == 2]
    assert parking["answer_id"] == pair["id"] and parking["waiting"] == []
    assert body["groups"][0]["question"] == "Можно ли прийти с собакой?"  # open questions first

    other = await sign_up(client, "stranger@example.com")
    assert (await client.get(f"/api/agents/{agent_id}/unanswered", headers=other)).status_code == 404
    assert (await client.post(f"/api/agents/{agent_id}/answers/{pair['id']}/send", headers=other,
                              json={"conversation_ids": parking_conversations})).status_code == 404


async def _got(meta, phone, customer, text):
    return text in await received(meta, phone, customer)


async def test_stats_count_what_the_bot_and_the_owner_did(client, shop, meta, app, tg, platform):
    headers, agent_id, phone = shop
    await link_telegram(client, headers, tg, platform)
    await ask(client, phone, "Сколько стоит маникюр?", "wamid.St1", customer="79160000021")
    await ask(client, phone, "Можно ли прийти с собакой?", "wamid.St2", customer="79160000022")
    [notice] = await until(lambda: notices(tg, platform))
    tg.push_reply(platform, 7_001_001, notice["message_id"], "Да, можно с собакой.")
    await until(lambda: _got(meta, phone, "79160000022", "Да, можно с собакой."))
    await client.post(f"/api/agents/{agent_id}/chat", headers=headers, json={"message": "Тест из песочницы"})

    response = await client.get(f"/api/agents/{agent_id}/stats", params={"days": 7}, headers=headers)
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["conversations"] == 2 and stats["customer_messages"] == 2  # the test chat does not count
    assert stats["answered_by_bot"] == 1 and stats["handed_over"] == 1 and stats["answered_by_owner"] == 1
    assert stats["median_owner_reply_seconds"] is not None and stats["median_owner_reply_seconds"] >= 0
    assert len(stats["per_day"]) == 7 and stats["per_day"][-1]["customer_messages"] == 2
    assert stats["by_channel"] == [{"channel": "whatsapp", "conversations": 2, "customer_messages": 2,
                                    "handed_over": 1}]
    assert {q["question"] for q in stats["top_questions"]} == {"Сколько стоит маникюр?", "Можно ли прийти с собакой?"}
    assert len((await client.get(f"/api/agents/{agent_id}/stats", params={"days": 30}, headers=headers)).json()[
        "per_day"]) == 30
    assert (await client.get(f"/api/agents/{agent_id}/stats", params={"days": 0}, headers=headers)).status_code == 422


async def test_inbox_rows_show_the_customer_and_the_attention_filter(client, shop, meta, app):
    headers, agent_id, phone = shop
    await ask(client, phone, "Можно ли прийти с собакой?", "wamid.I1", customer="79160000031")
    await ask(client, phone, "Сколько стоит маникюр?", "wamid.I2", customer="79160000032")
    await client.post(f"/api/agents/{agent_id}/chat", headers=headers, json={"message": "Привет"})

    async def settled():
        page = (await client.get(f"/api/agents/{agent_id}/conversations", headers=headers)).json()
        # All three conversations stored and answered (the two customers' turns are written by
        # the worker in their own time), the dog question handed over.
        answered = len(page["items"]) == 3 and all(i["last_author"] == "bot" for i in page["items"])
        return page if answered and page["attention_total"] == 1 else None

    page = await until(settled, timeout=30)
    rows = {i["external_chat_id"]: i for i in page["items"]}
    dog = rows["79160000031"]
    assert dog["last_customer_text"] == "Можно ли прийти с собакой?" and dog["customer_name"] == "Ирина"
    assert dog["needs_attention"] and not dog["is_test"]
    [test_chat] = [i for i in page["items"] if i["channel"] == "playground"]
    assert test_chat["is_test"] and test_chat["last_customer_text"] == "Привет"
    only = (await client.get(f"/api/agents/{agent_id}/conversations", params={"attention": "true"},
                             headers=headers)).json()
    assert [i["external_chat_id"] for i in only["items"]] == ["79160000031"] and only["total"] == 1
    await asyncio.sleep(0)
