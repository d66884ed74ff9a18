"""Small steps many tests take: sign up, create an agent."""

from __future__ import annotations

import httpx

PASSWORD = "надёжный-пароль-42"


async def sign_up(client: httpx.AsyncClient, email: str = "owner@example.com") -> dict[str, str]:
    response = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def create_agent(client: httpx.AsyncClient, headers: dict[str, str], **fields: object) -> dict:
    body = {
        "name": "Цветочная лавка",
        "business_description": "Магазин цветов в Москве, доставка букетов по городу",
        "capabilities": "Консультации по букетам, приём заказов, доставка",
        "tone": "дружелюбный",
        **fields,
    }
    response = await client.post("/api/agents", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def upload(client: httpx.AsyncClient, headers: dict[str, str], agent_id: int, path, name: str | None = None):
    from pathlib import Path

    data = Path(path).read_bytes()
    return await client.post(
        f"/api/agents/{agent_id}/documents",
        files={"file": (name or Path(path).name, data, "application/octet-stream")},
        headers=headers,
    )


async def wait_processed(client: httpx.AsyncClient, headers: dict[str, str], agent_id: int, doc_id: int,
                         timeout: float = 60.0) -> dict:
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = (await client.get(f"/api/agents/{agent_id}/documents/{doc_id}", headers=headers)).json()
        if doc["status"] in ("ready", "failed"):
            return doc
        await asyncio.sleep(0.1)
    raise AssertionError(f"document {doc_id} still {doc['status']} after {timeout} s")


async def until(predicate, timeout: float = 15.0):
    """Poll an async predicate until it returns something truthy; that value is returned."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await predicate()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")
