"""Follow-ups: a short or pronoun-only message ("А сколько он стоит?", "А в субботу?") is
searched together with the customer's previous question.

`previous_question` and `search_text` are pure; `standalone` asks a configured model, in one
short call, to rewrite such a follow-up as a question that stands alone. A message that
stands alone is never sent to the model for this.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from botcraft.dialogue import smalltalk
from botcraft.dialogue.prompting import HistoryItem
from botcraft.language.analyzer import analyze_words, is_stopword
from botcraft.llm.base import ChatMessage, Completion, LLMError

_LEANS = re.compile(r"^\s*(а|и|ну а|а если|а для|а на|а в|а с|and|what about|how about|and for|and in)\b",
                    re.IGNORECASE)
_PRONOUNS = frozenset(
    "он она оно они его ее её их него нее неё них ним ней нем нём это этот эта эти этого этой этим "
    "тот та те того той там туда такой такая такое такие "
    "it its that this they them those these there one ones".split()
)
_WORDS = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_MAX_WORDS = 7


def leans_on_context(message: str) -> bool:
    """True for a message that does not say what it is about: "А сколько он стоит?", "А в субботу?"."""
    words = [w.lower() for w in _WORDS.findall(message)]
    if not words or len(words) > _MAX_WORDS:
        return False
    if _LEANS.match(message) or any(w in _PRONOUNS for w in words):
        return True
    content = [w for w in words if any(not is_stopword(t) for terms in analyze_words(w) for t in terms)]
    return len(content) <= 1 and len(words) <= 2


def previous_question(message: str, history: Sequence[HistoryItem]) -> str | None:
    """The customer's previous question when `message` leans on it; history is newest first."""
    if not leans_on_context(message):
        return None
    for item in history:
        if item.role == "user" and item.text.strip() and item.text.strip() != message.strip() \
                and smalltalk.kind(item.text) is None:
            return item.text.strip()
    return None


def search_text(message: str, history: Sequence[HistoryItem]) -> str:
    """What to search for: the message, with the previous question in front when it leans on it."""
    previous = previous_question(message, history)
    return f"{previous} {message}" if previous else message


class Model(Protocol):
    async def complete(self, messages: Sequence[ChatMessage], *, temperature: float | None = None) -> Completion: ...


_REWRITE = {
    "ru": "Перепиши последнее сообщение клиента в один самостоятельный вопрос, используя его предыдущий "
          "вопрос как контекст. Ответь только этим вопросом, на языке клиента.",
    "en": "Rewrite the customer's last message as one standalone question, using their previous question "
          "as context. Reply with that question only, in the customer's language.",
}


async def standalone(model: Model, message: str, previous: str, language: str) -> str:
    """The follow-up as a standalone question, by the model; the joined text if the model fails."""
    prompt = f"Предыдущий вопрос: {previous}\nПоследнее сообщение: {message}" if language == "ru" else \
        f"Previous question: {previous}\nLast message: {message}"
    try:
        completion = await model.complete(
            [ChatMessage("system", _REWRITE.get(language, _REWRITE["en"])), ChatMessage("user", prompt)],
            temperature=0.0,
        )
    except LLMError:
        return f"{previous} {message}"
    rewritten = " ".join(completion.text.split())[:300]
    return rewritten or f"{previous} {message}"
