"""GraphClient against a fake Graph API on loopback: retries, error words, token hygiene."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from botcraft.channels.meta.graph import (
    GraphAuthError,
    GraphClient,
    GraphError,
    GraphPermissionError,
    GraphRateLimited,
    GraphWindowClosed,
    instagram_check,
    instagram_send_text,
    split_for_instagram,
    split_for_whatsapp,
    whatsapp_mark_read,
    whatsapp_send_text,
)
from botcraft.channels.text_split import utf8_len
from tests.fakes.graph_fake import GraphFake
from tests.fakes.server import serve

FIXTURES = Path(
    os.environ.get("BOTCRAFT_FIXTURES", Path(__file__).resolve().parents[3] / "shared/fixtures")
)
CUSTOMER = "79001234567"
IGSID = "5614879045272581"


@pytest.fixture
def graph() -> Iterator[GraphFake]:
    fake = GraphFake()
    with fake.serve():
        yield fake


@pytest.fixture
def delays() -> list[float]:
    return []


@pytest.fixture
async def client(graph: GraphFake, delays: list[float]) -> AsyncIterator[GraphClient]:
    async def sleep(seconds: float) -> None:
        delays.append(seconds)  # recorded, not slept: the backoff is checked, not waited

    assert graph.base_url is not None
    async with GraphClient(graph.base_url, version="v21.0", max_retries=3, sleep=sleep) as c:
        yield c


@pytest.fixture
def whatsapp(graph: GraphFake) -> tuple[str, str]:
    token = graph.add_token(permissions={"whatsapp_business_messaging"})
    return graph.add_whatsapp_number(token=token), token


@pytest.fixture
def instagram(graph: GraphFake) -> tuple[str, str]:
    token = graph.add_token(
        permissions={"instagram_business_basic", "instagram_business_manage_messages"}
    )
    return graph.add_instagram_account(token=token, username="zerno_coffee"), token


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def message_requests(graph: GraphFake) -> list[object]:
    return [r for r in graph.requests if r.method == "POST" and r.path.endswith("/messages")]


def assert_no_token(exc: BaseException, token: str, caplog: pytest.LogCaptureFixture) -> None:
    assert isinstance(exc, GraphError)
    texts = [str(exc), repr(exc), exc.user_message, exc.message, *map(str, exc.args)]
    texts += [r.getMessage() for r in caplog.records]
    assert all(token not in text for text in texts)


async def test_send_text_uses_bearer_header_and_meta_body(
    client: GraphClient, graph: GraphFake, whatsapp: tuple[str, str]
) -> None:
    phone_id, token = whatsapp
    wamid = await whatsapp_send_text(client, phone_id, token, CUSTOMER, "Здравствуйте!")
    assert wamid.startswith("wamid.")
    [sent] = graph.sent_messages(phone_id)
    assert sent["message_id"] == wamid and sent["text"] == "Здравствуйте!"
    expected = fixture("whatsapp/api_requests_responses.json")["send_text_request"]["body"]
    expected["to"], expected["text"]["body"] = CUSTOMER, "Здравствуйте!"
    assert sent["body"] == expected
    [request] = graph.requests
    assert request.headers["authorization"] == f"Bearer {token}"
    assert token not in request.path and "access_token" not in request.query
    assert request.version == "v21.0"


async def test_rate_limit_code_4_in_a_400_is_retried_then_succeeds(
    client: GraphClient, graph: GraphFake, whatsapp: tuple[str, str], delays: list[float]
) -> None:
    phone_id, token = whatsapp
    graph.fail_next(4, times=2)  # HTTP 400 with error.code 4
    wamid = await whatsapp_send_text(client, phone_id, token, CUSTOMER, "Привет")
    assert wamid.startswith("wamid.")
    assert len(message_requests(graph)) == 3
    assert len(delays) == 2
    # Equal jitter around 0.5 s, 1 s: between half and all of each step.
    assert 0.25 <= delays[0] <= 0.5 and 0.5 <= delays[1] <= 1.0


async def test_rate_limit_that_persists_ends_in_graph_rate_limited(
    client: GraphClient, graph: GraphFake, whatsapp: tuple[str, str], delays: list[float]
) -> None:
    phone_id, token = whatsapp
    graph.fail_next(130429, times=10)
    with pytest.raises(GraphRateLimited) as info:
        await whatsapp_send_text(client, phone_id, token, CUSTOMER, "Привет")
    assert len(message_requests(graph)) == 4  # the first try and max_retries=3 retries
    assert info.value.code == 130429 and info.value.retryable
    assert info.value.http_status == 400
    assert len(delays) == 3


async def test_backoff_is_capped() -> None:
    client = GraphClient("http://127.0.0.1:9", backoff_base=1.0, backoff_cap=4.0)
    try:
        assert all(2.0 <= client.backoff(n) <= 4.0 for n in range(3, 30))
    finally:
        await client.aclose()


async def test_window_closed_is_not_retried(
    client: GraphClient,
    graph: GraphFake,
    whatsapp: tuple[str, str],
    delays: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    phone_id, token = whatsapp
    graph.close_window(CUSTOMER)
    with pytest.raises(GraphWindowClosed) as info:
        await whatsapp_send_text(client, phone_id, token, CUSTOMER, "Вы ещё здесь?")
    assert len(message_requests(graph)) == 1 and delays == []
    error = info.value
    assert error.code == 131047 and not error.retryable
    assert "more than 24 hours" in error.user_message
    assert "only a template message can be sent" in error.user_message
    assert error.details is not None and "24 hours" in error.details
    assert_no_token(error, token, caplog)


async def test_invalid_token_is_an_auth_error_in_words(
    client: GraphClient,
    graph: GraphFake,
    whatsapp: tuple[str, str],
    delays: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    phone_id, token = whatsapp
    graph.invalidate_token(token)
    with pytest.raises(GraphAuthError) as info:
        await whatsapp_send_text(client, phone_id, token, CUSTOMER, "Привет")
    error = info.value
    assert error.code == 190 and error.http_status == 401 and not error.retryable
    assert "access token is invalid or has expired" in error.user_message
    assert "replace it" in error.user_message
    assert len(message_requests(graph)) == 1 and delays == []
    assert_no_token(error, token, caplog)


async def test_expired_token_subcode_is_named(
    client: GraphClient, graph: GraphFake, whatsapp: tuple[str, str]
) -> None:
    phone_id, token = whatsapp
    graph.fail_next(
        190,
        http_status=400,
        message="Error validating access token: Session has expired on Friday.",
        subcode=463,
    )
    with pytest.raises(GraphAuthError) as info:
        await whatsapp_mark_read(client, phone_id, token, "wamid.in")
    assert "(it has expired)" in info.value.user_message


async def test_token_echoed_by_meta_is_scrubbed(
    client: GraphClient,
    graph: GraphFake,
    whatsapp: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    phone_id, token = whatsapp
    graph.fail_next(100, message=f"(#100) Malformed access token {token}")
    with pytest.raises(GraphError) as info:
        await whatsapp_send_text(client, phone_id, token, CUSTOMER, "Привет")
    assert "[token]" in info.value.message
    assert_no_token(info.value, token, caplog)


async def test_missing_whatsapp_permission_is_named(
    client: GraphClient, graph: GraphFake, whatsapp: tuple[str, str]
) -> None:
    phone_id, token = whatsapp
    graph.revoke_permission(token, "whatsapp_business_messaging")
    with pytest.raises(GraphPermissionError) as info:
        await whatsapp_send_text(client, phone_id, token, CUSTOMER, "Привет")
    assert info.value.code == 10
    assert "lacks a permission" in info.value.user_message
    assert "whatsapp_business_messaging" in info.value.user_message
    assert len(message_requests(graph)) == 1


async def test_missing_instagram_permission_named_by_meta(
    client: GraphClient, graph: GraphFake, instagram: tuple[str, str]
) -> None:
    account_id, token = instagram
    graph.revoke_permission(token, "instagram_business_manage_messages")
    with pytest.raises(GraphPermissionError) as info:
        await instagram_send_text(client, account_id, token, IGSID, "Привет")
    assert info.value.code == 200
    assert "lacks the permission instagram_manage_messages" in info.value.user_message


async def test_server_errors_are_retried(
    client: GraphClient, graph: GraphFake, whatsapp: tuple[str, str]
) -> None:
    phone_id, token = whatsapp
    graph.fail_next(131000, times=2)  # HTTP 500 "Something went wrong"
    assert (await whatsapp_send_text(client, phone_id, token, CUSTOMER, "x")).startswith("wamid.")
    assert len(message_requests(graph)) == 3


async def test_other_errors_are_graph_errors_and_not_retried(
    client: GraphClient, graph: GraphFake, whatsapp: tuple[str, str]
) -> None:
    phone_id, token = whatsapp
    with pytest.raises(GraphError) as info:
        await whatsapp_send_text(client, phone_id, token, CUSTOMER, "я" * 4097)
    error = info.value
    assert type(error) is GraphError
    assert (error.code, error.http_status, error.retryable) == (100, 400, False)
    assert "4096" in error.user_message
    assert len(message_requests(graph)) == 1


async def test_mark_read(client: GraphClient, graph: GraphFake, whatsapp: tuple[str, str]) -> None:
    phone_id, token = whatsapp
    await whatsapp_mark_read(client, phone_id, token, "wamid.incoming")
    [receipt] = graph.read_receipts(phone_id)
    assert receipt["message_id"] == "wamid.incoming"


async def test_instagram_send_and_human_agent_tag(
    client: GraphClient, graph: GraphFake, instagram: tuple[str, str]
) -> None:
    account_id, token = instagram
    mid = await instagram_send_text(client, account_id, token, IGSID, "Добрый день!")
    graph.close_window(IGSID)
    with pytest.raises(GraphWindowClosed) as info:
        await instagram_send_text(client, account_id, token, IGSID, "Ещё вопрос?")
    assert "24 hours" in info.value.user_message and not info.value.retryable
    # A person may still answer for 7 days with the HUMAN_AGENT tag.
    await instagram_send_text(client, account_id, token, IGSID, "Отвечаю лично", human_agent=True)
    sent = graph.sent_messages(account_id)
    assert [m["text"] for m in sent] == ["Добрый день!", "Отвечаю лично"]
    assert sent[0]["message_id"] == mid
    plain = fixture("instagram/send_request_text.json")
    plain["recipient"]["id"], plain["message"]["text"] = IGSID, "Добрый день!"
    tagged = fixture("instagram/send_request_text_human_agent_tag.json")
    tagged["recipient"]["id"], tagged["message"]["text"] = IGSID, "Отвечаю лично"
    assert [m["body"] for m in sent] == [plain, tagged]


async def test_instagram_check(
    client: GraphClient, graph: GraphFake, instagram: tuple[str, str]
) -> None:
    account_id, token = instagram
    assert await instagram_check(client, account_id, token) == {
        "id": account_id,
        "username": "zerno_coffee",
    }
    assert graph.requests[-1].query["fields"] == "id,username"
    with pytest.raises(GraphError) as info:
        await instagram_check(client, "17840000000000000", token)
    assert "was not found with this access token" in info.value.user_message
    graph.invalidate_token(token)
    with pytest.raises(GraphAuthError):
        await instagram_check(client, account_id, token)


async def test_long_russian_reply_split_for_instagram_is_accepted(
    client: GraphClient, graph: GraphFake, instagram: tuple[str, str]
) -> None:
    account_id, token = instagram
    reply = " ".join(f"Предложение {i} о доставке и оплате." for i in range(150))
    parts = split_for_instagram(reply)
    assert len(parts) > 5 and all(utf8_len(p) <= 1000 for p in parts)
    for part in parts:
        await instagram_send_text(client, account_id, token, IGSID, part)
    assert " ".join(m["text"] for m in graph.sent_messages(account_id)) == reply
    # WhatsApp counts characters: the same reply takes two messages, cut after a sentence.
    whatsapp_parts = split_for_whatsapp(reply)
    assert len(whatsapp_parts) == 2 and all(len(p) <= 4096 for p in whatsapp_parts)
    assert whatsapp_parts[0].endswith(".") and " ".join(whatsapp_parts) == reply


# ---------------------------------------------- what the Graph fake does not do by itself


def bare_app(status: int, body: str = "", content_type: str = "text/html") -> Starlette:
    calls: list[int] = []

    async def endpoint(request: Request) -> Response:
        calls.append(1)
        return Response(body, status_code=status, media_type=content_type)

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])
    app.state.calls = calls
    return app


async def test_5xx_without_a_body_is_retried_then_a_graph_error() -> None:
    app = bare_app(502)
    with serve(app) as base_url:
        async with GraphClient(base_url, backoff_base=0.001, max_retries=2) as client:
            with pytest.raises(GraphError) as info:
                await client.request("POST", "123/messages", token="T0KEN-SECRET", json={})
    assert len(app.state.calls) == 3
    assert info.value.code is None and info.value.http_status == 502 and info.value.retryable
    assert "T0KEN-SECRET" not in str(info.value)


async def test_error_object_in_a_200_is_still_an_error() -> None:
    async def endpoint(request: Request) -> Response:
        return JSONResponse({"error": {"message": "(#131047) Re-engagement", "code": 131047}})

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST"])])
    with serve(app) as base_url:
        async with GraphClient(base_url, backoff_base=0.001) as client:
            with pytest.raises(GraphWindowClosed):
                await client.request("POST", "1/messages", token="t", json={})


async def test_network_error_is_retried_then_a_graph_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Starlette(routes=[Route("/", lambda r: PlainTextResponse("x"))])
    with serve(app) as base_url:
        pass  # the port is free again: connections are refused
    async with GraphClient(base_url, backoff_base=0.001, max_retries=2) as client:
        with pytest.raises(GraphError) as info:
            await client.request("GET", "me", token="T0KEN-SECRET")
    assert info.value.retryable and info.value.code is None
    assert "Could not reach Meta's servers" in info.value.user_message
    assert_no_token(info.value, "T0KEN-SECRET", caplog)
    assert len([r for r in caplog.records if "retry" in r.getMessage()]) == 2


async def test_shared_http_client_is_not_closed() -> None:
    async with httpx.AsyncClient() as http:
        async with GraphClient("http://127.0.0.1:9", http=http):
            pass
        assert not http.is_closed
