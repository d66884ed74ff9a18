"""The dialogue engine: grounded answers, offline default, LLM behaviour, the owner's view."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from botcraft.channels.events import EventKind, InboundEvent
from botcraft.channels.inbound import EventBatch, store_events
from botcraft.dialogue.service import Inbound, record_inbound
from botcraft.models import Agent, ChannelEvent, Job, Message
from tests import docgen
from tests.fakes.openai_fake import OpenAIFake
from tests.helpers import create_agent, sign_up, upload, wait_processed

PRICE = {"Прайс": [
    ["Артикул", "Товар", "Цена, ₽", "Наличие"],
    ["XL-42", "Футболка хлопковая белая", 1500, "есть"],
    ["HD-7", "Худи с капюшоном серое", 3200, "нет"],
    ["CP-1", "Кепка летняя", 700, "есть"],
]}


@pytest.fixture
async def shop(client, workers, tmp_path):
    headers = await sign_up(client)
    agent = await create_agent(client, headers, name="Магазин одежды",
                               business_description="Интернет-магазин одежды в Казани")
    response = await upload(client, headers, agent["id"], docgen.make_xlsx(tmp_path / "прайс.xlsx", PRICE))
    assert (await wait_processed(client, headers, agent["id"], response.json()["id"]))["status"] == "ready"
    return headers, agent["id"]


@pytest.fixture
def llm(settings):
    fake = OpenAIFake(api_key="sk-test-key")
    with fake.serve():
        settings.openai_api_key = "sk-test-key"
        settings.openai_base_url = fake.base_url + "/v1"
        settings.openai_model = "gpt-test"
        yield fake


async def _chat(client, headers, agent_id, message, conversation_id=None):
    body = {"message": message}
    if conversation_id:
        body["conversation_id"] = conversation_id
    response = await client.post(f"/api/agents/{agent_id}/chat", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_offline_answers_a_russian_question_from_the_price_list(client, shop):
    headers, agent_id = shop
    answer = await _chat(client, headers, agent_id, "Сколько стоит футболка XL-42?")
    assert "1500" in answer["reply"] and "Футболка" in answer["reply"]
    assert answer["answered_by"] == "offline" and not answer["needs_attention"]
    assert answer["sources"][0]["filename"] == "прайс.xlsx"
    assert answer["sources"][0]["sheet"] == "Прайс" and answer["sources"][0]["row_start"] == 2
    # The customer reads the row in natural Russian; file, sheet and row stay in the sources.
    assert answer["reply"] == "Футболка хлопковая белая — 1500 ₽, есть"
    assert "прайс.xlsx" not in answer["reply"] and "Цена, ₽:" not in answer["reply"]
    # The same conversation goes on, and both turns are stored with the passages used.
    follow = await _chat(client, headers, agent_id, "А худи есть в наличии?", answer["conversation_id"])
    assert follow["conversation_id"] == answer["conversation_id"] and "3200" in follow["reply"]
    messages = (await client.get(f"/api/conversations/{answer['conversation_id']}/messages", headers=headers)).json()
    assert [m["direction"] for m in messages] == ["in", "out", "in", "out"]
    assert messages[1]["sources"][0]["filename"] == "прайс.xlsx"


@pytest.mark.parametrize("greeting", ["/start", "Привет!", "Добрый день", "Hello"])
async def test_greetings_get_a_welcome(client, shop, greeting):
    headers, agent_id = shop
    answer = await _chat(client, headers, agent_id, greeting)
    assert answer["answered_by"] == "greeting" and "Магазин одежды" in answer["reply"]
    assert ("Здравствуйте" in answer["reply"]) == (greeting != "Hello")


async def test_unanswerable_question_hands_over_and_flags(client, shop):
    headers, agent_id = shop
    answer = await _chat(client, headers, agent_id, "Вы продаёте велосипеды для подростков?")
    assert answer["needs_attention"] and "сотрудник" in answer["reply"]
    conversations = (await client.get(f"/api/agents/{agent_id}/conversations", headers=headers)).json()
    assert conversations["items"][0]["needs_attention"] is True
    assert conversations["items"][0]["last_message_text"].startswith("К сожалению")


async def test_llm_answer_is_grounded_and_usage_recorded(client, shop, llm):
    headers, agent_id = shop
    llm.reply(lambda req: "Футболка XL-42 стоит 1500 ₽ [1].")
    answer = await _chat(client, headers, agent_id, "Сколько стоит футболка XL-42?")
    assert answer["reply"] == "Футболка XL-42 стоит 1500 ₽ [1]." and answer["answered_by"] == "llm"
    request = llm.chat_requests[-1]
    system = request.messages[0]["content"]
    assert request.authorization == "Bearer sk-test-key"
    assert "Ты — виртуальный помощник интернет-магазина «Магазин одежды»" in system  # the agent's system prompt
    # Numbered passages with their sheet; no file name the model could repeat to the customer.
    assert "[1] (лист «Прайс»)" in system and "1500" in system and "прайс.xlsx" not in system
    assert "ТОЛЬКО из этих фрагментов" in system and "языке клиента" in system
    assert request.messages[-1] == {"role": "user", "content": "Сколько стоит футболка XL-42?"}
    messages = (await client.get(f"/api/conversations/{answer['conversation_id']}/messages", headers=headers)).json()
    assert messages[-1]["prompt_tokens"] > 0 and messages[-1]["completion_tokens"] > 0
    assert messages[-1]["model"] == "gpt-test"


async def test_llm_handover_mark_flags_the_conversation(client, shop, llm):
    headers, agent_id = shop
    llm.reply("В наших документах этого нет, я позову сотрудника. [[HANDOVER]]")
    answer = await _chat(client, headers, agent_id, "Можно ли оплатить криптовалютой?")
    assert answer["needs_attention"] and "[[HANDOVER]]" not in answer["reply"]


async def test_history_is_sent_and_cut_to_a_budget(client, shop, llm):
    headers, agent_id = shop
    llm.reply("Первый ответ")
    first = await _chat(client, headers, agent_id, "Есть ли кепки?")
    llm.reply("Второй ответ")
    await _chat(client, headers, agent_id, "А какого цвета?", first["conversation_id"])
    roles = [m["role"] for m in llm.chat_requests[-1].messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert llm.chat_requests[-1].messages[1]["content"] == "Есть ли кепки?"


async def test_streaming_sends_deltas_then_done(client, shop, llm):
    headers, agent_id = shop
    llm.reply("Кепка летняя стоит 700 рублей, она есть в наличии.")
    async with client.stream("POST", f"/api/agents/{agent_id}/chat/stream",
                             json={"message": "Сколько стоит кепка?"}, headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = []
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                events.append([line[7:], None])
            elif line.startswith("data:"):
                events[-1][1] = json.loads(line[6:])
    kinds = [e[0] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("delta") >= 2
    text = "".join(e[1]["text"] for e in events if e[0] == "delta")
    assert text == "Кепка летняя стоит 700 рублей, она есть в наличии."
    assert events[-1][1]["reply"] == text and events[-1][1]["sources"]


async def test_rate_limited_then_answered(client, shop, llm):
    headers, agent_id = shop
    llm.rate_limit(retry_after=1)
    llm.reply("Худи стоит 3200 ₽.")
    started = time.monotonic()
    answer = await _chat(client, headers, agent_id, "Сколько стоит худи?")
    assert answer["reply"] == "Худи стоит 3200 ₽." and time.monotonic() - started >= 0.9
    assert len(llm.chat_requests) == 2


async def test_server_errors_then_success(client, shop, llm):
    headers, agent_id = shop
    llm.server_error(503, times=2)
    llm.reply("Кепка стоит 700 ₽.")
    answer = await _chat(client, headers, agent_id, "Сколько стоит кепка?")
    assert answer["answered_by"] == "llm" and answer["reply"] == "Кепка стоит 700 ₽."


async def test_llm_timeout_falls_back_to_the_offline_answer(client, shop, llm, settings):
    headers, agent_id = shop
    settings.llm_timeout_seconds = 0.3
    for _ in range(6):
        llm.delay(3)
    answer = await _chat(client, headers, agent_id, "Сколько стоит футболка XL-42?")
    assert answer["answered_by"] == "offline" and "1500" in answer["reply"]


async def _customer_says(app, agent_id: int, chat_id: str, text: str, message_id: str, name: str | None = None,
                         *, update_id: int | None = None) -> int:
    """A Telegram message as the webhook stores it: the event, its raw update and its job."""
    update_id = update_id if update_id is not None else int(chat_id) * 1000 + int(message_id)
    raw = {"update_id": update_id, "message": {"message_id": int(message_id), "text": text,
                                               "chat": {"id": int(chat_id), "type": "private"}}}
    event = InboundEvent(channel="telegram", kind=EventKind.MESSAGE, event_id=f"update:{update_id}",
                         chat_id=chat_id, customer_name=name, text=text, message_id=message_id)
    return await store_events(app.state.runtime, [EventBatch(agent_id, "telegram", [event], raw=raw)])


async def test_owner_takes_over_and_replies(client, shop, app):
    headers, agent_id = shop
    await _customer_says(app, agent_id, "5001", "Здравствуйте, есть скидки?", "1", "Анна")
    conversation = await _wait_for_answer(client, headers, agent_id)
    url = f"/api/conversations/{conversation['id']}"
    taken = await client.post(f"{url}/mode", json={"mode": "human"}, headers=headers)
    assert taken.status_code == 200 and taken.json()["mode"] == "human"

    await _customer_says(app, agent_id, "5001", "Ау, ответьте!", "3", "Анна")
    await _wait_for_answer(client, headers, agent_id, count=3)
    await asyncio.sleep(0.5)
    messages = (await client.get(f"{url}/messages", headers=headers)).json()
    assert len(messages) == 3 and messages[-1]["text"] == "Ау, ответьте!"  # the bot stayed silent
    assert messages[-1]["status"] == "pending"
    flagged = (await client.get(url, headers=headers)).json()
    assert flagged["needs_attention"] is True

    reply = await client.post(f"{url}/messages", json={"text": "Да, скидка 10% до пятницы."}, headers=headers)
    assert reply.status_code == 201 and reply.json()["author"] == "owner" and reply.json()["status"] == "queued"
    async with app.state.db.transaction(write=False) as session:
        jobs = (await session.scalars(select(Job).where(Job.kind == "deliver_message"))).all()
        assert any(j.payload["message_id"] == reply.json()["id"] for j in jobs)
    assert (await client.get(url, headers=headers)).json()["needs_attention"] is False
    back = await client.post(f"{url}/mode", json={"mode": "bot"}, headers=headers)
    assert back.json()["mode"] == "bot"


async def _wait_for_answer(client, headers, agent_id, count=2, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = (await client.get(f"/api/agents/{agent_id}/conversations", headers=headers)).json()["items"]
        if items:
            messages = (await client.get(f"/api/conversations/{items[0]['id']}/messages", headers=headers)).json()
            if len(messages) >= count:
                return items[0]
        await asyncio.sleep(0.1)
    raise AssertionError("no answer")


async def test_channel_turns_run_as_jobs_and_duplicates_get_one_answer(client, shop, app):
    headers, agent_id = shop
    # The same update delivered twice, then the same message again under another update id.
    assert await _customer_says(app, agent_id, "77", "Почём кепка CP-1?", "10", "Олег", update_id=500) == 1
    assert await _customer_says(app, agent_id, "77", "Почём кепка CP-1?", "10", "Олег", update_id=500) == 0
    assert await _customer_says(app, agent_id, "77", "Почём кепка CP-1?", "10", "Олег", update_id=501) == 1
    conversation = await _wait_for_answer(client, headers, agent_id)
    await asyncio.sleep(0.7)
    messages = (await client.get(f"/api/conversations/{conversation['id']}/messages", headers=headers)).json()
    assert len(messages) == 2 and "700" in messages[1]["text"]
    async with app.state.db.transaction(write=False) as session:
        stored = (await session.scalars(select(ChannelEvent).order_by(ChannelEvent.id))).all()
    assert [e.raw["update_id"] for e in stored] == [500, 501]  # the raw update is kept beside the event
    # Handed to the channel sender, which refuses: this agent has no Telegram bot connected.
    assert messages[1]["status"] == "failed" and "больше не подключён" in messages[1]["error"]


async def test_conversations_are_paginated_and_private(client, shop, app):
    headers, agent_id = shop
    async with app.state.db.transaction() as session:
        agent = await session.get(Agent, agent_id)
        for i in range(3):
            await record_inbound(session, agent, Inbound("telegram", f"90{i}", f"Вопрос {i}", None, f"90{i}:1"))
    page = (await client.get(f"/api/agents/{agent_id}/conversations", params={"per_page": 2}, headers=headers)).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert page["items"][0]["external_chat_id"] == "902"  # newest first
    stranger = await sign_up(client, "stranger@example.com")
    cid = page["items"][0]["id"]
    assert (await client.get(f"/api/agents/{agent_id}/conversations", headers=stranger)).status_code == 404
    assert (await client.get(f"/api/conversations/{cid}/messages", headers=stranger)).status_code == 404
    assert (await client.post(f"/api/conversations/{cid}/mode", json={"mode": "human"}, headers=stranger)).status_code == 404
    assert (await client.post(f"/api/conversations/{cid}/messages", json={"text": "x"}, headers=stranger)).status_code == 404
    bad = await client.post(f"/api/conversations/{cid}/mode", json={"mode": "robot"}, headers=headers)
    assert bad.status_code == 422


def _worker(settings, llm_url: str, *, telegram: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": settings.resolved_database_url, "DATA_DIR": str(settings.data_dir),
           "ENCRYPTION_KEY": settings.encryption_key, "JWT_SECRET_KEY": settings.jwt_secret_key,
           "OPENAI_API_KEY": "sk-test-key", "OPENAI_BASE_URL": llm_url, "JOB_LEASE_SECONDS": "2",
           "LLM_TIMEOUT_SECONDS": "10"}
    if telegram is not None:
        env["TELEGRAM_API_BASE"] = telegram
    process = subprocess.Popen([sys.executable, "-m", "botcraft.cli", "worker"], env=env,
                               cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    assert process.stdout.readline().startswith("Worker running")
    return process


async def test_a_turn_whose_worker_is_killed_is_answered_once_by_another(app, settings, llm, tmp_path):
    async with app.state.db.transaction() as session:
        from botcraft.models import User
        user = User(email="kill@example.com")
        session.add(user)
        await session.flush()
        agent = Agent(user_id=user.id, name="Тест", system_prompt="Ты — тест.", integrations_json={})
        session.add(agent)
        await session.flush()
    await _customer_says(app, agent.id, "1", "Какие часы работы?", "1")
    llm.delay(1.5, then=None)  # the first worker's call hangs; it is killed meanwhile
    llm.reply("Мы работаем с 9 до 21.")
    first = _worker(settings, llm.base_url + "/v1")
    try:
        deadline = time.monotonic() + 15
        while not llm.chat_requests:
            assert time.monotonic() < deadline, "the first worker never called the LLM"
            await asyncio.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        second = _worker(settings, llm.base_url + "/v1")
        try:
            deadline = time.monotonic() + 20
            while True:
                async with app.state.db.transaction(write=False) as session:
                    answers = (await session.scalars(select(Message).where(Message.direction == "out"))).all()
                if answers:
                    break
                assert time.monotonic() < deadline, "nobody answered"
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # time for any second answer to appear
        finally:
            second.kill()
            second.wait()
    finally:
        first.kill()
    async with app.state.db.transaction(write=False) as session:
        answers = (await session.scalars(select(Message).where(Message.direction == "out"))).all()
        questions = (await session.scalars(select(Message).where(Message.direction == "in"))).all()
        turn = (await session.scalars(select(Job).where(Job.kind == "channel_event"))).one()
    assert [q.text for q in questions] == ["Какие часы работы?"]
    assert [a.text for a in answers] == ["Мы работаем с 9 до 21."] and answers[0].reply_to_id == questions[0].id
    assert turn.status == "done" and turn.attempts == 2


async def _bakery_bot(app, settings, tg, email: str) -> tuple[Agent, str]:
    """An owner's bakery agent with a Telegram bot (webhook mode) at the fake: the agent and its token."""
    from botcraft.crypto import encrypt
    from botcraft.models import User

    token = tg.add_bot(username="kolosok_bot")
    async with app.state.db.transaction() as session:
        user = User(email=email)
        session.add(user)
        await session.flush()
        agent = Agent(user_id=user.id, name="Колосок", system_prompt="Ты — помощник пекарни.", integrations_json={
            "telegram": {"token": encrypt(token, settings.encryption_key), "webhook_mode": True}})
        session.add(agent)
        await session.flush()
    return agent, token


