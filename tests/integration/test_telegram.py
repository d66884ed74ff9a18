"""Telegram end to end against the fake Bot API: set-up, webhook, polling, resilience."""

from __future__ import annotations

import asyncio
import copy
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from botcraft.models import ChannelEvent, Conversation, Job, Message
from tests import docgen
from tests.helpers import create_agent, sign_up, until, upload, wait_processed

FIXTURES = Path(os.environ.get("BOTCRAFT_FIXTURES", Path(__file__).resolve().parents[3] / "shared/fixtures")
                ) / "telegram_updates"
PUBLIC = "https://bots.example.com"


def text_update(update_id: int, text: str, chat_id: int = 5550001, message_id: int | None = None) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id or update_id, "date": int(time.time()), "text": text,
            "chat": {"id": chat_id, "type": "private", "first_name": "Мария"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Мария", "language_code": "ru"},
        },
    }


@pytest.fixture
async def shop(client, workers, tmp_path):
    headers = await sign_up(client)
    agent = await create_agent(client, headers, name="Пекарня «Колосок»",
                               business_description="Пекарня в Твери: хлеб, выпечка, торты на заказ")
    xlsx = docgen.make_xlsx(tmp_path / "меню.xlsx", {"Меню": [
        ["Код", "Изделие", "Цена, ₽"], ["BR-1", "Хлеб бородинский", 95], ["CK-12", "Торт «Наполеон», 1 кг", 1200]]})
    response = await upload(client, headers, agent["id"], xlsx)
    assert (await wait_processed(client, headers, agent["id"], response.json()["id"]))["status"] == "ready"
    return headers, agent["id"]


async def _connect(client, headers, agent_id, token, **telegram):
    return await client.put(f"/api/agents/{agent_id}/integrations",
                            json={"telegram": {"token": token, **telegram}}, headers=headers)




@pytest.fixture
def webhook_bot(settings, tg):
    settings.public_base_url = PUBLIC
    return tg.add_bot(username="kolosok_bot", first_name="Колосок")


async def _webhook_secret(tg, token) -> str:
    return tg.webhook(token)["secret_token"]


async def test_connect_in_webhook_mode_sets_the_bot_up(client, shop, tg, webhook_bot):
    headers, agent_id = shop
    response = await _connect(client, headers, agent_id, webhook_bot, webhook_mode=True)
    assert response.status_code == 200, response.text
    assert response.json()["integrations"]["telegram"]["token"].startswith("••••")
    hook = tg.webhook(webhook_bot)
    assert hook["url"] == PUBLIC + "/webhook/telegram"
    assert 32 <= len(hook["secret_token"]) <= 256
    assert "Пекарня в Твери" in tg.descriptions(webhook_bot)["description"][""]
    assert [c["command"] for c in tg.commands(webhook_bot)] == ["start", "help"]
    status = (await client.get("/channels/status", params={"agent_id": agent_id}, headers=headers)).json()
    [telegram] = [c for c in status["channels"] if c["channel"] == "telegram"]
    assert telegram["mode"] == "webhook" and telegram["running"] is True
    assert telegram["details"]["bot_username"] == "kolosok_bot"


async def test_bad_token_is_422_with_telegrams_words(client, shop, tg):
    headers, agent_id = shop
    from tests.fakes.telegram_fake import make_token

    response = await _connect(client, headers, agent_id, make_token())
    assert response.status_code == 422 and "Unauthorized" in response.json()["detail"]
    agent = (await client.get(f"/api/agents/{agent_id}", headers=headers)).json()
    assert agent["integrations"]["telegram"] is None  # nothing half-stored


async def test_webhook_mode_needs_a_public_url(client, shop, tg, settings):
    headers, agent_id = shop
    settings.public_base_url = ""
    response = await _connect(client, headers, agent_id, tg.add_bot(), webhook_mode=True)
    assert response.status_code == 422 and "PUBLIC_BASE_URL" in response.json()["detail"]


