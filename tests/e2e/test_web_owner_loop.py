"""The owner's loop in a browser, with the fake Telegram and Graph API servers.

A customer's unanswerable WhatsApp question → the owner's notification in Telegram, with the
button that opens the conversation → the owner's reply to it, sent to the platform's bot →
the customer gets it on WhatsApp → "Запомнить ответ" in the inbox → the same question in
other words is answered from the pair → the answers and statistics screens show it.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.conftest import WA_SECRET
from tests.docgen import make_xlsx
from tests.e2e.support import PASSWORD, shot, wait_ready, wait_until
from tests.integration.test_meta import sign, wa_text
from tests.owner_support import OWNER_TG

pytestmark = pytest.mark.browser

QUESTION = "Можно ли прийти к вам с собакой?"
ANSWER = "Да, с собакой можно, если она на поводке."


def test_owner_answers_from_telegram_and_the_bot_learns(telegram_fake, graph_fake, serve_app, new_page, tmp_path):
    tg, meta = telegram_fake, graph_fake
    platform = tg.add_bot(username="botcraft_platform_bot", first_name="BotCraft")
    live = serve_app(telegram_token=platform, telegram_api_base=tg.base_url, telegram_webhook_mode=False,
                     public_base_url="https://botcraft.example", graph_api_base=meta.base_url,
                     whatsapp_app_secret=WA_SECRET, whatsapp_verify_token="wa-verify")
    token = live.register("owner@lotos.ru")
    api = live.client(token)
    agent = api.post("/api/agents", json={"name": "Салон «Лотос»", "business_description": "Салон красоты в Самаре",
                                          "capabilities": "Записи и цены", "tone": "дружелюбный"}).json()
    price = make_xlsx(tmp_path / "услуги.xlsx", {"Услуги": [["Услуга", "Цена, ₽"], ["Маникюр", 2200]]})
    upload = api.post(f"/api/agents/{agent['id']}/documents",
                      files={"file": ("услуги.xlsx", price.read_bytes(), "application/octet-stream")})
    assert upload.status_code == 201, upload.text
    wait_until(lambda: api.get(f"/api/agents/{agent['id']}/documents").json()[0]["status"] == "ready", timeout=30)
    wa_token = meta.add_token()
    phone = meta.add_whatsapp_number(token=wa_token)
    assert api.put(f"/api/agents/{agent['id']}/integrations",
                   json={"whatsapp": {"access_token": wa_token, "phone_number_id": phone}}).status_code == 200

    # ------------------------------------------------ the owner links Telegram ("Подключить Telegram")
    link = api.post("/api/notifications/telegram-link").json()["url"]
    tg.push_message(platform, OWNER_TG, "/start " + parse_qs(urlsplit(link).query)["start"][0], first_name="Анна")
    wait_until(lambda: any("Готово" in m["text"] for m in tg.sent_messages(platform)))

    # ------------------------------------------------ 1-2: an unanswerable question → one notification
    def customer_says(text: str, wamid: str, customer: str) -> None:
        body = wa_text(phone, customer, text, wamid)
        with live.client() as c:
            r = c.post("/webhook/whatsapp", content=body,
                       headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, WA_SECRET)})
            assert r.status_code == 200, r.text

    started = time.monotonic()
    customer_says(QUESTION, "wamid.J1", "79161234567")
    notice = wait_until(lambda: next((m for m in tg.sent_messages(platform)
                                      if m["chat_id"] == OWNER_TG and QUESTION in m["text"]), None))
    assert time.monotonic() - started < 10
    assert "Ирина" in notice["text"] and "WhatsApp" in notice["text"]
    [open_button] = [b for row in notice["reply_markup"]["inline_keyboard"] for b in row if "web_app" in b]
    assert open_button["text"] == "Открыть диалог"
    url = urlsplit(open_button["web_app"]["url"])
    assert url.netloc == "botcraft.example" and "conversation" in parse_qs(url.query)

    # The button's link opens that conversation in the app (here on the live server's address).
    page = new_page()
    page.goto(live.url + "/")
    wait_ready(page, "login")
    page.get_by_label("E-mail").fill("owner@lotos.ru")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    wait_ready(page, "agents")
    page.goto(f"{live.url}/?{url.query}")
    page.wait_for_selector("body[data-screen='conversation']")
    expect(page.locator(".msg.in").last).to_contain_text(QUESTION)
    expect(page.locator("[data-tab-count='inbox']")).to_have_text("1")
    expect(page.locator(".alert.warn")).to_be_visible()
    shot(page, "owner-01-conversation-from-notification")

    # ------------------------------------------------ 3-4: the owner replies in Telegram → WhatsApp
    tg.push_reply(platform, OWNER_TG, notice["message_id"], ANSWER)
    wait_until(lambda: any(m["to"] == "79161234567" and m["text"] == ANSWER for m in meta.sent_messages(phone)))
    expect(page.locator(".msg.owner")).to_contain_text(ANSWER, timeout=15_000)
    expect(page.locator(".alert.warn")).to_have_count(0, timeout=15_000)

    # ------------------------------------------------ 5: "Запомнить ответ"
    page.locator(".msg.owner").get_by_role("button", name="Запомнить ответ").click()
    expect(page.locator(".toast")).to_contain_text("Запомнил")
    assert [p["answer"] for p in api.get(f"/api/agents/{agent['id']}/answers").json()] == [ANSWER]

    # ------------------------------------------------ 6: the same question in other words
    customer_says("А с собакой к вам прийти можно?", "wamid.J2", "79160000002")
    wait_until(lambda: [m["text"] for m in meta.sent_messages(phone) if m["to"] == "79160000002"] == [ANSWER])

    # The inbox rows: the customers' own words, who spoke last, the attention filter.
    page.get_by_role("link", name="Диалоги").click()
    page.wait_for_selector("body[data-screen='inbox']")
    expect(page.locator(".conv")).to_have_count(2)
    expect(page.locator(".conv").first).to_contain_text("с собакой")
    page.get_by_role("button", name="Нужно внимание").click()
    expect(page.get_by_text("Сейчас никто не ждёт вашего ответа.")).to_be_visible()
    shot(page, "owner-02-inbox-attention")
    page.get_by_role("button", name="Все").click()

    # The answers screen: the question, answered since, and the saved pair.
    page.get_by_role("link", name="Ответы").click()
    page.wait_for_selector("body[data-screen='answers']")
    expect(page.locator(".qa-group").first).to_contain_text(QUESTION)
    expect(page.locator(".qa-group").first).to_contain_text("Ответ сохранён")
    expect(page.locator(".qa-pair")).to_contain_text(ANSWER)
    expect(page.locator(".page.answers")).not_to_contain_text("null")
    shot(page, "owner-03-answers")

    # ------------------------------------------------ 7: the statistics screen shows it
    page.get_by_role("link", name="Статистика").click()
    page.wait_for_selector("body[data-screen='stats']")
    expect(page.locator("[data-stat='customer_messages'] .tile-v")).to_have_text("2")
    expect(page.locator("[data-stat='handed_over'] .tile-v")).to_have_text("1")
    expect(page.locator("[data-stat='answered_by_owner'] .tile-v")).to_have_text("1")
    expect(page.locator("[data-stat='answered_by_bot'] .tile-v")).to_have_text("1")
    expect(page.locator("svg.chart rect.chart-bar").first).to_be_attached()
    expect(page.locator(".top-q")).to_contain_text("собакой")
    expect(page.locator(".page.stats")).not_to_contain_text("null")
    shot(page, "owner-04-stats")
    page.get_by_role("button", name="30 дней").click()
    expect(page.locator("svg.chart rect.chart-bar[data-date]")).to_have_count(30)
    assert json.loads(json.dumps(api.get(f"/api/agents/{agent['id']}/stats?days=30").json()))["handed_over"] == 1
