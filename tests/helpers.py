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
