"""WhatsApp and Instagram end to end against the fake Graph API, with signed webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from botcraft.models import ChannelEvent, Message, utcnow
from tests import docgen
from tests.conftest import IG_SECRET, WA_SECRET
from tests.helpers import create_agent, sign_up, until, upload, wait_processed

FIXTURES = Path(os.environ.get("BOTCRAFT_FIXTURES", Path(__file__).resolve().parents[3] / "shared/fixtures"))
PUBLISHED_SECRET = "1222e786b144d0e85b9f365372d93676"
PUBLISHED_SIGNATURE = "sha256=54edfa1d7259e0eb13c677cc7d73d1b5c86cfa12433d19156e058ab9251bc441"


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def wa_text(phone_number_id: str, wa_id: str, text: str, wamid: str) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1029384756", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "79000000000", "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": "Ирина"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": text}}]}}]}]}, ensure_ascii=False).encode()


def wa_status(phone_number_id: str, wamid: str, status: str, wa_id: str) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1029384756", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "79000000000", "phone_number_id": phone_number_id},
            "statuses": [{"id": wamid, "status": status, "timestamp": str(int(time.time())),
                          "recipient_id": wa_id}]}}]}]}).encode()


def ig_text(account_id: str, sender: str, text: str, mid: str, **message) -> bytes:
    return json.dumps({"object": "instagram", "entry": [{"id": account_id, "time": int(time.time() * 1000),
        "messaging": [{"sender": {"id": sender}, "recipient": {"id": account_id},
                       "timestamp": int(time.time() * 1000),
                       "message": {"mid": mid, "text": text, **message}}]}]}, ensure_ascii=False).encode()


async def post_signed(client, path: str, body: bytes, secret: str):
    return await client.post(path, content=body, headers={"Content-Type": "application/json",
                                                          "X-Hub-Signature-256": sign(body, secret)})




@pytest.fixture
async def shop(client, workers, tmp_path):
    headers = await sign_up(client)
    agent = await create_agent(client, headers, name="Салон «Лотос»",
                               business_description="Салон красоты в Самаре: стрижки, маникюр")
    xlsx = docgen.make_xlsx(tmp_path / "услуги.xlsx", {"Услуги": [
        ["Код", "Услуга", "Цена, ₽"], ["HC-1", "Женская стрижка", 1800], ["MN-2", "Маникюр с покрытием", 2200]]})
    response = await upload(client, headers, agent["id"], xlsx)
    assert (await wait_processed(client, headers, agent["id"], response.json()["id"]))["status"] == "ready"
    return headers, agent["id"]


@pytest.fixture
async def whatsapp(client, shop, meta):
    headers, agent_id = shop
    token = meta.add_token()
    phone = meta.add_whatsapp_number(token=token)
    response = await client.put(f"/api/agents/{agent_id}/integrations", headers=headers,
                                json={"whatsapp": {"access_token": token, "phone_number_id": phone}})
    assert response.status_code == 200, response.text
    assert response.json()["integrations"]["whatsapp"]["access_token"].startswith("••••")
    return phone


@pytest.mark.parametrize("channel, token_attr", [("whatsapp", "whatsapp_verify_token"),
                                                 ("instagram", "instagram_verify_token")])
async def test_verification_echoes_the_challenge(client, meta, settings, channel, token_attr):
    good = {"hub.mode": "subscribe", "hub.verify_token": getattr(settings, token_attr), "hub.challenge": "1158201444"}
    response = await client.get(f"/webhook/{channel}", params=good)
    assert response.status_code == 200 and response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")
    wrong = await client.get(f"/webhook/{channel}", params={**good, "hub.verify_token": "nope"})
    assert wrong.status_code == 403


async def test_signatures_published_changed_wrong_missing_unconfigured(client, meta, settings, app):
    body = (FIXTURES / "whatsapp" / "signed_text_message.pywa.raw_body.json").read_bytes()
    settings.whatsapp_app_secret = PUBLISHED_SECRET
    headers = {"Content-Type": "application/json"}
    ok = await client.post("/webhook/whatsapp", content=body, headers={**headers, "X-Hub-Signature-256": PUBLISHED_SIGNATURE})
    assert ok.status_code == 200  # verified; names no connected agent, so logged and acknowledged
    changed = body.replace(b"PyWa.", b"PyWa!")
    bad = await client.post("/webhook/whatsapp", content=changed, headers={**headers, "X-Hub-Signature-256": PUBLISHED_SIGNATURE})
    assert bad.status_code == 403
    settings.whatsapp_app_secret = "another-secret"
    assert (await client.post("/webhook/whatsapp", content=body, headers={**headers, "X-Hub-Signature-256": PUBLISHED_SIGNATURE})).status_code == 403
    assert (await client.post("/webhook/whatsapp", content=body, headers=headers)).status_code == 401
    settings.whatsapp_app_secret = ""
    assert (await client.post("/webhook/whatsapp", content=body, headers={**headers, "X-Hub-Signature-256": PUBLISHED_SIGNATURE})).status_code == 503
    async with app.state.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(ChannelEvent)) == 0


async def test_every_fixture_replays_signed(client, shop, meta, whatsapp):
    for channel, secret in (("whatsapp", WA_SECRET), ("instagram", IG_SECRET)):
        for path in sorted((FIXTURES / channel).glob("*.json")):
            response = await post_signed(client, f"/webhook/{channel}", path.read_bytes(), secret)
            assert response.status_code == 200, (path.name, response.text)


async def test_whatsapp_end_to_end_once_with_read_receipt_and_statuses(client, shop, meta, whatsapp, app):
    headers, agent_id = shop
    body = wa_text(whatsapp, "79161234567", "Сколько стоит маникюр?", "wamid.IN1")
    for _ in range(2):  # Meta redelivers
        assert (await post_signed(client, "/webhook/whatsapp", body, WA_SECRET)).status_code == 200
    sent = await until(lambda: _sends(meta, whatsapp))
    assert sent[0]["to"] == "79161234567" and "2200" in sent[0]["text"]
    assert any(r["message_id"] == "wamid.IN1" for r in meta.read_receipts(whatsapp))
    await asyncio.sleep(0.7)
    assert len(meta.sent_messages(whatsapp)) == 1

    wamid = sent[0]["message_id"]
    for status in ("sent", "delivered", "read", "delivered"):  # a late 'delivered' changes nothing
        assert (await post_signed(client, "/webhook/whatsapp", wa_status(whatsapp, wamid, status, "79161234567"),
                                  WA_SECRET)).status_code == 200

    async def read():
        async with app.state.db.transaction(write=False) as session:
            message = await session.scalar(select(Message).where(Message.channel_message_id == wamid))
            return message.status == "read"

    await until(read)
    assert len(meta.sent_messages(whatsapp)) == 1  # statuses are never answered
    status = (await client.get("/channels/status", params={"agent_id": agent_id}, headers=headers)).json()
    [wa] = [c for c in status["channels"] if c["channel"] == "whatsapp"]
    assert wa["running"] and wa["last_event_at"] and wa["details"]["verified_name"]


async def _sends(meta, object_id):
    return meta.sent_messages(object_id)


async def test_outside_the_window_nothing_is_sent_and_the_owner_sees_why(client, shop, meta, whatsapp, app):
    headers, agent_id = shop
    from botcraft.dialogue.service import conversation_for

    async with app.state.db.transaction() as session:
        conversation = await conversation_for(session, agent_id, "whatsapp", "79990000001", "Пётр")
        conversation.last_customer_message_at = utcnow() - timedelta(hours=25)
        cid = conversation.id
    reply = await client.post(f"/api/conversations/{cid}/messages", json={"text": "Добрый день! Ваша запись готова."},
                              headers=headers)
    assert reply.status_code == 201

    async def failed():
        messages = (await client.get(f"/api/conversations/{cid}/messages", headers=headers)).json()
        return messages[-1]["status"] == "failed" and messages[-1]

    message = await until(failed)
    assert "24 часов" in message["error"]
    assert meta.sent_messages(whatsapp) == []
    conversation = (await client.get(f"/api/conversations/{cid}", headers=headers)).json()
    assert conversation["needs_attention"] and "24 часов" in conversation["attention_reason"]


def _text_sends(meta, phone):
    return [r for r in meta.requests
            if r.path.endswith(f"{phone}/messages") and isinstance(r.body, dict) and r.body.get("type") == "text"]


async def test_131047_is_not_retried_and_rate_limits_are(client, shop, meta, whatsapp, app):
    meta.close_window("79160000002")  # Meta answers 131047 for this customer
    await post_signed(client, "/webhook/whatsapp", wa_text(whatsapp, "79160000002", "Цена стрижки?", "wamid.A"),
                      WA_SECRET)

    async def failed():
        async with app.state.db.transaction(write=False) as session:
            return await session.scalar(select(Message).where(Message.direction == "out", Message.status == "failed"))

    message = await until(failed)
    assert "24 hours" in message.error
    await asyncio.sleep(0.5)
    assert len(_text_sends(meta, whatsapp)) == 1  # not retried

    # Rate limits on the way (read receipt or send) are waited out, and the answer arrives.
    meta.fail_next(130429, times=3)
    await post_signed(client, "/webhook/whatsapp", wa_text(whatsapp, "79160000003", "Цена стрижки?", "wamid.B"),
                      WA_SECRET)
    sent = await until(lambda: _sends(meta, whatsapp))
    assert "1800" in sent[0]["text"]


async def test_bad_whatsapp_token_is_refused_in_words(client, shop, meta):
    headers, agent_id = shop
    response = await client.put(f"/api/agents/{agent_id}/integrations", headers=headers, json={
        "whatsapp": {"access_token": "EAAGinvalidTokenValue1234567890", "phone_number_id": "106540352242922"}})
    assert response.status_code == 422 and "token" in response.json()["detail"].lower()


@pytest.fixture
async def instagram(client, shop, meta):
    headers, agent_id = shop
    token = meta.add_token()
    account = meta.add_instagram_account(token=token, username="lotos_samara")
    response = await client.put(f"/api/agents/{agent_id}/integrations", headers=headers,
                                json={"instagram": {"access_token": token, "business_account_id": account}})
    assert response.status_code == 200, response.text
    return account


async def test_instagram_end_to_end_and_echoes_are_not_answered(client, shop, meta, instagram):
    body = ig_text(instagram, "IGSID-5551", "Сколько стоит женская стрижка?", "mid.IN1")
    for _ in range(2):
        assert (await post_signed(client, "/webhook/instagram", body, IG_SECRET)).status_code == 200
    sent = await until(lambda: _sends(meta, instagram))
    assert sent[0]["to"] == "IGSID-5551" and "1800" in sent[0]["text"]
    echo = ig_text(instagram, instagram, "Эхо нашего ответа", "mid.ECHO", is_echo=True)
    assert (await post_signed(client, "/webhook/instagram", echo, IG_SECRET)).status_code == 200
    await asyncio.sleep(0.7)
    assert len(meta.sent_messages(instagram)) == 1


async def test_instagram_without_messaging_permission_is_refused_in_words(client, shop, meta):
    headers, agent_id = shop
    token = meta.add_token(permissions=set())
    account = meta.add_instagram_account(token=token)
    response = await client.put(f"/api/agents/{agent_id}/integrations", headers=headers,
                                json={"instagram": {"access_token": token, "business_account_id": account}})
    assert response.status_code == 422, response.text
    assert "permission" in response.json()["detail"].lower()


async def test_statuses_never_move_back_and_early_ones_are_kept(client, shop, meta, whatsapp, app):
    headers, agent_id = shop
    from botcraft.dialogue.service import conversation_for

    async with app.state.db.transaction() as session:
        conversation = await conversation_for(session, agent_id, "whatsapp", "79990000009", "Олег")
        message = Message(conversation_id=conversation.id, agent_id=agent_id, channel="whatsapp", direction="out",
                          author="owner", text="Ваш заказ готов", status="queued")
        session.add(message)
        await session.flush()
        message_id = message.id
    # "read" and a late "delivered" in one payload run as concurrent jobs; and both arrive
    # before our sender has stored the message's wamid.
    body = json.loads(wa_status(whatsapp, "wamid.EARLY", "read", "79990000009"))
    statuses = body["entry"][0]["changes"][0]["value"]["statuses"]
    statuses.append({**statuses[0], "status": "delivered"})
    raw = json.dumps(body).encode()
    assert (await post_signed(client, "/webhook/whatsapp", raw, WA_SECRET)).status_code == 200
    await asyncio.sleep(0.3)
    async with app.state.db.transaction() as session:
        await session.execute(update(Message).where(Message.id == message_id)
                              .values(status="sent", channel_message_id="wamid.EARLY"))

    async def read():
        async with app.state.db.transaction(write=False) as session:
            return (await session.get(Message, message_id)).status == "read"

    await until(read)
    await asyncio.sleep(1.5)  # the 'delivered' retry has run too by now
    assert await read()


async def test_a_message_that_cannot_be_processed_is_handed_over_not_lost(client, shop, meta, whatsapp, app,
                                                                          monkeypatch):
    """A bug on a customer's message ends in a polite hand-over and a flag, never a silent dead job."""
    headers, agent_id = shop
    import botcraft.dialogue.engine as engine
    import botcraft.jobs.queue as queue

    async def broken_compose(*args, **kwargs):
        raise RuntimeError("a bug in composing the answer")

    monkeypatch.setattr(engine, "compose", broken_compose)
    monkeypatch.setattr(queue, "backoff_seconds", lambda attempt, **_: 0.05)  # five attempts, quickly
    body = wa_text(whatsapp, "79165550000", "Записан ли я на 二〇二四 год?", "wamid.BROKEN")
    assert (await post_signed(client, "/webhook/whatsapp", body, WA_SECRET)).status_code == 200

    sent = await until(lambda: _sends(meta, whatsapp), timeout=30)
    assert sent[0]["to"] == "79165550000"
    assert "передал" in sent[0]["text"] and "сотрудник" in sent[0]["text"]
    conversations = (await client.get(f"/api/agents/{agent_id}/conversations", headers=headers)).json()
    [conversation] = [c for c in conversations["items"] if c["external_chat_id"] == "79165550000"]
    assert conversation["needs_attention"] and "ответьте клиенту сами" in conversation["attention_reason"]
    messages = (await client.get(f"/api/conversations/{conversation['id']}/messages", headers=headers)).json()
    assert [m["text"] for m in messages if m["direction"] == "in"] == ["Записан ли я на 二〇二四 год?"]
    await asyncio.sleep(0.5)
    assert len(meta.sent_messages(whatsapp)) == 1  # one hand-over, however often the job was tried