async def test_a_send_cut_off_by_sigkill_is_not_sent_twice_and_the_owner_is_asked_to_check(
        app, settings, llm, tg):
    """Telegram has the answer but the worker dies before recording it: the next attempt
    must not send it again (a customer would read it twice); the owner is asked to check."""
    from botcraft.dialogue.inbound import SEND_INTERRUPTED
    from botcraft.i18n import translate
    from botcraft.models import Conversation, Notification

    agent, token = await _bakery_bot(app, settings, tg, "cut@example.com")
    llm.reply("Мы работаем с 8 до 20.")
    tg.delay_responses("sendMessage", 30)  # Telegram has the message; the worker never hears back
    await _customer_says(app, agent.id, "7001", "Когда вы открыты?", "1", "Ольга")
    first = _worker(settings, llm.base_url + "/v1", telegram=tg.base_url)
    try:
        deadline = time.monotonic() + 20
        while not tg.sent_messages(token):
            assert time.monotonic() < deadline, "the first worker never sent the answer"
            await asyncio.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        first.kill()
    tg.delay_responses("sendMessage", 0)
    second = _worker(settings, llm.base_url + "/v1", telegram=tg.base_url)
    try:
        deadline = time.monotonic() + 20
        while True:
            async with app.state.db.transaction(write=False) as session:
                turn = (await session.scalars(select(Job).where(Job.kind == "channel_event"))).one()
            if turn.status == "done":
                break
            assert time.monotonic() < deadline, "the retried job never finished"
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
    finally:
        second.kill()
        second.wait()
    assert [m["text"] for m in tg.sent_messages(token)] == ["Мы работаем с 8 до 20."]  # once
    async with app.state.db.transaction(write=False) as session:
        answer = (await session.scalars(select(Message).where(Message.direction == "out"))).one()
        conversation = (await session.scalars(select(Conversation))).one()
        notices = (await session.scalars(select(Notification))).all()
    assert answer.status == "sent" and answer.error == SEND_INTERRUPTED
    assert "сервер перезапустился" in translate(answer.error, "ru")  # how the owner reads it
    assert conversation.needs_attention and conversation.attention_reason == SEND_INTERRUPTED
    assert [n.kind for n in notices] == ["send_interrupted"]


