"""The owner's whole journey in a browser, in Russian, at phone width (screens saved at both).

Sign up → create an agent → upload documents and see them ready → check search → ask the
test chat and see the sourced answer → edit and regenerate the prompt → connect a Telegram
bot (fake Bot API server) and see its status → open the conversation, take it over, reply,
hand it back → switch to English and find the choice remembered.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.docgen import make_docx, make_xlsx
from tests.e2e.support import PASSWORD, shot, wait_ready, wait_until
from tests.fakes.telegram_fake import make_token

pytestmark = pytest.mark.browser

def test_owner_builds_an_agent_and_takes_over_a_conversation(
        telegram_fake, serve_app, new_page, tmp_path):
    tg = telegram_fake
    bot_token = tg.add_bot(username="kolosok_bot", first_name="Колосок")
    live = serve_app(telegram_api_base=tg.base_url, public_base_url="https://bot.kolosok.ru",
                     whatsapp_verify_token="kolosok-verify-123")
    page = new_page()

    # ------------------------------------------------ sign up
    page.goto(live.url + "/")
    wait_ready(page, "login")
    expect(page.get_by_role("heading", name="BotCraft")).to_be_visible()
    shot(page, "01-sign-in")
    page.get_by_role("button", name="Регистрация").click()
    page.get_by_label("E-mail").fill("owner@kolosok.ru")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Создать аккаунт").click()
    wait_ready(page, "agents")
    expect(page.locator("#agents-count")).to_have_text("0 из 5")
    expect(page.get_by_text("Пока нет ни одного ассистента")).to_be_visible()
    shot(page, "02-agents-empty")

    # ------------------------------------------------ create an agent
    page.get_by_role("link", name="Новый ассистент").click()
    wait_ready(page, "agent-new")
    page.get_by_label("Название").fill("Пекарня «Колосок»")
    page.get_by_label("Описание бизнеса").fill(
        "Пекарня у дома на Садовой, 5. Открыты с 8:00 до 21:00.")
    page.get_by_label("Что умеет ассистент").fill("Отвечать о ценах, ассортименте и доставке")
    page.get_by_label("Тон общения").fill("дружелюбный")
    shot(page, "03-agent-new")
    page.get_by_role("button", name="Создать ассистента").click()
    wait_ready(page, "knowledge")
    expect(page.locator("#title")).to_have_text("Пекарня «Колосок»")
    expect(page).to_have_url(re.compile(r"#/agents/\d+/knowledge$"))

    # ------------------------------------------------ documents: several at once, with progress
    price = make_xlsx(tmp_path / "Прайс Колосок.xlsx", {"Прайс": [
        ["Товар", "Цена, ₽"],
        ["Хлеб бородинский", 120],
        ["Круассан с миндалём", 95],
        ["Доставка по городу", 300],
    ]})
    faq = make_docx(tmp_path / "Вопросы.docx", "Частые вопросы", [
        "Мы принимаем оплату картой и наличными.",
        "Торты на заказ готовим за два дня.",
    ], [])
    page.locator("input[type=file]").set_input_files([str(price), str(faq)])
    docs = page.locator(".doc")
    expect(docs).to_have_count(2, timeout=15_000)
    expect(page.locator(".doc[data-status='ready']")).to_have_count(2, timeout=30_000)
    expect(page.locator(".doc", has_text="Прайс Колосок.xlsx")).to_contain_text("Готов")

    page.get_by_role("searchbox").fill("доставка по городу")
    page.get_by_role("button", name="Найти").click()
    hit = page.locator(".hit").first
    expect(hit).to_contain_text("300")
    expect(hit.locator(".source")).to_contain_text("Прайс Колосок.xlsx · лист «Прайс»")
    shot(page, "04-knowledge")

    # ------------------------------------------------ test chat: sourced, labelled offline
    page.get_by_role("link", name="Тест").click()
    wait_ready(page, "chat")
    shot(page, "05-test-chat-empty")
    page.get_by_label("Ваш вопрос…").fill("Сколько стоит круассан?")
    page.get_by_label("Ваш вопрос…").press("Enter")
    answer = page.locator(".msg.bot[data-final='1']").last
    expect(answer).to_contain_text("95")
    expect(answer.locator(".source").first).to_contain_text(
        "Прайс Колосок.xlsx · лист «Прайс», строка")
    expect(answer.locator(".note.offline")).to_have_text("офлайн-ответ из документов")
    expect(page.get_by_label("Ваш вопрос…")).to_be_focused()
    shot(page, "06-test-chat")

    # ------------------------------------------------ settings: the prompt, regenerated
    page.get_by_role("link", name="Настройки").click()
    wait_ready(page, "agent-settings")
    prompt = page.get_by_label("Системный промпт")
    expect(prompt).to_have_value(re.compile("Колосок"))
    page.get_by_label("Тон общения").fill("весёлый, на «вы»")
    page.get_by_role("button", name="Сгенерировать заново").click()
    expect(prompt).to_have_value(re.compile("весёлый"))
    prompt.fill(prompt.input_value() + "\nВсегда предлагай свежую выпечку.")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.locator(".toast").last).to_have_text("Сохранено")
    page.reload()
    wait_ready(page, "agent-settings")
    expect(page.get_by_label("Системный промпт")).to_have_value(re.compile("свежую выпечку"))
    shot(page, "07-agent-settings")

    # ------------------------------------------------ channels: Telegram (fake Bot API)
    page.get_by_role("link", name="Каналы").click()
    wait_ready(page, "channels")
    card = page.locator("article[data-channel='telegram']")
    card.get_by_label("Токен бота").fill("12345:not-a-token")
    card.get_by_role("button", name="Сохранить").click()
    expect(card.locator(".form-error")).to_contain_text("«Токен бота»: не похоже на токен бота от @BotFather")
    expect(card.get_by_label("Токен бота")).to_have_attribute("aria-invalid", "true")
    # A token of the right shape that Telegram does not know: Telegram's own words.
    card.get_by_label("Токен бота").fill(make_token())
    card.get_by_role("button", name="Сохранить").click()
    expect(card.locator(".form-error")).to_contain_text("Unauthorized")
    card.get_by_label("Токен бота").fill(bot_token)
    card.get_by_role("button", name="Сохранить").click()
    expect(page.locator(".toast").last).to_have_text("Настройки канала сохранены")
    card = page.locator("article[data-channel='telegram']")
    token_input = card.get_by_label("Токен бота")
    expect(token_input).to_have_value("")  # the saved secret is never put back in the form
    expect(token_input).to_have_attribute("placeholder", "••••" + bot_token[-4:])
    assert bot_token not in page.content()

    # What to paste into Meta's dashboard.
    whatsapp = page.locator("article[data-channel='whatsapp']")
    expect(whatsapp.locator("code").first).to_have_text("https://bot.kolosok.ru/webhook/whatsapp")
    expect(whatsapp.locator("code").nth(1)).to_have_text("kolosok-verify-123")
    expect(whatsapp.get_by_role("button", name="Копировать")).to_have_count(2)

    # Saving connected the bot (getMe, long polling); its status shows it running.
    if card.get_by_role("button", name="Запустить").count():
        card.get_by_role("button", name="Запустить").click()
    expect(card.locator(".badge.on")).to_have_text("Работает", timeout=15_000)
    expect(card).to_contain_text("@kolosok_bot")
    expect(card).to_contain_text("long polling")
    tg.push_message(bot_token, chat_id=5550001, first_name="Мария", username="maria_k",
                    text="Здравствуйте! Сколько стоит доставка?")
    wait_until(lambda: tg.sent_messages(bot_token), timeout=20)  # the bot answered her
    page.reload()
    wait_ready(page, "channels")
    expect(page.locator("article[data-channel='telegram']")).to_contain_text("Последнее событие")
    shot(page, "08-channels")

    # ------------------------------------------------ conversations: inbox, take over, reply
    page.get_by_role("link", name="Диалоги").click()
    wait_ready(page, "inbox")
    item = page.locator("a.conv", has_text="Мария")
    expect(item).to_contain_text("Telegram")
    expect(page.locator("a.conv", has_text="Тест")).to_have_count(1)  # the test chat's own
    shot(page, "09-inbox")
    item.click()
    wait_ready(page, "conversation")
    expect(page.locator(".msg.customer").first).to_be_visible()
    # The customer's answer names no file; the owner sees its source as a chip under it.
    expect(page.locator(".msg.bot").first.locator(".source.chip").first).to_be_visible()
    expect(page.locator(".msg.bot").first).not_to_contain_text("Источник")
    page.get_by_role("button", name="Взять диалог на себя").click()
    expect(page.locator("[data-mode='human']")).to_have_text("Ведёте вы")
    reply_text = "Добрый день! Доставка по городу — 300 ₽, привезём сегодня."
    page.get_by_label("Ответ клиенту…").fill(reply_text)
    page.get_by_role("button", name="Отправить ответ").click()
    mine = page.locator(".msg.owner").last
    expect(mine).to_contain_text("привезём сегодня")
    expect(mine.locator(".st")).to_have_text(re.compile("отправлено|доставлено|в очереди"))
    expect(page.get_by_label("Ответ клиенту…")).to_have_value("")
    shot(page, "10-conversation")
    page.get_by_role("button", name="Вернуть боту").click()
    expect(page.locator("[data-mode='bot']")).to_have_text("Отвечает бот")
    wait_until(lambda: any(m.get("text") == reply_text for m in tg.sent_messages(bot_token)),
               timeout=20)  # delivered to Telegram
    expect(page.locator(".msg.owner").last.locator(".st")).to_have_text(
        re.compile("отправлено|доставлено|прочитано"), timeout=10_000)

    # ------------------------------------------------ English, remembered
    page.get_by_role("button", name="Switch to English").click()
    expect(page.get_by_role("button", name="Take over")).to_be_visible()
    expect(page.get_by_role("link", name="Knowledge")).to_be_visible()
    page.reload()
    wait_ready(page, "conversation")
    expect(page.get_by_role("link", name="Knowledge")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="Knowledge").click()
    wait_ready(page, "knowledge")
    shot(page, "11-knowledge-english")
    page.get_by_role("button", name="Переключить на русский").click()
    expect(page.get_by_role("link", name="Знания")).to_be_visible()
