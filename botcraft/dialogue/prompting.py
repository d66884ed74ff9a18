"""What the LLM is given for one turn, and the greetings that need no LLM at all."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from botcraft.agents.prompts import business_in_genitive, detect_language, first_sentence
from botcraft.knowledge.search import Hit
from botcraft.llm.base import ChatMessage

# The model says this when the passages do not cover the question; we strip it and flag
# the conversation for the owner.
HANDOVER_MARK = "[[HANDOVER]]"

_GREETING = re.compile(
    r"^\s*(/start|/help|привет\w*|здравствуй\w*|здрасьте|добр\w+\s+(день|утро|вечер)|доброго\s+\w+|"
    r"салют|хай|приветик|hi|hello|hey|good\s+(morning|afternoon|evening)|greetings)"
    r"[\s!.,)]*(\s*[\w!]*){0,2}\s*$",
    re.IGNORECASE,
)


def is_greeting(text: str) -> bool:
    return len(text) <= 60 and bool(_GREETING.match(text.strip()))


def customer_language(text: str, fallback: str) -> str:
    """The language to answer in; bot commands (/start) say nothing about it."""
    if not text.lstrip().startswith("/") and re.search(r"[A-Za-zА-Яа-яЁё]", text):
        return detect_language(text)
    return fallback


def welcome(agent_name: str, business_description: str, language: str) -> str:
    """A greeting: who answers, the description's first sentence at most, and what to expect."""
    about = first_sentence(business_description)
    if language == "ru":
        intro = f"Здравствуйте! Я — виртуальный помощник {business_in_genitive(agent_name, business_description)}."
        if about:
            intro += f" {about}."
        return intro + " Задайте ваш вопрос — отвечу по нашим материалам, а если не смогу, подключу сотрудника."
    intro = f"Hello! I'm the virtual assistant of {agent_name}."
    if about:
        intro += f" {about}."
    return intro + " Ask me anything — I answer from our own materials, and bring in a person when I can't."


_RULES = {
    "ru": (
        "Ниже — пронумерованные фрагменты из документов бизнеса. Факты (цены, часы работы, "
        "адреса, наличие, сроки, условия) сообщай ТОЛЬКО из этих фрагментов, дословно в части "
        "чисел. Не придумывай ничего, чего нет во фрагментах. Если фрагменты не отвечают на "
        f"вопрос, честно скажи об этом, предложи связаться с сотрудником и добавь в конце метку "
        f"{HANDOVER_MARK}. Отвечай на языке клиента, коротко, как в мессенджере."
    ),
    "en": (
        "Below are numbered passages from the business's documents. State facts (prices, "
        "opening hours, addresses, stock, delivery times, terms) ONLY from these passages, with "
        "numbers exactly as given. Never invent anything the passages do not say. If the passages "
        "do not answer the question, say so honestly, offer to connect a person, and add the mark "
        f"{HANDOVER_MARK} at the end. Answer in the customer's language, briefly, messenger-style."
    ),
}


def estimate_tokens(text: str) -> int:
    # About 3 characters a token for Russian and 4 for English; the lower bound is safe.
    return len(text) // 3 + 1


@dataclass(frozen=True, slots=True)
class HistoryItem:
    role: str  # "user" | "assistant"
    text: str


def passages_block(hits: Sequence[Hit], language: str) -> str:
    if not hits:
        return "(нет подходящих фрагментов)" if language == "ru" else "(no matching passages)"
    return "\n\n".join(f"[{i}]{_context(hit, language)}\n{hit.text}" for i, hit in enumerate(hits, 1))


def _context(hit: Hit, language: str) -> str:
    """Where a passage sits, for the model: the sheet or page, never the file's name (which a
    model might repeat to the customer). DOCX and PDF passages carry their headings in the text."""
    parts = []
    if hit.source.sheet:
        parts.append(f"лист «{hit.source.sheet}»" if language == "ru" else f"sheet “{hit.source.sheet}”")
    if hit.source.page is not None:
        parts.append(f"стр. {hit.source.page}" if language == "ru" else f"p. {hit.source.page}")
    return f" ({', '.join(parts)})" if parts else ""


def build_messages(
    system_prompt: str,
    hits: Sequence[Hit],
    history: Sequence[HistoryItem],
    question: str,
    *,
    language: str,
    history_budget_tokens: int = 1500,
) -> list[ChatMessage]:
    """System prompt + rules + passages, then as much recent history as fits, then the question.

    `history` is newest first; it is cut to the budget there and put back in order.
    """
    header = "Фрагменты:" if language == "ru" else "Passages:"
    system = f"{system_prompt}\n\n{_RULES[language]}\n\n{header}\n{passages_block(hits, language)}"
    kept: list[HistoryItem] = []
    used = 0
    for item in history:
        cost = estimate_tokens(item.text)
        if used + cost > history_budget_tokens:
            break
        kept.append(item)
        used += cost
    messages = [ChatMessage("system", system)]
    messages += [ChatMessage("assistant" if h.role == "assistant" else "user", h.text) for h in reversed(kept)]
    messages.append(ChatMessage("user", question))
    return messages


def strip_handover(text: str) -> tuple[str, bool]:
    if HANDOVER_MARK in text:
        return text.replace(HANDOVER_MARK, "").strip(), True
    return text.strip(), False
