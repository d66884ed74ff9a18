"""The OpenAPI document describes the API as it answers, so that a generated client copes."""

from __future__ import annotations

from botcraft.channels.meta.signature import expected_signature
from botcraft.errors import ErrorOut
from tests import docgen
from tests.helpers import PASSWORD, create_agent, sign_up, upload

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


async def _document(client) -> dict:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


async def test_every_error_response_is_the_real_error_model(client):
    document = await _document(client)
    error = document["components"]["schemas"]["ErrorOut"]
    assert error["required"] == ["detail", "code"]
    assert error["properties"]["detail"]["type"] == "string"
    assert "HTTPValidationError" not in document["components"]["schemas"]
    validation_errors = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400 and path != "/health":  # a degraded health report is its own body
                    assert response["content"] == {"application/json": {"schema": ERROR_REF}}, (method, path, status)
                    validation_errors += status == "422"
    assert validation_errors > 20


async def test_the_statuses_the_api_really_answers_are_documented(client, settings, tmp_path):
    """Each status, produced for real, is listed for its operation, and its body is an ErrorOut."""
    document = await _document(client)
    headers = await sign_up(client)
    agent = await create_agent(client, headers)
    pdf = docgen.make_pdf(tmp_path / "меню.pdf", ["Капучино — 250 рублей."])
    assert (await upload(client, headers, agent["id"], pdf)).status_code == 201
    duplicate = await upload(client, headers, agent["id"], pdf)
    settings.whatsapp_app_secret = "секрет-whatsapp"  # and none for Instagram: its webhook is a 503
    bad_json = b'{"entry": ['
    signed = expected_signature(bad_json, settings.whatsapp_app_secret)

    answers = [
        ("post", "/webhook/whatsapp", await client.post("/webhook/whatsapp", content=bad_json,
                                                        headers={"X-Hub-Signature-256": signed})),
        ("get", "/api/agents", await client.get("/api/agents")),
        ("post", "/webhook/whatsapp", await client.post("/webhook/whatsapp", content=b"{}",
                                                        headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})),
        ("get", "/api/agents/{agent_id}", await client.get("/api/agents/9999", headers=headers)),
        ("post", "/api/auth/register", await client.post("/api/auth/register",
                                                         json={"email": "owner@example.com", "password": PASSWORD})),
        ("post", "/api/agents", await client.post("/api/agents", headers=headers,
                                                  json={"name": "Кафе", "business_description": "ы" * 400_000})),
        ("post", "/api/agents/{agent_id}/documents", await upload(client, headers, agent["id"],
                                                                  docgen.make_exe(tmp_path / "setup.exe"))),
        ("post", "/api/agents", await client.post("/api/agents", headers=headers, json={})),
        ("post", "/webhook/instagram", await client.post("/webhook/instagram", content=b"{}",
                                                         headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})),
    ]
    for _ in range(11):
        wrong = await client.post("/api/auth/email", json={"email": "owner@example.com", "password": "не-тот-пароль"})
    answers.append(("post", "/api/auth/email", wrong))
    answers.append(("post", "/api/agents/{agent_id}/documents", duplicate))

    seen = set()
    for method, path, response in answers:
        documented = document["paths"][path][method]["responses"]
        assert str(response.status_code) in documented, (method, path, response.status_code, sorted(documented))
        if response.status_code >= 400:
            assert ErrorOut.model_validate(response.json()).detail
        seen.add(response.status_code)
    assert seen == {200, 400, 401, 403, 404, 409, 413, 415, 422, 429, 503}
    assert duplicate.status_code == 200 and duplicate.json()["duplicate"] is True


async def test_a_validation_error_names_each_field_as_documented(client):
    response = await client.post("/api/auth/register", json={"email": "не-почта", "password": "кор"})
    assert response.status_code == 422
    body = ErrorOut.model_validate(response.json())
    assert {e.field for e in body.errors or []} == {"email", "password"}
