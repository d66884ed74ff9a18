"""The web app as a Telegram Mini App: sign-in from initData with no form, Telegram's colours,
its MainButton and BackButton; and what happens when Telegram's script or data fail."""

from __future__ import annotations

import json
import time
from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import expect

from botcraft.auth.telegram import sign
from tests.e2e.support import rgb, shot, telegram_stub, wait_ready
from tests.fakes.telegram_fake import make_token

pytestmark = pytest.mark.browser

# Telegram's own dark theme, as Telegram Desktop/Android send it.
THEME = {
    "bg_color": "#17212b",
    "secondary_bg_color": "#0e1621",
    "section_bg_color": "#17212b",
    "header_bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "hint_color": "#708499",
    "subtitle_text_color": "#708499",
    "link_color": "#6ab3f3",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
    "accent_text_color": "#6ab2f2",
    "destructive_text_color": "#ec3942",
    "section_separator_color": "#111921",
}


@pytest.fixture
def platform_bot(telegram_fake):
    """The platform's bot (TELEGRAM_TOKEN) on the fake Bot API: the app never leaves loopback.

    Tests list it before ``serve_app``, so the fake outlives the app's poller."""
    token = telegram_fake.add_bot(username="botcraft_bot", first_name="BotCraft")
    return {"telegram_token": token, "telegram_api_base": telegram_fake.base_url}


def make_init_data(token: str) -> str:
    """initData as Telegram builds it: the user JSON hashed exactly as sent."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(
            {"id": 279058397, "first_name": "Иван", "last_name": "Петров", "username": "ivan_p",
             "language_code": "ru", "allows_write_to_pm": True},
            ensure_ascii=False, separators=(",", ":"),
        ),
        "auth_date": str(int(time.time())),
    }
    fields["hash"] = sign(fields, token)
    return urlencode(fields)


def computed(page, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, f"(el) => getComputedStyle(el).{prop}")


def test_mini_app_signs_in_with_init_data_and_uses_telegram_theme(
        platform_bot, serve_app, new_page):
    live = serve_app(**platform_bot)
    init_data = make_init_data(platform_bot["telegram_token"])
    page = new_page(init_script=telegram_stub(init_data, THEME))
    page.goto(live.url + "/")

    wait_ready(page, "agents")  # straight to the agents: no sign-in form on the way
    expect(page.get_by_text("Вы вошли как Иван Петров")).to_be_visible()
    expect(page.locator("input[type=password]")).to_have_count(0)
    log = page.evaluate("() => window.__tg.log")
    assert "ready" in log and "expand" in log

    # Telegram's colours, not ours.
    assert computed(page, "body", "backgroundColor") == rgb(THEME["secondary_bg_color"])
    assert computed(page, "body", "color") == rgb(THEME["text_color"])
    assert computed(page, ".empty.card", "backgroundColor") == rgb(THEME["section_bg_color"])
    assert computed(page, ".count-pill", "color") == rgb(THEME["accent_text_color"])

    # The primary action lives on Telegram's MainButton; the page's own copy is hidden.
    main = page.evaluate("() => ({text: __tg.main.text, visible: __tg.main.isVisible})")
    assert main == {"text": "Новый ассистент", "visible": True}
    expect(page.locator(".actions a.btn.primary")).to_be_hidden()
    assert page.evaluate("() => __tg.back.isVisible") is False
    shot(page, "20-miniapp-agents")

    page.evaluate("() => __tg.click('main')")
    wait_ready(page, "agent-new")
    assert page.evaluate("() => __tg.back.isVisible") is True
    assert page.evaluate("() => __tg.main.text") == "Создать ассистента"
    expect(page.locator("#back")).to_be_hidden()  # Telegram's back button instead of ours
    page.get_by_label("Название").fill("Цветочная лавка")
    page.get_by_label("Описание бизнеса").fill("Букеты и композиции с доставкой по Казани")
    shot(page, "21-miniapp-agent-new")
    page.evaluate("() => __tg.click('main')")
    wait_ready(page, "knowledge")
    assert computed(page, ".drop-ic", "backgroundColor") == rgb(THEME["button_color"])
    assert computed(page, ".drop-ic", "color") == rgb(THEME["button_text_color"])
    shot(page, "22-miniapp-knowledge")

    page.evaluate("() => __tg.click('back')")
    wait_ready(page, "agents")
    expect(page.locator("#agents-count")).to_have_text("1 из 5")
    assert page.evaluate("() => __tg.back.isVisible") is False


def test_mini_app_signs_in_from_launch_data_when_telegram_script_is_unreachable(
        platform_bot, serve_app, new_page):
    live = serve_app(**platform_bot)
    page = new_page(abort_telegram=True)
    init_data = make_init_data(platform_bot["telegram_token"])
    launch = (f"#tgWebAppData={quote(init_data)}&tgWebAppVersion=7.0&tgWebAppPlatform=ios"
              f"&tgWebAppThemeParams={quote(json.dumps(THEME))}")
    page.goto(live.url + "/" + launch)
    wait_ready(page, "agents")
    expect(page.get_by_text("Вы вошли как Иван Петров")).to_be_visible()
    assert computed(page, "body", "backgroundColor") == rgb(THEME["secondary_bg_color"])


def test_mini_app_with_foreign_init_data_offers_email_sign_in(platform_bot, serve_app, new_page):
    live = serve_app(**platform_bot)
    forged = make_init_data(make_token())  # signed with another bot's token
    page = new_page(init_script=telegram_stub(forged, THEME))
    page.goto(live.url + "/")
    wait_ready(page, "login")
    expect(page.get_by_role("alert").first).to_contain_text("Не удалось войти через Telegram")
    expect(page.get_by_role("alert").first).to_contain_text("Подпись данных входа не совпадает")
    expect(page.get_by_role("button", name="Войти через Telegram ещё раз")).to_be_visible()
    expect(page.get_by_label("E-mail")).to_be_visible()
    shot(page, "23-miniapp-sign-in-failed")
