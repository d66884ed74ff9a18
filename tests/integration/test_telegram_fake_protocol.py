"""The fake Telegram Bot API speaks the protocol aiogram expects (real Bot + AiohttpSession)."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from tests.fakes.telegram_fake import TelegramFake, make_token


@pytest.fixture
def tg():
    fake = TelegramFake()
    with fake.serve():
        yield fake


@pytest.fixture
async def bot(tg):
    token = tg.add_bot(username="zerno_coffee_bot", first_name="Кофейня Зерно")
    bot = Bot(token, session=AiohttpSession(api=tg.api_server()))
    yield bot
    await bot.session.close()


async def test_get_me(bot):
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (bot.id, "zerno_coffee_bot", True)


async def test_unknown_token_is_unauthorized(tg):
    stranger = Bot(make_token(), session=AiohttpSession(api=tg.api_server()))
    with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
        await stranger.get_me()
    await stranger.session.close()


async def test_flood_limit_raises_retry_after(tg, bot):
    tg.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(42, "Привет!")
    assert info.value.retry_after == 7
    assert tg.sent_messages(bot.token) == []
    await bot.send_message(42, "Привет!")  # only the next call failed
    assert [m["text"] for m in tg.sent_messages(bot.token)] == ["Привет!"]


async def test_get_updates_conflicts_with_webhook(tg, bot):
    await bot.set_webhook("https://botcraft.example/webhook/telegram", secret_token="s3cr3t_Tok")
    assert tg.webhook(bot.token)["secret_token"] == "s3cr3t_Tok"
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates(timeout=0)


async def test_second_poller_terminates_the_first(tg, bot):
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(bot.get_updates(timeout=5))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await first
    update = tg.push_message(bot.token, chat_id=42, text="Есть ли веганские десерты?")
    [received] = await second
    assert received.update_id == update["update_id"]
    assert received.message.text == "Есть ли веганские десерты?"


async def test_offset_confirms_updates(tg, bot):
    first = tg.push_message(bot.token, chat_id=42, text="Привет")
    tg.push_message(bot.token, chat_id=42, text="Вы работаете сегодня?")
    assert len(await bot.get_updates(timeout=0)) == 2
    rest = await bot.get_updates(offset=first["update_id"] + 1, timeout=0)
    assert [u.message.text for u in rest] == ["Вы работаете сегодня?"]


async def test_html_is_checked_like_telegram(tg, bot):
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "br"'):
        await bot.send_message(42, "Цены:<br>латте 250 ₽", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Can't find end tag"):
        await bot.send_message(42, "<b>Латте 250 ₽", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(42, "я" * 4097)

    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Позвать человека", callback_data="human")]]
    )
    sent = await bot.send_message(
        42, "<b>Латте</b> — 250 ₽ &amp; скидка", parse_mode="HTML", reply_markup=keyboard
    )
    assert sent.text == "Латте — 250 ₽ & скидка"
    assert sent.entities[0].type == "bold" and sent.entities[0].length == 5
    [record] = tg.sent_messages(bot.token)
    assert record["chat_id"] == 42 and record["parse_mode"] == "HTML"
    assert record["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "human"


async def test_blocked_user_is_forbidden(tg, bot):
    tg.block_chat(bot.token, 42)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(42, "Ваш заказ готов")
