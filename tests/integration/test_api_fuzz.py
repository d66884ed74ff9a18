"""Schemathesis against the real `botcraft serve`: no 5xx, and every answer as documented.

The service runs as deployed (its own process, uvicorn, a database of the run's kind, its
job worker), with the fakes of Telegram and Graph API behind it. A signed-in owner has an
agent, a processed document and a conversation; the generated cases aim at those ids,
valid (positive) and invalid (negative) cases, so that generated bodies and queries
reach the code behind the ownership checks; then valid cases with generated ids. Checks: no
server error, and status code, content type, headers and body schema as the document says.

Budget: BOTCRAFT_FUZZ_EXAMPLES cases per operation and mode (default 5, deterministic, for
`make test`); `make fuzz` runs many more with fresh randomness.
"""

from __future__ import annotations

import os
import time
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.modes import GenerationMode

from tests import docgen
from tests.conftest import IG_SECRET, WA_SECRET
from tests.helpers import PASSWORD
from tests.service_process import ServiceProcess

EXAMPLES = int(os.environ.get("BOTCRAFT_FUZZ_EXAMPLES", "5"))
RANDOM = os.environ.get("BOTCRAFT_FUZZ_RANDOM") == "1"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def _seed(url: str, tmp_path: Any) -> tuple[dict[str, str], dict[str, int]]:
    """An owner with an agent, a processed document and a conversation."""
    with httpx.Client(base_url=url, timeout=60) as c:
        token = c.post("/api/auth/register", json={"email": "kofeinya@example.com", "password": PASSWORD})
        assert token.status_code == 201, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        agent = c.post("/api/agents", headers=headers, json={
            "name": "Кофейня «Зерно»", "business_description": "Кофейня в Казани: кофе, выпечка, завтраки"})
        assert agent.status_code == 201, agent.text
        agent_id = agent.json()["id"]
        pdf = docgen.make_pdf(tmp_path / "меню.pdf", ["Капучино — 250 рублей. Круассан — 180 рублей."])
        document = c.post(f"/api/agents/{agent_id}/documents", headers=headers,
                          files={"file": ("меню.pdf", pdf.read_bytes(), "application/pdf")})
        assert document.status_code == 201, document.text
        deadline = time.monotonic() + 60
        while c.get(f"/api/agents/{agent_id}/documents/{document.json()['id']}",
                    headers=headers).json()["status"] not in ("ready", "failed"):
            assert time.monotonic() < deadline, "the document was not processed"
            time.sleep(0.1)
        chat = c.post(f"/api/agents/{agent_id}/chat", headers=headers, json={"message": "Сколько стоит капучино?"})
        assert chat.status_code == 200, chat.text
    return headers, {"agent_id": agent_id, "document_id": document.json()["id"],
                     "conversation_id": chat.json()["conversation_id"]}


def _order(operation: Any) -> int:
    # Deleting the seeded objects or signing out would leave the rest with nothing to reach.
    if operation.path == "/api/auth/logout":
        return 2
    return 1 if operation.method.upper() == "DELETE" else 0


def _run(operation: Any, strategy: st.SearchStrategy[Any], url: str, headers: dict[str, str]) -> str | None:
    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not RANDOM,
                         suppress_health_check=list(hypothesis.HealthCheck), print_blob=False,
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
    @hypothesis.given(case=strategy)
    def run(case: Any) -> None:
        if isinstance(case.body, dict) and "llm_base_url" in case.body:
            # The server resolves an owner's URL when it is saved and calls it for a chat: a
            # generated one could be any host on the internet, which tests never reach.
            case.body["llm_base_url"] = None
        case.call_and_validate(base_url=url, headers=headers, checks=CHECKS, timeout=60)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:  # no invalid input exists for an operation without inputs
        return None
    except (Exception, BaseExceptionGroup) as exc:  # every operation's failures are reported together
        return f"{operation.method.upper()} {operation.path}: {exc}"
    return None


@pytest.mark.timeout(120 + 40 * EXAMPLES)  # about 16 s per example for all operations
def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(settings, tg, meta, tmp_path):
    # Configured as in production: the platform bot and both Meta apps, so that a 503 for a
    # missing setting is not the expected answer of any route.
    with ServiceProcess(settings, tmp_path / "serve", WORKERS_IN_SERVE=1, TELEGRAM_TOKEN=tg.add_bot(),
                        TELEGRAM_POLLING="false", WHATSAPP_APP_SECRET=WA_SECRET, INSTAGRAM_APP_SECRET=IG_SECRET,
                        WHATSAPP_VERIFY_TOKEN="wa-verify-токен-1", INSTAGRAM_VERIFY_TOKEN="ig-verify-token-2") as service:
        headers, ids = _seed(service.url, tmp_path)
        schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
        operations = sorted((result.ok() for result in schema.get_all_operations()), key=_order)
        failures = []
        for operation in operations:
            known = {p.name: ids[p.name] for p in operation.path_parameters if p.name in ids}
            strategies = [operation.as_strategy(mode, path_parameters=known)
                          for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
            if known:  # and ids nobody owns
                strategies.append(operation.as_strategy(GenerationMode.POSITIVE))
            for strategy in strategies:
                failure = _run(operation, strategy, service.url, headers)
                if failure:
                    failures.append(failure)
                    break
        health = httpx.get(service.url + "/health", timeout=10)
        assert health.status_code == 200, service.log()[-5000:]
        errors = [line for line in service.log().splitlines() if "unhandled_error" in line]
    assert len(operations) > 30
    assert not failures, "\n\n".join([*failures, "The server logged:", *errors])
