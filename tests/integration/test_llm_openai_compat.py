"""OpenAICompatProvider through the real openai SDK against the fake OpenAI server."""

from __future__ import annotations

import asyncio
import time

import pytest

from botcraft.llm import (
    ChatMessage,
    Completion,
    LLMError,
    LLMUnavailable,
    OpenAICompatProvider,
    TextDelta,
)
from tests.fakes.openai_fake import Delay, OpenAIFake, Page, Reply

pytestmark = pytest.mark.usefixtures("closes_llm_clients")

KEY = "sk-test-botcraft-0123456789"
PASSAGE = "Доставка по Санкт-Петербургу — 300 ₽, бесплатно от 2000 ₽."
MESSAGES = [
    ChatMessage("system", f"Ты помощник кофейни. Отвечай по документам:\n[1] {PASSAGE}"),
    ChatMessage("user", "Сколько стоит доставка?"),
]


@pytest.fixture
def ai():
    fake = OpenAIFake(api_key=KEY)
    with fake.serve():
        yield fake


def provider(ai: OpenAIFake, **kwargs) -> OpenAICompatProvider:
    kwargs.setdefault("timeout_s", 5)
    return OpenAICompatProvider(KEY, ai.base_url + "/v1", "gpt-4o-mini", **kwargs)


def answer_from_passages(request: dict) -> str:
    system = request["messages"][0]["content"]
    passage = system.split("[1] ", 1)[1]
    return f"По нашему прайсу: {passage}"


async def test_complete_returns_text_and_usage(ai):
    ai.reply(answer_from_passages, prompt_tokens=57, completion_tokens=21)

    result = await provider(ai).complete(MESSAGES, temperature=0.2)

    assert result == Completion(
        text=f"По нашему прайсу: {PASSAGE}",
        prompt_tokens=57,
        completion_tokens=21,
        model="gpt-4o-mini",
        finish_reason="stop",
    )
    [req] = ai.chat_requests
    assert req.authorization == f"Bearer {KEY}"
    assert req.json["temperature"] == 0.2
    assert PASSAGE in req.prompt_text
    assert "stream" not in req.json


@pytest.mark.parametrize("page", [
    Page("<html><body><h1>Добро пожаловать на наш сайт</h1></body></html>"),
    Page('{"status": "ok", "message": "Сервис работает"}', content_type="application/json"),
    Page('{"choices": [], "model": "gpt-4o-mini"}', content_type="application/json"),
])
async def test_a_200_that_is_not_a_completion_is_an_invalid_response(ai, page):
    ai.enqueue(page)

    with pytest.raises(LLMError) as caught:
        await provider(ai).complete(MESSAGES)

    assert caught.value.code == "invalid_response"
    assert not caught.value.retryable
    assert len(ai.chat_requests) == 1  # the same page would come back: no retry


async def test_stream_assembles_text_and_reports_usage(ai):
    ai.reply(answer_from_passages, chunk_size=5, prompt_tokens=40, completion_tokens=12)

    events = [e async for e in provider(ai).stream(MESSAGES)]

    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    final = events[-1]
    assert len(deltas) > 3 and all(isinstance(e, TextDelta) for e in events[:-1])
    assert isinstance(final, Completion)
    assert "".join(deltas) == final.text == f"По нашему прайсу: {PASSAGE}"
    assert (final.prompt_tokens, final.completion_tokens) == (40, 12)
    assert ai.chat_requests[0].json["stream_options"] == {"include_usage": True}


async def test_429_waits_for_retry_after_then_succeeds(ai):
    ai.rate_limit(retry_after=1)
    ai.reply("Доставка — 300 ₽.")

    started = time.monotonic()
    result = await provider(ai).complete(MESSAGES)

    assert result.text == "Доставка — 300 ₽."
    assert len(ai.chat_requests) == 2
    gap = ai.chat_requests[1].at - ai.chat_requests[0].at
    assert gap >= 0.95 and time.monotonic() - started >= 0.95


async def test_huge_retry_after_fails_fast_with_the_wait(ai):
    ai.rate_limit(retry_after=3600)

    started = time.monotonic()
    with pytest.raises(LLMUnavailable) as info:
        await provider(ai).complete(MESSAGES)

    assert time.monotonic() - started < 2
    assert info.value.code == "rate_limited" and info.value.retry_after == 3600
    assert len(ai.chat_requests) == 1