async def test_webhook_answers_from_the_documents_once_per_update(client, shop, tg, webhook_bot, app):
    headers, agent_id = shop
    await _connect(client, headers, agent_id, webhook_bot, webhook_mode=True)
    secret = await _webhook_secret(tg, webhook_bot)
    update = text_update(1001, "Сколько стоит торт Наполеон?")
    for _ in range(2):  # delivered twice
        response = await client.post("/webhook/telegram", json=update,
                                     headers={"X-Telegram-Bot-Api-Secret-Token": secret})
        assert response.status_code == 200

    sent = await until(lambda: _sent(tg, webhook_bot))
    assert "1200" in sent[0]["text"] and sent[0]["chat_id"] == 5550001
    assert sent[0]["parse_mode"] == "HTML"
    await asyncio.sleep(0.7)
    assert len(tg.sent_messages(webhook_bot)) == 1
    assert tg.chat_actions(webhook_bot) == []  # answered at once: no "typing…" first
    async with app.state.db.transaction(write=False) as session:
        reply = await session.scalar(select(Message).where(Message.direction == "out"))
        assert reply.status == "sent" and reply.channel_message_id.startswith("5550001:")


async def _sent(tg, token):
    return tg.sent_messages(token)


async def test_typing_shows_while_a_slow_answer_is_made(client, shop, tg, webhook_bot, settings):
    from tests.fakes.openai_fake import OpenAIFake, Reply

    headers, agent_id = shop
    await _connect(client, headers, agent_id, webhook_bot, webhook_mode=True)
    secret = await _webhook_secret(tg, webhook_bot)
    llm = OpenAIFake(api_key="sk-test-key")
    with llm.serve():
        settings.openai_api_key, settings.openai_model = "sk-test-key", "gpt-test"
        settings.openai_base_url = llm.base_url + "/v1"
        llm.delay(2.0, then=Reply(text="Наполеон стоит 1200 ₽, доставка по Казани — 300 ₽."))
        response = await client.post("/webhook/telegram", json=text_update(2001, "Сколько стоит Наполеон?"),
                                     headers={"X-Telegram-Bot-Api-Secret-Token": secret})
        assert response.status_code == 200

        async def typing():
            return [a for a in tg.chat_actions(webhook_bot) if a["action"] == "typing"]

        assert str((await until(typing))[0]["chat_id"]) == "5550001"
        assert tg.sent_messages(webhook_bot) == []  # shown while the answer is still being made
        sent = await until(lambda: _sent(tg, webhook_bot))
        assert "1200" in sent[0]["text"]


async def test_forged_or_missing_secret_stores_nothing(client, shop, tg, webhook_bot, app):
    headers, agent_id = shop
    await _connect(client, headers, agent_id, webhook_bot, webhook_mode=True)
    forged = await client.post("/webhook/telegram", json=text_update(7, "взлом"),
                               headers={"X-Telegram-Bot-Api-Secret-Token": "forged_secret_value"})
    missing = await client.post("/webhook/telegram", json=text_update(8, "взлом"))
    assert forged.status_code == missing.status_code == 401
    async with app.state.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(ChannelEvent)) == 0
    assert (await client.get("/webhook/telegram")).status_code == 200


async def test_an_update_without_update_id_is_a_400_in_words_and_stores_nothing(client, shop, tg, webhook_bot, app):
    headers, agent_id = shop
    await _connect(client, headers, agent_id, webhook_bot, webhook_mode=True)
    secret = await _webhook_secret(tg, webhook_bot)
    update = text_update(9, "Здравствуйте, сколько стоит доставка?")
    del update["update_id"]
    response = await client.post("/webhook/telegram", json=update,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": secret})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_update" and response.json()["detail"]
    async with app.state.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(ChannelEvent)) == 0


async def test_every_fixture_replays_without_crashing(client, shop, tg, webhook_bot, app):
    headers, agent_id = shop
    await _connect(client, headers, agent_id, webhook_bot, webhook_mode=True)
    secret = await _webhook_secret(tg, webhook_bot)
    files = sorted(p for p in FIXTURES.glob("*.json") if p.name != "bot_api_responses.json")
    assert len(files) >= 7
    for path in files:
        response = await client.post("/webhook/telegram", content=path.read_bytes(),
                                     headers={"X-Telegram-Bot-Api-Secret-Token": secret,
                                              "Content-Type": "application/json"})
        assert response.status_code == 200, (path.name, response.text)
    # Text, command, photo caption and callback are answered; edits and member changes are not.
    await until(lambda: _count(tg, webhook_bot, 4))
    await asyncio.sleep(0.7)
    assert len(tg.sent_messages(webhook_bot)) == 4
    # The callback query was acknowledged (the fake calls this fixture's old query id too old).
    assert tg.calls_to("answerCallbackQuery", webhook_bot)
    async with app.state.db.transaction(write=False) as session:
        blocked = await session.scalar(select(Conversation).where(Conversation.external_chat_id == "2063236800"))
        assert blocked is not None and blocked.blocked  # my_chat_member → kicked


