"""The owner is told in Telegram (or by e-mail), once per conversation, and answers from there."""

from __future__ import annotations

import asyncio
import socket
import time
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from botcraft.models import Message, Notification, OwnerAnswer
from tests.helpers import sign_up, until
from tests.owner_support import (
    OWNER_TG,
    STRANGER_TG,
    ask,
    customer_texts,
    link_telegram,
    notices,
    received,
    to_chat,
)

QUESTION = "Можно ли прийти к вам с собакой?"
OWNER_ANSWER = "Да, с собакой можно, если она на поводке. Миска с водой у входа 🙂"


async def test_owner_is_told_answers_by_reply_and_the_bot_learns(client, shop, tg, platform, meta, app):
    headers, agent_id, phone = shop
    await link_telegram(client, headers, tg, platform)

    await ask(client, phone, QUESTION, "wamid.Q1")
    [notice] = await until(lambda: notices(tg, platform))
    text = notice["text"]
    assert "Салон «Лотос»" in text and "Ирина" in text and "WhatsApp" in text
    assert QUESTION in text and "Бот ответил" in text and "сотрудник" in text.lower()
    buttons = [b for row in notice["reply_markup"]["inline_keyboard"] for b in row]
    opened = [b for b in buttons if "web_app" in b]
    assert opened and opened[0]["text"] == "Открыть диалог"
    async with app.state.db.transaction(write=False) as session:
        conversation_id = await session.scalar(select(Notification.conversation_id))
    assert opened[0]["web_app"]["url"] == f"https://botcraft.example/?conversation={conversation_id}"
    assert any(b.get("callback_data", "").startswith("n:take:") for b in buttons)

    # The owner replies to the notice in Telegram: the customer gets it on WhatsApp.
    before = len(to_chat(tg, platform, OWNER_TG))
    tg.push_reply(platform, OWNER_TG, notice["message_id"], OWNER_ANSWER)
    await until(lambda: _has(customer_texts(meta, phone), OWNER_ANSWER))
    conversation = (await client.get(f"/api/conversations/{conversation_id}", headers=headers)).json()
    assert conversation["needs_attention"] is False
    thread = (await client.get(f"/api/conversations/{conversation_id}/messages", headers=headers)).json()
    assert [m["author"] for m in thread if m["text"] == OWNER_ANSWER] == ["owner"]

    confirmation = (await until(lambda: _after(tg, platform, OWNER_TG, before)))[-1]
    assert "Отправлено" in confirmation["text"]
    [remember] = [b for row in confirmation["reply_markup"]["inline_keyboard"] for b in row]
    assert remember["text"] == "Запомнить ответ"
    # The notice now says it was answered (edited in place, not a new message).
    await until(lambda: _text_has(tg, platform, notice["message_id"], "Отвечено"))

    tg.push_callback(platform, OWNER_TG, confirmation["message_id"], remember["callback_data"])
    answered = await until(lambda: _callbacks(tg, platform))
    assert "Запомнил" in answered[-1]["text"]
    pairs = (await client.get(f"/api/agents/{agent_id}/answers", headers=headers)).json()
    assert [(p["question"], p["answer"]) for p in pairs] == [(QUESTION, OWNER_ANSWER)]

    # The same question in other words, from another customer: answered from the pair, verbatim.
    await ask(client, phone, "А с собакой к вам прийти можно?", "wamid.Q2", customer="79160000002")
    sent = await until(lambda: received(meta, phone, "79160000002"))
    assert sent == [OWNER_ANSWER]
    await asyncio.sleep(0.5)
    assert len(await notices(tg, platform)) == 1  # nobody needed the owner this time


async def _has(texts, wanted):
    return wanted in texts


async def _after(tg, token, chat_id, before):
    sent = to_chat(tg, token, chat_id)
    return sent[before:] if len(sent) > before else None


async def _text_has(tg, token, message_id, words):
    text = tg.current_text(token, OWNER_TG, message_id)
    return text if text and words in text else None


async def _callbacks(tg, token):
    return tg.answered_callbacks(token)


async def test_twenty_messages_from_one_customer_make_one_notification(client, shop, tg, platform, meta, app):
    headers, agent_id, phone = shop
    await link_telegram(client, headers, tg, platform)
    await ask(client, phone, "Позовите администратора", "wamid.S0")
    [notice] = await until(lambda: notices(tg, platform))
    assert "просит сотрудника" in notice["text"]
    for i in range(1, 20):
        await ask(client, phone, f"Алло, ответьте пожалуйста, это сообщение номер {i}", f"wamid.S{i}")
    # Messages are stored by concurrent jobs, so the latest shown is whichever came last.
    await until(lambda: _text_has(tg, platform, notice["message_id"], "Ещё сообщений от клиента: 19"), timeout=40)
    await asyncio.sleep(2.5)  # any edit still queued has run by now
    assert len(await notices(tg, platform)) == 1
    assert len(tg.edits(platform)) < 10  # at most one edit per 2 s while the burst lasts, never nineteen
    assert "это сообщение номер" in tg.current_text(platform, OWNER_TG, notice["message_id"])
    async with app.state.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Notification)) == 1


