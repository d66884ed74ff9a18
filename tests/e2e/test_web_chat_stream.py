"""The test chat with a language model (the fake OpenAI server): the answer streams in piece
by piece, then shows the sources the model was given, without the offline label."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.docgen import make_xlsx
from tests.e2e.support import shot, wait_ready, wait_until
from tests.fakes.openai_fake import Reply

pytestmark = pytest.mark.browser

ANSWER = "Круассан с миндалём стоит 95 ₽. Заходите, пока тёплые!"


def test_chat_streams_a_model_answer_with_its_sources(openai_fake, serve_app, new_page, tmp_path):
    ai = openai_fake
    ai.enqueue(Reply(text=ANSWER, chunk_size=4, chunk_delay=0.06))
    live = serve_app(openai_base_url=ai.base_url + "/v1", openai_api_key="sk-test-key")
    token = live.register("owner@kolosok.ru")
    price = make_xlsx(tmp_path / "Прайс.xlsx", {"Прайс": [
        ["Товар", "Цена, ₽"], ["Круассан с миндалём", 95], ["Хлеб бородинский", 120]]})
    with live.client(token) as api:
        agent = api.post("/api/agents", json={"name": "Колосок"}).json()
        with price.open("rb") as f:
            api.post(f"/api/agents/{agent['id']}/documents", files={"file": (price.name, f)})
        docs = f"/api/agents/{agent['id']}/documents"
        wait_until(lambda: api.get(docs).json()[0]["status"] == "ready")

    page = new_page(init_script=f"localStorage.setItem('botcraft.token', {token!r})")
    page.goto(f"{live.url}/#/agents/{agent['id']}/chat")
    wait_ready(page, "chat")
    page.get_by_role("button", name="Сколько стоит доставка?").wait_for()
    box = page.get_by_label("Ваш вопрос…")
    box.fill("Сколько стоит круассан?")
    page.get_by_role("button", name="Отправить", exact=True).click()

    # Part of the answer is on screen before the whole of it has arrived.
    partial = page.wait_for_function("""(full) => {
        const m = document.querySelector('.msg.bot:not([data-final]) .msg-text');
        const n = m ? m.textContent.length : 0;
        return n > 0 && n < full.length && m.textContent;
    }""", arg=ANSWER)
    assert ANSWER.startswith(partial.json_value())
    expect(page.get_by_role("button", name="Отправить", exact=True)).to_be_disabled()

    answer = page.locator(".msg.bot[data-final='1']").last
    expect(answer.locator(".msg-text")).to_have_text(ANSWER)
    expect(answer.locator(".source").first).to_contain_text("Прайс.xlsx · лист «Прайс»")
    expect(answer.locator(".note.offline")).to_have_count(0)
    expect(page.get_by_role("button", name="Отправить", exact=True)).to_be_enabled()
    assert "Круассан с миндалём" in ai.chat_requests[-1].prompt_text
    shot(page, "12-test-chat-model")