async def test_an_answer_its_store_made_late_is_queued_again_while_it_waits_for_a_fresh_slot(app, settings, tg):
    """Stored as `sending` with the slot of that instant, but the store took long: the slot is
    given up, and while the send waits for a new one the answer is `queued`, so that a worker
    killed meanwhile has it sent by the next attempt instead of asking the owner to check."""
    from botcraft.channels import outbound
    from botcraft.channels.manager import context_for
    from botcraft.dialogue.inbound import SENDING, Outgoing
    from botcraft.models import Conversation

    agent, token = await _bakery_bot(app, settings, tg, "late@example.com")
    async with app.state.db.transaction() as session:
        conversation = Conversation(agent_id=agent.id, channel="telegram", external_chat_id="7002")
        session.add(conversation)
        await session.flush()
        question = Message(conversation_id=conversation.id, agent_id=agent.id, channel="telegram", direction="in",
                           author="customer", text="Вы открыты в воскресенье?", status="received")
        session.add(question)
        await session.flush()
        answer = Message(conversation_id=conversation.id, agent_id=agent.id, channel="telegram", direction="out",
                         author="bot", text="Да, с 10 до 18.", reply_to_id=question.id, status=SENDING)
        session.add(answer)
    runtime = app.state.runtime
    channel = runtime.channels.get("telegram")
    ctx = context_for(agent, "telegram", settings)
    per_sender, per_chat = channel.send_rates()
    # The chat's next slot is a second away: another answer went into it just now.
    assert await runtime.pacer.reserve_now(channel.rate_key(ctx), "7002", per_sender=per_sender, per_chat=per_chat)
    outgoing = Outgoing(answer.id, conversation.id, "7002", answer.text, slot_at=time.time() - 1.0)
    sending = asyncio.create_task(outbound.deliver(runtime, channel, ctx, outgoing, job=None))
    await asyncio.sleep(0.3)
    assert not sending.done() and not tg.sent_messages(token)  # waiting for its fresh slot
    async with app.state.db.transaction(write=False) as session:
        assert (await session.get(Message, answer.id)).status == "queued"
    await asyncio.wait_for(sending, 5)
    assert [m["text"] for m in tg.sent_messages(token)] == ["Да, с 10 до 18."]
    async with app.state.db.transaction(write=False) as session:
        sent = await session.get(Message, answer.id)
        assert sent.status == "sent" and sent.error is None
