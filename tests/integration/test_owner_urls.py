"""An owner's own LLM server: the platform's key never goes there, and it reaches only public addresses."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from botcraft.llm.base import ChatMessage, LLMError
from botcraft.llm.openai_compat import OpenAICompatProvider
from botcraft.models import Agent
from botcraft.netguard import BlockedAddress, public_addresses, url_problem
from tests.fakes.openai_fake import OpenAIFake
from tests.helpers import create_agent, sign_up

pytestmark = pytest.mark.usefixtures("closes_llm_clients")

PLATFORM_KEY = "sk-platform-secret-0123456789"


@pytest.fixture
def platform_llm(settings):
    fake = OpenAIFake(api_key=PLATFORM_KEY)
    with fake.serve():
        settings.openai_api_key, settings.openai_base_url = PLATFORM_KEY, fake.base_url + "/v1"
        settings.openai_model = "gpt-test"
        yield fake


@pytest.fixture
def owners_server():
    """A server an owner controls: it accepts any key and records what it was sent."""
    fake = OpenAIFake(api_key=None)
    with fake.serve():
        yield fake


async def _chat(client, headers, agent_id, message):
    response = await client.post(f"/api/agents/{agent_id}/chat", json={"message": message}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_platform_key_never_goes_to_an_owners_server(client, settings, platform_llm, owners_server):
    settings.allow_private_urls = True  # a one-owner install: its server may be on loopback
    headers = await sign_up(client)
    agent = await create_agent(client, headers, name="Кофейня «Зерно»", llm_base_url=owners_server.base_url + "/v1")
    answer = await _chat(client, headers, agent["id"], "Какой у вас самый крепкий кофе?")
    assert answer["answered_by"] == "llm"
    [request] = owners_server.chat_requests
    assert PLATFORM_KEY not in (request.authorization or "")
    assert platform_llm.chat_requests == []

    # With a key of its own, the owner's key goes to the owner's server, and only there.
    put = await client.put(f"/api/agents/{agent['id']}", json={"llm_api_key": "sk-owners-own-key"}, headers=headers)
    assert put.status_code == 200
    await _chat(client, headers, agent["id"], "А латте?")
    assert owners_server.chat_requests[-1].authorization == "Bearer sk-owners-own-key"

    # An agent on the platform's server uses the platform's key there.
    plain = await create_agent(client, headers, name="Пекарня")
    await _chat(client, headers, plain["id"], "Есть ли круассаны?")
    assert platform_llm.chat_requests[-1].authorization == f"Bearer {PLATFORM_KEY}"


@pytest.mark.parametrize("url", ["http://127.0.0.1:11434/v1", "http://localhost/v1", "http://169.254.169.254/latest",
                                 "http://10.0.0.7/v1", "http://[::1]:8080/v1", "http://[::ffff:192.168.1.1]/v1"])
async def test_private_and_local_addresses_are_refused_when_saved(client, url):
    headers = await sign_up(client)
    response = await client.post("/api/agents", json={"name": "Салон", "llm_base_url": url}, headers=headers)
    assert response.status_code == 422, response.text
    assert "llm_base_url" in response.json()["detail"]
    agent = await create_agent(client, headers, name="Салон")
    put = await client.put(f"/api/agents/{agent['id']}", json={"llm_base_url": url}, headers=headers)
    assert put.status_code == 422 and "llm_base_url" in put.json()["detail"]


@pytest.mark.parametrize("field, value", [("llm_base_url", "http://\u001a"), ("llm_base_url", "http://[::1"),
                                          ("llm_base_url", "ftp://example.com"), ("llm_base_url", "http://"),
                                          ("llm_api_key", "ключ-с-кириллицей"), ("llm_api_key", "sk a\nb")])
async def test_broken_llm_settings_are_refused_and_name_the_field(client, settings, field, value):
    settings.allow_private_urls = True  # syntax is checked whatever the operator allows
    headers = await sign_up(client)
    agent = await create_agent(client, headers, name="Автосервис")
    response = await client.put(f"/api/agents/{agent['id']}", json={field: value}, headers=headers)
    assert response.status_code == 422, response.text
    assert field in response.text
    # The agent still answers: nothing broken was stored.
    assert (await client.post(f"/api/agents/{agent['id']}/chat", json={"message": "Привет"},
                              headers=headers)).status_code == 200


async def test_a_url_that_turns_private_after_saving_is_not_reached(client, app, owners_server):
    """DNS rebinding: the address is checked again when connecting, not only when saved."""
    headers = await sign_up(client)
    agent = await create_agent(client, headers, name="Магазин одежды")
    async with app.state.db.transaction() as session:  # as if its name resolved to a public address then
        await session.execute(update(Agent).where(Agent.id == agent["id"])
                              .values(llm_base_url=owners_server.base_url + "/v1"))
    answer = await _chat(client, headers, agent["id"], "Сколько стоит доставка?")
    assert owners_server.requests == []
    assert answer["answered_by"] == "offline"


def test_url_syntax_problems_are_told_in_words():
    assert url_problem("https://api.openai.com/v1") is None
    assert url_problem("http://пример.рф/v1") is None
    assert url_problem("http://a:99999") and url_problem("http://a b")


async def test_addresses_are_checked_after_resolution():
    with pytest.raises(BlockedAddress):
        await public_addresses("localhost", 80)
    assert await public_addresses("8.8.8.8", 443) == ["8.8.8.8"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_an_owners_server_named_by_a_private_host_is_refused_when_connecting(owners_server, host):
    """The model client checks the address it connects to, for a host name (resolved) and an
    address alike; with the check lifted (ALLOW_PRIVATE_URLS) the same server answers."""
    base_url = owners_server.base_url.replace("127.0.0.1", host) + "/v1"
    guarded = OpenAICompatProvider(None, base_url, "gpt-test", timeout_s=5, max_retries=0, public_only=True)
    with pytest.raises(LLMError) as refused:
        await guarded.complete([ChatMessage("user", "Сколько стоит доставка?")])
    assert refused.value.code == "blocked_address"
    assert owners_server.requests == []

    trusted = OpenAICompatProvider(None, base_url, "gpt-test", timeout_s=5, max_retries=0)
    answer = await trusted.complete([ChatMessage("user", "Сколько стоит доставка?")])
    assert answer.text and len(owners_server.chat_requests) == 1
