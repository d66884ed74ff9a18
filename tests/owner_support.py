"""Shared steps of the owner's-loop tests: the platform bot, a linked owner, a WhatsApp shop."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.conftest import WA_SECRET
from tests.helpers import until
from tests.integration.test_meta import post_signed, wa_text

OWNER_TG = 7_001_001
STRANGER_TG = 7_009_009
PUBLIC_URL = "https://botcraft.example"
CUSTOMER = "79161234567"


def platform_bot(settings, tg) -> str:
    """Point the app at the fake Telegram with the platform's bot (TELEGRAM_TOKEN) polling it."""
    token = tg.add_bot(username="botcraft_platform_bot", first_name="BotCraft")
    settings.telegram_token = token
    settings.public_base_url = PUBLIC_URL
    settings.telegram_webhook_mode = False
    return token


def to_chat(tg, token: str, chat_id: int) -> list[dict]:
    return [m for m in tg.sent_messages(token) if m["chat_id"] == chat_id]


async def link_telegram(client, headers, tg, token: str, chat_id: int = OWNER_TG) -> None:
    """The web app's "Подключить Telegram": the link's /start parameter, pressed in Telegram."""
    response = await client.post("/api/notifications/telegram-link", headers=headers)
    assert response.status_code == 200, response.text
    url = urlsplit(response.json()["url"])
    assert url.netloc == "t.me" and url.path == "/botcraft_platform_bot"
    start = parse_qs(url.query)["start"][0]
    before = len(to_chat(tg, token, chat_id))
    tg.push_message(token, chat_id, f"/start {start}", first_name="Анна", username="anna_owner")
    replies = await until(lambda: _more(tg, token, chat_id, before))
    assert "Готово" in replies[-1]["text"], replies[-1]["text"]


async def _more(tg, token, chat_id, before):
    sent = to_chat(tg, token, chat_id)
    return sent if len(sent) > before else None


async def notices(tg, token: str, chat_id: int = OWNER_TG) -> list[dict]:
    return [m for m in to_chat(tg, token, chat_id) if "нужен ваш ответ" in m["text"] and "Клиент:" in m["text"]]


async def ask(client, phone: str, text: str, wamid: str, customer: str = CUSTOMER):
    """A customer's WhatsApp message, signed as Meta signs it."""
    response = await post_signed(client, "/webhook/whatsapp", wa_text(phone, customer, text, wamid), WA_SECRET)
    assert response.status_code == 200, response.text


def customer_texts(meta, phone, customer=CUSTOMER) -> list[str]:
    return [m["text"] for m in meta.sent_messages(phone) if m["to"] == customer]


async def received(meta, phone, customer=CUSTOMER) -> list[str]:
    return customer_texts(meta, phone, customer)
