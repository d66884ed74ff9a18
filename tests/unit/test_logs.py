"""Secrets never reach the log, wherever in a line they appear; the rest of the line stays."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from botcraft.logs import configure_logging, scrub_text

BOT_TOKEN = "7412369850:AAH-kolosok_bakery_token_0123456789xyz"


@pytest.mark.parametrize(("text", "secret", "kept"), [
    (f"POST https://api.telegram.org/bot{BOT_TOKEN}/sendMessage", BOT_TOKEN, "/sendMessage"),
    (f"токен бота {BOT_TOKEN} не подошёл", BOT_TOKEN, "не подошёл"),
    ("Authorization: Bearer sk-proj-Zx81kL0pQ9", "Zx81kL0pQ9", "Authorization"),
    ("GET /v21.0/me?ACCESS_TOKEN=EAAGm0PX4ZCpsBA&fields=id", "EAAGm0PX4ZCpsBA", "fields=id"),
    ("ключ sk-live-4f9aa0c3b1e2 отклонён", "4f9aa0c3b1e2", "отклонён"),
])
def test_a_secret_is_cut_out_of_the_text_around_it(text, secret, kept):
    scrubbed = scrub_text(text)
    assert secret not in scrubbed
    assert kept in scrubbed


def test_text_without_a_secret_is_left_as_it_is():
    text = "Доставка по Москве 12:30–18:00, заказ №1234567 на 2 500 ₽"
    assert scrub_text(text) == text


def test_a_logged_url_of_a_library_loses_its_bot_token(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging(json_logs=True)
    logging.getLogger("aiogram.session").warning("Request to %s failed", f"https://api.telegram.org/bot{BOT_TOKEN}/getMe")
    structlog.get_logger("botcraft.test").info("request", path=f"/bot{BOT_TOKEN}/x", status=200)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    assert BOT_TOKEN not in stream.getvalue()
    assert lines[1]["status"] == 200 and lines[1]["path"] == "/bot<bot-token>/x"