async def test_a_message_with_a_nul_character_is_stored_and_answered(client, shop, meta, whatsapp):
    """PostgreSQL cannot store NUL in text; a customer who sends one still gets an answer, in a
    new conversation and in one that has begun (its look-up once read the stored event's JSON)."""
    headers, agent_id = shop
    for n, text in enumerate(["Сколько стоит маникюр?\u0000", "А женская\u0000 стрижка сколько стоит?"], start=1):
        body = wa_text(whatsapp, "79165550002", text, f"wamid.NUL{n}")
        assert (await post_signed(client, "/webhook/whatsapp", body, WA_SECRET)).status_code == 200

        async def answered(n=n):
            sends = await _sends(meta, whatsapp)
            return sends if len(sends) >= n else None

        sent = await until(answered, timeout=30)
        assert sent[n - 1]["to"] == "79165550002" and "передал" not in sent[n - 1]["text"]
    conversations = (await client.get(f"/api/agents/{agent_id}/conversations", headers=headers)).json()
    [conversation] = [c for c in conversations["items"] if c["external_chat_id"] == "79165550002"]
    messages = (await client.get(f"/api/conversations/{conversation['id']}/messages", headers=headers)).json()
    assert [m["text"] for m in messages if m["direction"] == "in"] == ["Сколько стоит маникюр?", "А женская стрижка сколько стоит?"]