async def _count(tg, token, n):
    return len(tg.sent_messages(token)) >= n


async def test_polling_mode_answers_and_keeps_the_offset(client, shop, tg, app):
    headers, agent_id = shop
    token = tg.add_bot(username="kolosok_poll_bot")
    tg.set_webhook(token, "https://old.example.com/hook")  # a leftover webhook
    response = await _connect(client, headers, agent_id, token, webhook_mode=False)
    assert response.status_code == 200
    assert not (tg.webhook(token) or {}).get("url")  # deleteWebhook when switching to polling
    tg.push_update(token, text_update(501, "Почём бородинский хлеб?", chat_id=42))
    sent = await until(lambda: _sent(tg, token))
    assert "95" in sent[0]["text"]
    status = (await client.get("/channels/status", params={"agent_id": agent_id}, headers=headers)).json()
    [telegram] = [c for c in status["channels"] if c["channel"] == "telegram"]
    assert telegram["mode"] == "polling" and telegram["running"] and telegram["last_event_at"]
    from botcraft.models import ChannelState

    async with app.state.db.transaction(write=False) as session:
        state = await session.scalar(select(ChannelState))
        assert state.polling_offset == 502
    # Stop: no more polling; start: back again.
    await client.post("/channels/stop", json={"agent_id": agent_id, "channel": "telegram"}, headers=headers)
    await asyncio.sleep(1.5)
    tg.push_update(token, text_update(502, "Есть ли торты?", chat_id=42))
    await asyncio.sleep(2.5)
    assert len(tg.sent_messages(token)) == 1
    await client.post("/channels/start", json={"agent_id": agent_id}, headers=headers)
    await until(lambda: _count(tg, token, 2))


async def test_conflict_with_another_poller_is_reported_without_a_hot_loop(client, shop, tg, app):
    headers, agent_id = shop
    token = tg.add_bot()
    await _connect(client, headers, agent_id, token)
    tg.fail_next("getUpdates", 409, "Conflict: terminated by other getUpdates request; make sure that only "
                 "one bot instance is running", token=token, times=50)
    await asyncio.sleep(3)
    polls = len(tg.calls_to("getUpdates", token))
    assert 1 <= polls < 8  # backing off, not spinning
    status = (await client.get("/channels/status", params={"agent_id": agent_id}, headers=headers)).json()
    [telegram] = [c for c in status["channels"] if c["channel"] == "telegram"]
    assert "Another program is polling" in telegram["last_error"]


async def test_flood_wait_is_honoured_then_delivered(client, shop, tg, webhook_bot):
    headers, agent_id = shop
    await _connect(client, headers, agent_id, webhook_bot, webhook_mode=True)
    secret = await _webhook_secret(tg, webhook_bot)
    tg.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, token=webhook_bot)
    started = time.monotonic()
    await client.post("/webhook/telegram", json=text_update(2001, "Сколько стоит хлеб?"),
                      headers={"X-Telegram-Bot-Api-Secret-Token": secret})
    await until(lambda: _sent(tg, webhook_bot))
    assert time.monotonic() - started >= 1.0


async def test_blocked_customer_marks_the_conversation_once(client, shop, tg, webhook_bot, app):
    headers, agent_id = shop
    await _connect(client, headers, agent_id, webhook_bot, webhook_mode=True)
    secret = await _webhook_secret(tg, webhook_bot)
    tg.block_chat(webhook_bot, 3330001)
    await client.post("/webhook/telegram", json=text_update(3001, "Есть торты?", chat_id=3330001),
                      headers={"X-Telegram-Bot-Api-Secret-Token": secret})

    async def failed():
        async with app.state.db.transaction(write=False) as session:
            return await session.scalar(select(Message).where(Message.direction == "out", Message.status == "failed"))

    message = await until(failed)
    assert "blocked" in message.error
    await asyncio.sleep(0.5)
    assert len(tg.calls_to("sendMessage", webhook_bot)) == 1  # no retry storm
    async with app.state.db.transaction(write=False) as session:
        assert (await session.get(Conversation, message.conversation_id)).blocked


async def test_unparseable_html_is_sent_again_as_plain_text(client, shop, tg, webhook_bot):
    headers, agent_id = shop
    await _connect(client, headers, agent_id, webhook_bot, webhook_mode=True)
    secret = await _webhook_secret(tg, webhook_bot)
    tg.fail_next("sendMessage", 400, "Bad Request: can't parse entities: Unsupported start tag", token=webhook_bot)
    await client.post("/webhook/telegram", json=text_update(4001, "Сколько стоит торт?"),
                      headers={"X-Telegram-Bot-Api-Secret-Token": secret})
    [sent] = await until(lambda: _sent(tg, webhook_bot))
    assert sent.get("parse_mode") in (None, "") and "1200" in sent["text"]


