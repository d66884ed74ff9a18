"""The owner's loop under test: the platform's bot polling the fake Telegram, a WhatsApp shop."""

from __future__ import annotations

import pytest

from tests import docgen
from tests.helpers import create_agent, sign_up, upload, wait_processed
from tests.owner_support import platform_bot


@pytest.fixture
def platform(settings, tg):
    return platform_bot(settings, tg)


@pytest.fixture
async def app(settings, platform, meta):
    """The app with the platform's bot polling the fake Telegram (set before start-up)."""
    from botcraft.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def shop(client, workers, tmp_path, meta):
    headers = await sign_up(client)
    agent = await create_agent(client, headers, name="Салон «Лотос»",
                               business_description="Салон красоты в Самаре: стрижки, маникюр")
    xlsx = docgen.make_xlsx(tmp_path / "услуги.xlsx", {"Услуги": [
        ["Код", "Услуга", "Цена, ₽"], ["HC-1", "Женская стрижка", 1800], ["MN-2", "Маникюр с покрытием", 2200]]})
    response = await upload(client, headers, agent["id"], xlsx)
    assert (await wait_processed(client, headers, agent["id"], response.json()["id"]))["status"] == "ready"
    token = meta.add_token()
    phone = meta.add_whatsapp_number(token=token)
    response = await client.put(f"/api/agents/{agent['id']}/integrations", headers=headers,
                                json={"whatsapp": {"access_token": token, "phone_number_id": phone}})
    assert response.status_code == 200, response.text
    return headers, agent["id"], phone
