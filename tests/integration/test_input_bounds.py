"""Values no database column can hold are refused in words, on every route the API has."""

from __future__ import annotations

from typing import Any

import pytest

from tests import docgen
from tests.helpers import create_agent, sign_up, upload

# Past SQLite's INTEGER (2^63 - 1), and past PostgreSQL's 32-bit id columns.
HUGE_IDS = [2**63, 2**64 + 7, 2**31]


@pytest.fixture
async def owner(client, tmp_path):
    headers = await sign_up(client)
    agent = await create_agent(client, headers)
    pdf = docgen.make_pdf(tmp_path / "доставка.pdf", ["Доставка по Москве — 300 рублей."])
    document = await upload(client, headers, agent["id"], pdf)
    assert document.status_code == 201, document.text
    chat = await client.post(f"/api/agents/{agent['id']}/chat", headers=headers,
                             json={"message": "Сколько стоит доставка?"})
    assert chat.status_code == 200, chat.text
    ids = {"agent_id": agent["id"], "document_id": document.json()["id"],
           "conversation_id": chat.json()["conversation_id"]}
    return headers, ids


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _is_integer(schema: dict[str, Any], node: dict[str, Any]) -> bool:
    node = _resolve(schema, node)
    return node.get("type") == "integer" or any(_is_integer(schema, n) for n in node.get("anyOf", []))


def _sample(schema: dict[str, Any], node: dict[str, Any], ids: dict[str, int]) -> Any:
    """A valid value for the required fields of a body, so that only the id is wrong."""
    node = _resolve(schema, node)
    if "anyOf" in node:
        return _sample(schema, node["anyOf"][0], ids)
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object":
        return {name: _sample(schema, prop, ids) for name, prop in node.get("properties", {}).items()
                if name in node.get("required", [])}
    return {"string": "Сколько стоит доставка?", "integer": 1, "number": 1, "boolean": True,
            "array": []}.get(kind)


async def test_ids_past_the_database_range_are_404_or_422_everywhere(client, owner):
    headers, ids = owner
    schema = (await client.get("/openapi.json")).json()
    tried = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            params = operation.get("parameters", [])
            path_values = {p["name"]: ids.get(p["name"], 1) for p in params if p["in"] == "path"}
            cases: list[tuple[dict[str, Any], dict[str, Any], Any]] = []
            for param in params:
                if not _is_integer(schema, param["schema"]):
                    continue
                for huge in HUGE_IDS:
                    if param["in"] == "path":
                        cases.append(({**path_values, param["name"]: huge}, {}, None))
                    elif param["in"] == "query":
                        cases.append((path_values, {param["name"]: huge}, None))
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                body_schema = _resolve(schema, body["schema"])
                valid = _sample(schema, body_schema, ids) or {}
                for name, prop in body_schema.get("properties", {}).items():
                    if _is_integer(schema, prop):
                        cases.extend((path_values, {}, {**valid, name: huge}) for huge in HUGE_IDS)
            for values, query, json_body in cases:
                url = path.format(**values)
                response = await client.request(method.upper(), url, params=query, headers=headers,
                                                json=json_body)
                tried += 1
                assert response.status_code in (404, 422), (method, url, query, json_body, response.text)
                assert isinstance(response.json()["detail"], str)
    assert tried > 40  # every route with an id was tried


async def test_a_page_past_any_offset_is_refused(client, owner):
    headers, ids = owner
    response = await client.get(f"/api/agents/{ids['agent_id']}/conversations", headers=headers,
                                params={"page": 2**62})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "page"


@pytest.mark.parametrize("field", ["language", "name", "business_description", "capabilities", "tone",
                                   "is_active"])
async def test_null_for_a_field_that_cannot_be_empty_is_422_naming_it(client, owner, field):
    headers, ids = owner
    response = await client.put(f"/api/agents/{ids['agent_id']}", headers=headers, json={field: None})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    agent = await client.get(f"/api/agents/{ids['agent_id']}", headers=headers)
    assert agent.status_code == 200 and agent.json()["language"] == "ru"


async def test_null_clears_the_fields_that_may_be_empty(client, owner):
    headers, ids = owner
    set_model = await client.put(f"/api/agents/{ids['agent_id']}", headers=headers, json={"llm_model": "qwen2.5"})
    assert set_model.json()["llm"]["model"] == "qwen2.5"
    cleared = await client.put(f"/api/agents/{ids['agent_id']}", headers=headers,
                               json={"llm_model": None, "media_reply": None, "system_prompt": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["llm"]["model"] is None
    assert "Цветочная лавка" in cleared.json()["system_prompt"]  # regenerated, not empty


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("post", "/api/conversations/{conversation_id}/messages", {"text": "Добрый\x00день"}, "text"),
    ("post", "/api/agents/{agent_id}/answers", {"question": "Есть парковка?", "answer": "Да\x00"}, "answer"),
    ("put", "/api/agents/{agent_id}", {"name": "Кофейня\x00"}, "name"),
    ("post", "/api/agents/{agent_id}/chat", {"message": "Сколько\x00стоит доставка?"}, "message"),
])
async def test_text_with_a_nul_character_is_422_naming_the_field_and_stores_nothing(
        client, owner, method, path, body, field):
    """PostgreSQL cannot store NUL in text: it is refused in words on both databases, not a 500."""
    headers, ids = owner
    before = (await client.get(f"/api/agents/{ids['agent_id']}", headers=headers)).json()
    response = await client.request(method, path.format(**ids), headers=headers, json=body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["errors"][0]["field"] == field
    assert "NUL" in error["errors"][0]["message"] and "не должно" in error["errors"][0]["message"]
    after = (await client.get(f"/api/agents/{ids['agent_id']}", headers=headers)).json()
    assert after["name"] == before["name"]
    answers = await client.get(f"/api/agents/{ids['agent_id']}/answers", headers=headers)
    assert all("\x00" not in pair["answer"] for pair in answers.json())