async def test_an_answer_that_cannot_be_sent_shows_as_failed_and_flags_the_conversation(
        client, shop, meta, whatsapp, app, monkeypatch):
    headers, agent_id = shop
    import botcraft.jobs.queue as queue
    from botcraft.channels.whatsapp.channel import WhatsAppChannel

    async def broken_send(self, ctx, chat_id, text):
        raise RuntimeError("a bug in sending")

    monkeypatch.setattr(WhatsAppChannel, "send_text", broken_send)
    monkeypatch.setattr(queue, "backoff_seconds", lambda attempt, **_: 0.05)
    body = wa_text(whatsapp, "79165550001", "Сколько стоит маникюр?", "wamid.UNSENT")
    assert (await post_signed(client, "/webhook/whatsapp", body, WA_SECRET)).status_code == 200

    async def flagged():
        conversations = (await client.get(f"/api/agents/{agent_id}/conversations", headers=headers)).json()
        return [c for c in conversations["items"] if c["external_chat_id"] == "79165550001" and c["needs_attention"]]

    [conversation] = await until(flagged, timeout=30)
    assert "ответьте клиенту сами" in conversation["attention_reason"]

    async def failed():
        messages = (await client.get(f"/api/conversations/{conversation['id']}/messages", headers=headers)).json()
        return messages[-1]["direction"] == "out" and messages[-1]["status"] == "failed"

    assert await until(failed, timeout=10)  # the unsent answer is given up just after the flag


@pytest.mark.parametrize("channel, secret", [("whatsapp", WA_SECRET), ("instagram", IG_SECRET)])
@pytest.mark.parametrize("depth", [100_000, 900])
async def test_deeply_nested_signed_json_is_a_400_and_nothing_is_stored(client, meta, app, channel, secret, depth):
    # 100,000 levels is past what json.loads can parse; 900 parses but is no payload Meta sends.
    nested = "[" * depth + "]" * depth
    body = ('{"object": "whatsapp_business_account", "entry": [{"id": "1029384756", "changes": '
            '[{"field": "messages", "value": {"messages": [{"from": "79001234567", "id": "wamid.глубоко", '
            f'"type": "text", "text": {{"body": "Привет", "extra": {nested}}}}}]}}}}]}}]}}').encode()
    response = await post_signed(client, f"/webhook/{channel}", body, secret)
    assert response.status_code == 400, response.text
    assert response.json() == {"detail": "JSON в запросе вложен слишком глубоко (больше 64 уровней).",
                               "code": "json_too_deep"}
    async with app.state.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(ChannelEvent)) == 0