async def test_500_then_success(ai):
    ai.server_error(500)
    ai.reply("Работаем с 8:00 до 22:00.")

    result = await provider(ai).complete(MESSAGES)

    assert result.text == "Работаем с 8:00 до 22:00."
    assert len(ai.chat_requests) == 2


async def test_stream_retries_before_first_chunk(ai):
    ai.server_error(503)
    ai.reply("Да, есть овсяное молоко.")

    events = [e async for e in provider(ai).stream(MESSAGES)]

    assert events[-1].text == "Да, есть овсяное молоко."
    assert len(ai.chat_requests) == 2


async def test_timeout_ends_in_unavailable(ai):
    ai.delay(5)
    ai.delay(5)

    started = time.monotonic()
    with pytest.raises(LLMUnavailable) as info:
        await provider(ai, timeout_s=0.5).complete(MESSAGES)

    assert info.value.retryable and info.value.code == "timeout"
    assert time.monotonic() - started < 4.5  # gave up before the 5 s the server would take


async def test_bad_key_is_not_retried(ai):
    bad = OpenAICompatProvider("sk-wrong-key-000000", ai.base_url + "/v1", "gpt-4o-mini")

    with pytest.raises(LLMError) as info:
        await bad.complete(MESSAGES)

    assert not isinstance(info.value, LLMUnavailable)
    assert (info.value.code, info.value.status_code, info.value.retryable) == ("auth", 401, False)
    assert "Incorrect API key" in str(info.value)
    assert len(ai.chat_requests) == 1


async def test_insufficient_quota_is_not_retried(ai):
    ai.insufficient_quota()

    with pytest.raises(LLMError) as info:
        await provider(ai).complete(MESSAGES)

    assert (info.value.code, info.value.retryable) == ("quota", False)
    assert len(ai.chat_requests) == 1


async def test_stream_broken_after_text_is_not_restarted(ai):
    ai.reply("Первая часть ответа, потом обрыв", chunk_size=4, break_after_chunks=2)

    seen: list[str] = []
    with pytest.raises(LLMUnavailable) as info:
        async for event in provider(ai).stream(MESSAGES):
            seen.append(event.text)

    assert seen == ["Перв", "ая ч"]
    assert info.value.code == "stream_interrupted"
    assert len(ai.chat_requests) == 1


async def test_clients_are_shared_per_url_and_key(ai):
    a = OpenAICompatProvider(KEY, ai.base_url + "/v1", "gpt-4o-mini")
    b = OpenAICompatProvider(KEY, ai.base_url + "/v1/", "gpt-4o")
    c = OpenAICompatProvider("sk-other-key-1234567", ai.base_url + "/v1", "gpt-4o-mini")

    assert a.client is b.client
    assert a.client is not c.client


async def test_a_busy_hour_opens_no_new_connection_to_the_model(ai):
    # 150 customers wait on a slow model at once (WORKER_CONCURRENCY lets 512 turns run), then
    # 150 more: the second wave goes over the connections of the first. The SDK's own pool
    # kept 100 of them alive, and each of the other 50 calls paid for a new connection.
    async def wave() -> set[int | None]:
        ai.enqueue(*[Delay(0.5, Reply("Доставка — 300 ₽.")) for _ in range(150)])
        before = len(ai.chat_requests)
        results = await asyncio.gather(*(provider(ai).complete(MESSAGES) for _ in range(150)))
        assert {result.text for result in results} == {"Доставка — 300 ₽."}
        return {request.client_port for request in ai.chat_requests[before:]}

    first = await wave()
    assert len(first) == 150  # all at once: a connection each
    second = await wave()
    assert second <= first, f"{len(second - first)} new connections"


async def test_a_shared_client_dropped_for_a_newer_one_is_closed_once_its_calls_are_over(ai, monkeypatch):
    from botcraft.llm import openai_compat

    monkeypatch.setattr(openai_compat, "MAX_CLIENTS_PER_LOOP", 1)
    monkeypatch.setattr(openai_compat, "RETIRED_CLIENT_CLOSE_S", 0.05)
    first = OpenAICompatProvider("sk-owner-one-0123456789", ai.base_url + "/v1", "gpt-4o-mini", timeout_s=5)
    second = OpenAICompatProvider("sk-owner-two-0123456789", ai.base_url + "/v1", "gpt-4o-mini", timeout_s=5)
    retired = first.client
    assert second.client is not retired  # another key: another client, and the first one leaves the cache

    assert not retired.is_closed()  # calls that took it a moment ago may still be running
    await asyncio.sleep(0.2)
    assert retired.is_closed()
    assert not second.client.is_closed()
