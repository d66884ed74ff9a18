"""What a person reads from the API is in their language: Russian by default, English when asked."""

from __future__ import annotations

from tests import docgen
from tests.helpers import create_agent, sign_up, upload, wait_processed

EN = {"Accept-Language": "en-US,en;q=0.9"}
RU = {"Accept-Language": "ru-RU,ru;q=0.9"}


async def test_a_failed_sign_in_suggests_registering_in_the_persons_language(client):
    body = {"email": "new@example.com", "password": "пароль-123456"}
    ru = await client.post("/api/auth/email", json=body, headers=RU)
    en = await client.post("/api/auth/email", json=body, headers=EN)
    assert ru.status_code == en.status_code == 401
    assert ru.json()["code"] == en.json()["code"] == "wrong_credentials"
    assert ru.json()["detail"] == "Неверный e-mail или пароль. Впервые здесь? Сначала зарегистрируйтесь."
    assert en.json()["detail"] == "Wrong e-mail or password. New here? Create an account first."
    # The same words whether or not the account exists: nothing is revealed.
    await sign_up(client, "new@example.com")
    again = await client.post("/api/auth/email", json={**body, "password": "другой-пароль-1"}, headers=RU)
    assert again.json()["detail"] == ru.json()["detail"]


async def test_russian_is_the_default_and_english_is_given_when_asked(client):
    headers = await sign_up(client)
    missing = await client.get("/api/agents/999", headers=headers)
    assert missing.status_code == 404 and missing.json()["detail"] == "Ассистент не найден."
    english = await client.get("/api/agents/999", headers={**headers, **EN})
    assert english.json()["detail"] == "Agent not found."
    nowhere = await client.get("/api/no-such-page")
    assert nowhere.json()["detail"] == "Здесь ничего нет — проверьте адрес."


async def test_validation_messages_name_the_field_in_russian(client):
    headers = await sign_up(client)
    response = await client.post("/api/agents", json={"name": "   ", "tone": "т" * 300}, headers=headers)
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors["name"] == "не может быть пустым"
    assert errors["tone"] == "должно быть не длиннее 200 символов"
    assert "name: не может быть пустым" in response.json()["detail"]
    english = await client.post("/api/agents", json={"name": ""}, headers={**headers, **EN})
    assert english.json()["errors"][0]["message"] == "must not be empty"


async def test_stored_reasons_are_shown_in_the_readers_language(client, workers, tmp_path):
    headers = await sign_up(client)
    agent = await create_agent(client, headers, name="Салон «Лотос»")
    broken = docgen.make_encrypted_pdf(tmp_path / "прайс.pdf")
    document = (await upload(client, headers, agent["id"], broken)).json()
    failed = await wait_processed(client, headers, agent["id"], document["id"])
    assert failed["status"] == "failed" and "защищён паролем" in failed["error"]
    english = (await client.get(f"/api/agents/{agent['id']}/documents/{document['id']}", headers={**headers, **EN}))
    assert "password-protected" in english.json()["error"]

    chat = await client.post(f"/api/agents/{agent['id']}/chat", json={"message": "Делаете ли вы татуировки?"},
                             headers=headers)
    conversation_id = chat.json()["conversation_id"]
    conversation = (await client.get(f"/api/conversations/{conversation_id}", headers=headers)).json()
    assert conversation["needs_attention"]
    assert conversation["attention_reason"] == "Ни один документ не отвечает на этот вопрос."