async def test_a_stranger_replying_sends_nothing(client, shop, tg, platform, meta, app):
    headers, agent_id, phone = shop
    await link_telegram(client, headers, tg, platform)
    await ask(client, phone, QUESTION, "wamid.X1")
    [notice] = await until(lambda: notices(tg, platform))
    await until(lambda: received(meta, phone))  # the bot's hand-over reply
    sent_before = len(meta.sent_messages(phone))

    # Someone else, in their own chat with the platform bot and in the owner's (a forged update).
    tg.push_reply(platform, STRANGER_TG, notice["message_id"], "Я не владелец, но отвечу")
    tg.push_reply(platform, OWNER_TG, notice["message_id"], "Подделка от чужого аккаунта", from_id=STRANGER_TG)
    tg.push_callback(platform, OWNER_TG, notice["message_id"], notice["reply_markup"]["inline_keyboard"][1][0][
        "callback_data"], from_id=STRANGER_TG)
    refusals = await until(lambda: _refusals(tg, platform))
    assert len(refusals) >= 2
    await asyncio.sleep(1.0)
    assert len(meta.sent_messages(phone)) == sent_before
    async with app.state.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Message).where(Message.author == "owner")) == 0
    conversation = (await client.get(f"/api/agents/{agent_id}/conversations", headers=headers)).json()["items"][0]
    assert conversation["mode"] == "bot" and conversation["needs_attention"] is True
    async with app.state.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(OwnerAnswer)) == 0


async def _refusals(tg, token):
    said = [m for m in tg.sent_messages(token) if "не для вас" in m["text"] or "Не нашёл" in m["text"]]
    said += [c for c in tg.answered_callbacks(token) if "не для вас" in c.get("text", "")]
    return said if len(said) >= 3 else None


async def test_take_over_and_hand_back_from_the_notice(client, shop, tg, platform, meta, app):
    headers, agent_id, phone = shop
    await link_telegram(client, headers, tg, platform)
    await ask(client, phone, QUESTION, "wamid.T1")
    [notice] = await until(lambda: notices(tg, platform))
    take = notice["reply_markup"]["inline_keyboard"][1][0]
    assert take["text"] == "Отвечу сам"
    tg.push_callback(platform, OWNER_TG, notice["message_id"], take["callback_data"])
    await until(lambda: _text_has(tg, platform, notice["message_id"], "Бот молчит"))
    conversation = (await client.get(f"/api/agents/{agent_id}/conversations", headers=headers)).json()["items"][0]
    assert conversation["mode"] == "human"
    await until(lambda: received(meta, phone))  # the bot's hand-over reply
    answered = len(customer_texts(meta, phone))
    await ask(client, phone, "Сколько стоит маникюр?", "wamid.T2")  # the bot stays silent now
    await until(lambda: _text_has(tg, platform, notice["message_id"], "маникюр"))
    assert len(customer_texts(meta, phone)) == answered

    current = next(m for m in tg.sent_messages(platform) if m["message_id"] == notice["message_id"])
    [hand_back] = [b for row in current["reply_markup"]["inline_keyboard"] for b in row if "callback_data" in b]
    assert hand_back["text"] == "Вернуть боту"
    tg.push_callback(platform, OWNER_TG, notice["message_id"], hand_back["callback_data"])

    async def bot_mode():
        items = (await client.get(f"/api/agents/{agent_id}/conversations", headers=headers)).json()["items"]
        return items[0]["mode"] == "bot" and not items[0]["needs_attention"]

    await until(bot_mode)


async def test_notifications_can_be_turned_off_per_agent(client, shop, tg, platform, meta, app):
    headers, agent_id, phone = shop
    await link_telegram(client, headers, tg, platform)
    settings = (await client.get("/api/notifications", headers=headers)).json()
    assert settings["telegram_linked"] and settings["telegram_username"] == "anna_owner"
    assert settings["agents"] == [{"agent_id": agent_id, "agent_name": "Салон «Лотос»", "enabled": True}]
    response = await client.put(f"/api/agents/{agent_id}/notifications", json={"enabled": False}, headers=headers)
    assert response.status_code == 200 and response.json()["enabled"] is False
    await ask(client, phone, QUESTION, "wamid.O1")
    await until(lambda: _has_len(customer_texts(meta, phone), 1))
    await asyncio.sleep(1.0)
    assert await notices(tg, platform) == []
    other = await sign_up(client, "stranger@example.com")
    assert (await client.put(f"/api/agents/{agent_id}/notifications", json={"enabled": True},
                             headers=other)).status_code == 404