async def test_voice_gets_the_polite_reply_and_edits_are_not_answered(client, shop, tg, webhook_bot):
    headers, agent_id = shop
    await _connect(client, headers, agent_id, webhook_bot, webhook_mode=True)
    secret = await _webhook_secret(tg, webhook_bot)
    voice = text_update(6001, "")
    del voice["message"]["text"]
    voice["message"]["voice"] = {"file_id": "AwACAgIAAxkBAAI", "file_unique_id": "AgAD", "duration": 3}
    edited = copy.deepcopy(text_update(6002, "Сколько стоит хлеб? (исправлено)"))
    edited["edited_message"] = edited.pop("message")
    for update in (voice, edited):
        await client.post("/webhook/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
    [sent] = await until(lambda: _sent(tg, webhook_bot))
    assert "текстовые сообщения" in sent["text"]
    await asyncio.sleep(0.7)
    assert len(tg.sent_messages(webhook_bot)) == 1


async def test_long_answers_are_split_for_telegram(client, shop, tg, webhook_bot, app):
    headers, agent_id = shop
    await _connect(client, headers, agent_id, webhook_bot, webhook_mode=True)
    conversation = await _owner_conversation(app, agent_id)
    paragraphs = "\n\n".join(f"Абзац {i}: " + "свежая выпечка каждый день. " * 20 for i in range(12))
    reply = await client.post(f"/api/conversations/{conversation}/messages", json={"text": paragraphs[:3990]},
                              headers=headers)
    assert reply.status_code == 201
    long_text = paragraphs * 2
    from botcraft.dialogue.service import owner_reply

    async with app.state.db.transaction() as session:
        await owner_reply(session, await session.get(Conversation, conversation), long_text)
    await until(lambda: _count(tg, webhook_bot, 3))
    texts = [m["text"] for m in tg.sent_messages(webhook_bot)]
    assert all(len(t) <= 4096 for t in texts)
    assert texts[0].startswith("Абзац 0")


async def _owner_conversation(app, agent_id) -> int:
    from botcraft.dialogue.service import conversation_for

    async with app.state.db.transaction() as session:
        conversation = await conversation_for(session, agent_id, "telegram", "8880001", "Ольга")
        conversation.last_customer_message_at = __import__("botcraft.models", fromlist=["utcnow"]).utcnow()
        return conversation.id


async def test_removing_the_token_tears_the_bot_down(client, shop, tg, webhook_bot):
    headers, agent_id = shop
    await _connect(client, headers, agent_id, webhook_bot, webhook_mode=True)
    assert tg.webhook(webhook_bot)["url"]
    response = await client.put(f"/api/agents/{agent_id}/integrations", json={"telegram": None}, headers=headers)
    assert response.status_code == 200 and response.json()["integrations"]["telegram"] is None
    assert not (tg.webhook(webhook_bot) or {}).get("url")
    status = (await client.get("/channels/status", params={"agent_id": agent_id}, headers=headers)).json()
    [telegram] = [c for c in status["channels"] if c["channel"] == "telegram"]
    assert telegram["configured"] is False and telegram["running"] is False


async def test_deleting_the_agent_removes_its_webhook_and_keeps_no_token(app, client, shop, tg, webhook_bot):
    headers, agent_id = shop
    await _connect(client, headers, agent_id, webhook_bot, webhook_mode=True)
    assert (await client.delete(f"/api/agents/{agent_id}", headers=headers)).status_code == 204
    assert (await client.get(f"/api/agents/{agent_id}", headers=headers)).status_code == 404

    async def finished_removal():
        async with app.state.db.transaction(write=False) as session:
            return await session.scalar(select(Job.payload).where(Job.kind == "agent_removed", Job.status == "done"))

    payload = await until(finished_removal)
    assert not (tg.webhook(webhook_bot) or {}).get("url")  # torn down on Telegram's side
    assert payload == {"agent_id": agent_id}  # the finished job keeps no bot token, not even encrypted


async def test_the_same_bot_cannot_serve_two_agents(client, shop, tg, webhook_bot):
    headers, agent_id = shop
    other = await create_agent(client, headers, name="Второй агент")
    assert (await _connect(client, headers, agent_id, webhook_bot, webhook_mode=True)).status_code == 200
    response = await _connect(client, headers, other["id"], webhook_bot, webhook_mode=True)
    assert response.status_code == 409 and response.json()["code"] == "channel_in_use"


@pytest.fixture
async def platform_app(settings, tg):
    from botcraft.app import create_app

    settings.telegram_token = tg.add_bot(username="botcraft_platform_bot")
    settings.public_base_url = PUBLIC
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application, settings.telegram_token


async def test_platform_bot_opens_the_web_app(platform_app, tg):
    _, token = platform_app
    menu = tg.menu_button(token)
    assert menu["type"] == "web_app" and menu["web_app"]["url"] == PUBLIC + "/"
    tg.push_update(token, text_update(9001, "/start", chat_id=777))
    [sent] = await until(lambda: _sent(tg, token))
    assert "BotCraft" in sent["text"]
    button = sent["reply_markup"]["inline_keyboard"][0][0]
    assert button["web_app"]["url"] == PUBLIC + "/"


async def test_platform_bot_in_webhook_mode(settings, tg):
    import httpx

    from botcraft.app import create_app
    from botcraft.channels.telegram.platform_bot import platform_secret

    settings.telegram_token = tg.add_bot(username="botcraft_platform_bot")
    settings.public_base_url = PUBLIC
    settings.telegram_webhook_mode = True
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        assert tg.webhook(settings.telegram_token)["secret_token"] == platform_secret(settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as c:
            response = await c.post("/webhook/telegram", json=text_update(9002, "/start", chat_id=778),
                                    headers={"X-Telegram-Bot-Api-Secret-Token": platform_secret(settings)})
        assert response.status_code == 200
        [sent] = tg.sent_messages(settings.telegram_token)
        assert sent["chat_id"] == 778


async def test_status_covers_own_agents_or_all_for_an_admin(client, app):
    owner = await sign_up(client, "owner@example.com")
    other = await sign_up(client, "other@example.com")
    mine = await create_agent(client, owner, name="Мой")
    theirs = await create_agent(client, other, name="Чужой")
    ids = {c["agent_id"] for c in (await client.get("/channels/status", headers=owner)).json()["channels"]}
    assert ids == {mine["id"]}
    assert (await client.get("/channels/status", params={"agent_id": theirs["id"]}, headers=owner)).status_code == 404
    from sqlalchemy import update

    from botcraft.models import User

    async with app.state.db.transaction() as session:
        await session.execute(update(User).where(User.email == "owner@example.com").values(is_admin=True))
    ids = {c["agent_id"] for c in (await client.get("/channels/status", headers=owner)).json()["channels"]}
    assert ids == {mine["id"], theirs["id"]}


async def test_a_job_queued_before_the_upgrade_still_finds_its_conversation(client, shop, tg, webhook_bot, app):
    """A `channel_event` job of the version before carries only its event's row, not the chat
    id the conversation is found by now: it still reads its conversation, so a follow-up in it
    is answered with the history."""
    from botcraft.jobs.kinds import CHANNEL_EVENT
    from botcraft.jobs.queue import enqueue
    from botcraft.models import utcnow

    headers, agent_id = shop
    await _connect(client, headers, agent_id, webhook_bot, webhook_mode=True)
    secret = await _webhook_secret(tg, webhook_bot)
    await client.post("/webhook/telegram", json=text_update(4001, "Сколько стоит торт Наполеон?", chat_id=4440001),
                      headers={"X-Telegram-Bot-Api-Secret-Token": secret})
    await until(lambda: _sent(tg, webhook_bot))
    async with app.state.db.transaction(write=False) as session:
        first = await session.scalar(select(ChannelEvent).where(ChannelEvent.agent_id == agent_id))

    event_id = first.event_id.replace("4001", "4002")
    payload = {**first.payload, "event_id": event_id, "message_id": 4002, "text": "А сколько он весит?"}
    async with app.state.db.transaction() as session:
        event = ChannelEvent(agent_id=agent_id, channel="telegram", event_id=event_id, kind="message",
                             payload=payload, raw=None, received_at=utcnow())
        session.add(event)
        await session.flush()
        enqueue(session, CHANNEL_EVENT, {"event_row": event.id})
    app.state.db.wakeup.notify()

    async def answered():
        sent = tg.sent_messages(webhook_bot)
        return sent if len(sent) == 2 else None

    follow_up = (await until(answered))[1]["text"]
    assert "передал" not in follow_up and "1 кг" in follow_up, follow_up
