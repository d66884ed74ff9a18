import asyncio
import logging

import pytest

from tests.helpers import create_agent, sign_up

TG_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq"
WA_TOKEN = "EAAGm0PX4ZCpsBAKZCZAexampleWhatsAppToken1234567890"


async def test_crud_and_generated_prompt(client):
    headers = await sign_up(client)
    agent = await create_agent(client, headers)
    assert agent["language"] == "ru"
    prompt = agent["system_prompt"]
    assert "Цветочная лавка" in prompt and "дружелюбный" in prompt and "доставка" in prompt
    assert "не придумывай цены" in prompt and "сотрудником" in prompt and "языке клиента" in prompt

    updated = await client.put(f"/api/agents/{agent['id']}", json={"tone": "строгий и деловой"}, headers=headers)
    assert updated.status_code == 200 and updated.json()["tone"] == "строгий и деловой"
    assert updated.json()["system_prompt"] == prompt  # editing fields keeps the owner's prompt

    regenerated = await client.post(f"/api/agents/{agent['id']}/generate_prompt", headers=headers)
    assert regenerated.status_code == 200
    assert "строгий и деловой" in regenerated.json()["system_prompt"]
    again = await client.post(f"/api/agents/{agent['id']}/generate_prompt", headers=headers)
    assert again.json() == regenerated.json()  # deterministic
    stored = (await client.get(f"/api/agents/{agent['id']}", headers=headers)).json()
    assert stored["system_prompt"] == regenerated.json()["system_prompt"]

    listed = await client.get("/api/agents", headers=headers)
    assert [a["id"] for a in listed.json()] == [agent["id"]]
    assert (await client.delete(f"/api/agents/{agent['id']}", headers=headers)).status_code == 204
    assert (await client.get(f"/api/agents/{agent['id']}", headers=headers)).status_code == 404


async def test_english_description_gives_an_english_prompt(client):
    headers = await sign_up(client)
    agent = await create_agent(
        client, headers, name="Bike Repair", business_description="Bicycle repair shop in Riga",
        capabilities="repairs, spare parts", tone="friendly",
    )
    assert agent["language"] == "en"
    assert "Never invent prices" in agent["system_prompt"] and "Bike Repair" in agent["system_prompt"]


async def test_owner_prompt_is_kept(client):
    headers = await sign_up(client)
    agent = await create_agent(client, headers, system_prompt="Ты — вежливый консультант.")
    assert agent["system_prompt"] == "Ты — вежливый консультант."


async def test_another_users_agent_is_404(client):
    owner = await sign_up(client, "owner@example.com")
    stranger = await sign_up(client, "stranger@example.com")
    agent = await create_agent(client, owner)
    url = f"/api/agents/{agent['id']}"
    assert (await client.get(url, headers=stranger)).status_code == 404
    assert (await client.put(url, json={"name": "Взлом"}, headers=stranger)).status_code == 404
    assert (await client.delete(url, headers=stranger)).status_code == 404
    assert (await client.post(url + "/generate_prompt", headers=stranger)).status_code == 404
    assert (await client.put(url + "/integrations", json={"telegram": None}, headers=stranger)).status_code == 404
    assert (await client.get(url, headers=owner)).json()["name"] == "Цветочная лавка"


@pytest.mark.parametrize(
    "body, field",
    [({"name": ""}, "name"), ({"name": "x" * 101}, "name"), ({"name": "A", "llm_temperature": 5}, "llm_temperature"),
     ({"name": 5}, "name"), ({}, "name")],
)
async def test_field_validation_names_the_field(client, body, field):
    headers = await sign_up(client)
    response = await client.post("/api/agents", json=body, headers=headers)
    assert response.status_code == 422
    assert field in response.json()["detail"]


async def test_agent_limit_holds_under_concurrent_creates(client):
    headers = await sign_up(client)
    responses = await asyncio.gather(
        *(client.post("/api/agents", json={"name": f"Агент {i}"}, headers=headers) for i in range(10))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [409] * 5
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"agent_limit_reached"}
    assert len((await client.get("/api/agents", headers=headers)).json()) == 5


async def test_integrations_are_masked_everywhere_and_removable(client, app, caplog, tg, meta):
    caplog.set_level(logging.DEBUG)
    tg.add_bot(token=TG_TOKEN, username="flower_shop_bot")
    meta.add_whatsapp_number("106540352242922", token=meta.add_token(WA_TOKEN))
    headers = await sign_up(client)
    agent = await create_agent(client, headers)
    url = f"/api/agents/{agent['id']}/integrations"
    response = await client.put(
        url,
        json={"telegram": {"token": TG_TOKEN, "webhook_mode": False},
              "whatsapp": {"access_token": WA_TOKEN, "phone_number_id": "106540352242922"}},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    integrations = response.json()["integrations"]
    assert integrations["telegram"] == {"token": "••••sawq", "webhook_mode": False}
    assert caplog.text  # the capture works, so the checks below mean something
    assert integrations["whatsapp"]["access_token"] == "••••7890"
    assert integrations["whatsapp"]["phone_number_id"] == "106540352242922"
    assert integrations["instagram"] is None
    for path in (f"/api/agents/{agent['id']}", "/api/agents"):
        assert TG_TOKEN not in (await client.get(path, headers=headers)).text
    # Encrypted at rest.
    async with app.state.db.transaction() as db:
        from botcraft.models import Agent

        stored = (await db.get(Agent, agent["id"])).integrations_json
    assert TG_TOKEN not in str(stored) and WA_TOKEN not in str(stored)
    assert TG_TOKEN not in caplog.text and WA_TOKEN not in caplog.text

    # A secret left out is kept; null removes a channel.
    kept = await client.put(url, json={"telegram": {"webhook_mode": False}, "whatsapp": None}, headers=headers)
    assert kept.json()["integrations"]["telegram"] == {"token": "••••sawq", "webhook_mode": False}
    assert kept.json()["integrations"]["whatsapp"] is None


@pytest.mark.parametrize(
    "body, field",
    [
        ({"telegram": {"token": "not-a-token"}}, "telegram.token"),
        ({"whatsapp": {"access_token": WA_TOKEN, "phone_number_id": "abc"}}, "whatsapp.phone_number_id"),
        ({"whatsapp": {"access_token": WA_TOKEN}}, "whatsapp.phone_number_id"),
        ({"instagram": {"access_token": WA_TOKEN, "business_account_id": "1784140", "x": 1}}, "instagram.x"),
        ({"viber": {"token": "abc"}}, "viber"),
    ],
)
async def test_integration_shapes_are_validated(client, body, field):
    headers = await sign_up(client)
    agent = await create_agent(client, headers)
    response = await client.put(f"/api/agents/{agent['id']}/integrations", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]
    # Nothing half-stored.
    assert (await client.get(f"/api/agents/{agent['id']}", headers=headers)).json()["integrations"]["telegram"] is None


async def test_oversized_body_is_413_and_unknown_route_is_json_404(client):
    headers = await sign_up(client)
    big = await client.post("/api/agents", json={"name": "x", "business_description": "я" * 300_000}, headers=headers)
    assert big.status_code == 413 and big.json()["code"] == "payload_too_large"
    missing = await client.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def test_health_reports_database_and_configuration(client):
    body = (await client.get("/health")).json()
    assert body["status"] == "ok" and body["database"]["ok"] is True
    assert body["configured"]["llm"] == "offline"
