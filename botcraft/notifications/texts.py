"""Every text an owner reads in Telegram or e-mail, in the owner's language (Russian by default).

Kept in one module so that wording and translation live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

DEFAULT_LANGUAGE = "ru"

# Why a conversation needs its owner (Notification.kind).
_KINDS = {
    "ru": {
        "no_answer": "бот не нашёл ответа в ваших материалах",
        "asked_for_person": "клиент просит сотрудника",
        "llm_failed": "языковая модель не ответила, бот ответил по документам без неё",
        "blocked": "клиент заблокировал бота",
        "window_closed": "прошло 24 часа с последнего сообщения клиента: ответ не доставлен",
        "processing_failed": "сообщение не удалось обработать из-за внутренней ошибки",
        "delivery_failed": "ответ не удалось доставить клиенту",
        "send_interrupted": "отправку ответа прервал перезапуск сервера: проверьте, дошёл ли он до клиента",
        "waiting": "диалог в ручном режиме: клиент ждёт вашего ответа",
    },
    "en": {
        "no_answer": "the bot found no answer in your materials",
        "asked_for_person": "the customer asks for a person",
        "llm_failed": "the language model failed; the bot answered from the documents without it",
        "blocked": "the customer blocked the bot",
        "window_closed": "24 hours have passed since the customer's last message: the reply was not delivered",
        "processing_failed": "the message could not be processed (an internal error)",
        "delivery_failed": "the reply could not be delivered to the customer",
        "send_interrupted": "a server restart cut off the reply while it was sent: check that the customer got it",
        "waiting": "the conversation is in manual mode: the customer is waiting for you",
    },
}

_CHANNELS = {
    "ru": {"telegram": "Telegram", "whatsapp": "WhatsApp", "instagram": "Instagram", "playground": "тестовый чат"},
    "en": {"telegram": "Telegram", "whatsapp": "WhatsApp", "instagram": "Instagram", "playground": "test chat"},
}

_WORDS = {
    "ru": {
        "title": "🔔 <b>{agent}</b>: нужен ваш ответ",
        "customer": "Клиент: {who} · {channel}",
        "reason": "Причина: {reason}",
        "question": "Вопрос: «{text}»",
        "bot_reply": "Бот ответил: «{text}»",
        "further": "Ещё сообщений от клиента: {count}, последнее: «{text}»",
        "human_mode": "Бот молчит: вы отвечаете сами.",
        "resolved": "✅ Отвечено.",
        "how_to_reply": "Ответьте на это сообщение (Ответить), и текст уйдёт клиенту в {channel}.",
        "open": "Открыть диалог",
        "take_over": "Отвечу сам",
        "hand_back": "Вернуть боту",
        "remember": "Запомнить ответ",
        "unknown_customer": "без имени",
        "sent": "Отправлено клиенту ✅",
        "queued_failed": "Не отправлено: {error}",
        "not_yours": "Это уведомление не для вас: отвечать клиентам этого бизнеса может только его владелец. "
                     "Ничего не отправлено.",
        "no_notice": "Не нашёл, к какому диалогу это относится. Чтобы ответить клиенту, ответьте "
                     "(Ответить) на уведомление о нём.",
        "empty_reply": "Пока я умею пересылать клиенту только текст: напишите ответ словами.",
        "taken_over": "Бот молчит в этом диалоге: отвечайте сами.",
        "handed_back": "Диалог снова ведёт бот.",
        "remembered": "Запомнил: на такой вопрос бот теперь ответит вашими словами.",
        "already_remembered": "Этот ответ уже сохранён.",
        "nothing_to_remember": "Не нашёл вопроса клиента для этого ответа.",
        "linked": "Готово: уведомления о клиентах, которым нужен ваш ответ, будут приходить сюда.",
        "link_invalid": "Ссылка устарела или неверна. Откройте BotCraft и нажмите «Подключить Telegram» ещё раз.",
        "link_taken": "Этот Telegram уже подключён к другой учётной записи BotCraft.",
        "email_subject": "BotCraft: клиент ждёт ответа ({agent})",
        "email_open": "Открыть диалог: {url}",
        "email_footer": "Уведомления для этого агента можно выключить в настройках BotCraft.",
    },
    "en": {
        "title": "🔔 <b>{agent}</b>: your answer is needed",
        "customer": "Customer: {who} · {channel}",
        "reason": "Why: {reason}",
        "question": "Question: “{text}”",
        "bot_reply": "The bot replied: “{text}”",
        "further": "More messages from the customer: {count}, the latest: “{text}”",
        "human_mode": "The bot is silent: you are answering yourself.",
        "resolved": "✅ Answered.",
        "how_to_reply": "Reply to this message and the text goes to the customer on {channel}.",
        "open": "Open the conversation",
        "take_over": "I'll answer",
        "hand_back": "Back to the bot",
        "remember": "Remember this answer",
        "unknown_customer": "no name",
        "sent": "Sent to the customer ✅",
        "queued_failed": "Not sent: {error}",
        "not_yours": "This notification is not for you: only the business's owner can answer its customers. "
                     "Nothing was sent.",
        "no_notice": "I could not tell which conversation this is about. To answer a customer, reply to "
                     "the notification about them.",
        "empty_reply": "For now I can only pass text to the customer: please write the answer in words.",
        "taken_over": "The bot is silent in this conversation: answer yourself.",
        "handed_back": "The bot runs this conversation again.",
        "remembered": "Remembered: the bot will now answer such a question in your words.",
        "already_remembered": "This answer is saved already.",
        "nothing_to_remember": "I could not find the customer's question for this answer.",
        "linked": "Done: notifications about customers who need your answer will come here.",
        "link_invalid": "This link has expired or is wrong. Open BotCraft and press “Connect Telegram” again.",
        "link_taken": "This Telegram account is already connected to another BotCraft account.",
        "email_subject": "BotCraft: a customer is waiting ({agent})",
        "email_open": "Open the conversation: {url}",
        "email_footer": "Notifications for this agent can be turned off in BotCraft's settings.",
    },
}

_QUOTE_CHARS = 300


def language_of(preferred: str | None) -> str:
    return preferred if preferred in _WORDS else DEFAULT_LANGUAGE


def word(key: str, language: str, **values: object) -> str:
    return _WORDS[language_of(language)][key].format(**values)


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _QUOTE_CHARS else text[:_QUOTE_CHARS].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class NoticeView:
    """What one notification says now; rendered again whenever it changes."""

    agent_name: str
    channel: str
    customer_name: str | None
    customer_username: str | None
    kind: str
    question: str | None
    bot_reply: str | None
    further_count: int
    latest_text: str | None
    human_mode: bool
    resolved: bool

    def who(self, language: str) -> str:
        name = self.customer_name or word("unknown_customer", language)
        return f"{name} (@{self.customer_username})" if self.customer_username else name

    def channel_label(self, language: str) -> str:
        return _CHANNELS[language_of(language)].get(self.channel, self.channel)

    def reason(self, language: str) -> str:
        kinds = _KINDS[language_of(language)]
        return kinds.get(self.kind, kinds["no_answer"])


def notice_html(view: NoticeView, language: str) -> str:
    """The Telegram notice, in Telegram's HTML (every value escaped)."""
    lines = [
        word("title", language, agent=escape(view.agent_name)),
        escape(word("customer", language, who=view.who(language), channel=view.channel_label(language))),
        escape(word("reason", language, reason=view.reason(language))),
    ]
    if view.question:
        lines.append(escape(word("question", language, text=_quote(view.question))))
    if view.bot_reply:
        lines.append(escape(word("bot_reply", language, text=_quote(view.bot_reply))))
    if view.further_count and view.latest_text:
        lines.append(escape(word("further", language, count=view.further_count, text=_quote(view.latest_text))))
    if view.resolved:
        lines.append(word("resolved", language))
    else:
        if view.human_mode:
            lines.append(escape(word("human_mode", language)))
        lines.append("<i>" + escape(word("how_to_reply", language, channel=view.channel_label(language))) + "</i>")
    return "\n".join(lines)


def notice_email(view: NoticeView, language: str, url: str | None) -> tuple[str, str]:
    """(subject, plain-text body) of the e-mail for an owner without Telegram."""
    subject = word("email_subject", language, agent=view.agent_name)
    lines = [
        word("customer", language, who=view.who(language), channel=view.channel_label(language)),
        word("reason", language, reason=view.reason(language)),
    ]
    if view.question:
        lines.append(word("question", language, text=_quote(view.question)))
    if view.bot_reply:
        lines.append(word("bot_reply", language, text=_quote(view.bot_reply)))
    if url:
        lines += ["", word("email_open", language, url=url)]
    lines += ["", word("email_footer", language)]
    return subject, "\n".join(lines)