async def _has_len(items, n):
    return len(items) >= n


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    inbox = _Inbox()
    with socket.socket() as probe:  # a free port: aiosmtpd checks it is up by connecting to it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.smtp_url = f"smtp://127.0.0.1:{port}"
    settings.smtp_from = "BotCraft <bot@botcraft.example>"
    yield inbox
    controller.stop()


async def test_an_owner_without_telegram_gets_one_email(client, shop, tg, platform, meta, smtp, app):
    headers, agent_id, phone = shop  # signed up by e-mail, Telegram never linked
    await ask(client, phone, QUESTION, "wamid.E1")
    [(sender, recipients, raw)] = await until(lambda: _mail(smtp))
    assert sender == "bot@botcraft.example" and recipients == ["owner@example.com"]
    mail = message_from_bytes(raw)
    assert "клиент ждёт ответа" in str(make_header(decode_header(mail["Subject"])))
    body = mail.get_payload(decode=True).decode(mail.get_content_charset())
    assert QUESTION in body and "Ирина" in body and "https://botcraft.example/?conversation=" in body
    for i in range(2, 6):
        await ask(client, phone, f"Ответьте, пожалуйста ({i})", f"wamid.E{i}")
    await asyncio.sleep(3.0)
    assert len(smtp.messages) == 1  # one e-mail per conversation, never a storm
    assert await notices(tg, platform) == []


async def _mail(smtp):
    return smtp.messages or None


async def test_notice_delivery_is_a_durable_job_that_waits_out_telegrams_429(client, shop, tg, platform, meta, app):
    headers, agent_id, phone = shop
    await link_telegram(client, headers, tg, platform)
    tg.fail_next("sendMessage", 429, retry_after=1, token=platform)
    started = time.monotonic()
    await ask(client, phone, QUESTION, "wamid.R1")
    [notice] = await until(lambda: notices(tg, platform), timeout=20)
    assert time.monotonic() - started >= 1.0
    assert QUESTION in notice["text"]


async def test_a_reply_after_the_24_hour_window_is_not_sent_and_the_owner_is_told(
        client, shop, tg, platform, meta, app):
    from datetime import timedelta

    from sqlalchemy import update

    from botcraft.models import Conversation, utcnow

    headers, agent_id, phone = shop
    await link_telegram(client, headers, tg, platform)
    await ask(client, phone, QUESTION, "wamid.W1")
    [notice] = await until(lambda: notices(tg, platform))
    await until(lambda: received(meta, phone))
    async with app.state.db.transaction() as session:  # the customer wrote 25 hours ago
        await session.execute(update(Conversation).values(last_customer_message_at=utcnow() - timedelta(hours=25)))
    tg.push_reply(platform, OWNER_TG, notice["message_id"], OWNER_ANSWER)

    async def told_again():
        found = await notices(tg, platform)
        return found if len(found) == 2 else None

    second = (await until(told_again, timeout=20))[-1]
    assert "24 часа" in second["text"]
    assert OWNER_ANSWER not in customer_texts(meta, phone)
    thread = (await client.get(f"/api/agents/{agent_id}/conversations", headers=headers)).json()["items"][0]
    assert thread["needs_attention"] is True


async def test_in_webhook_mode_the_owners_reply_arrives_at_the_webhook(client, shop, tg, platform, meta, app,
                                                                       settings):
    from botcraft.channels.telegram.platform_bot import platform_secret

    headers, agent_id, phone = shop
    # A webhook deployment gets the same update POSTed by Telegram with the platform's secret.
    secret = platform_secret(settings)
    await link_telegram(client, headers, tg, platform)
    await ask(client, phone, QUESTION, "wamid.H1")
    [notice] = await until(lambda: notices(tg, platform))
    await until(lambda: received(meta, phone))
    update = {"update_id": 900001, "message": {
        "message_id": 555, "date": 1, "text": OWNER_ANSWER,
        "from": {"id": OWNER_TG, "is_bot": False, "first_name": "Анна"},
        "chat": {"id": OWNER_TG, "type": "private", "first_name": "Анна"},
        "reply_to_message": {"message_id": notice["message_id"], "date": 1, "text": notice["text"],
                             "from": {"id": 1, "is_bot": True, "first_name": "BotCraft"},
                             "chat": {"id": OWNER_TG, "type": "private"}}}}
    forged = await client.post("/webhook/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "x" * 40})
    assert forged.status_code == 401
    response = await client.post("/webhook/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
    assert response.status_code == 200
    await until(lambda: _has(customer_texts(meta, phone), OWNER_ANSWER))
