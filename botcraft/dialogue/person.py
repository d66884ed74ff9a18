"""A customer asking for a person ("позовите оператора", "can I talk to a human?").

Recognised by the analyzer's stems, so inflections count ("с менеджером", "оператора"):
a word for a person together with a word asking for one, in a short message. "Сколько у
вас сотрудников?" is a question about the business, not a request, and is not matched.
"""

from __future__ import annotations

from botcraft.i18n import N_
from botcraft.knowledge.analyzer import analyze

ASKED_FOR_PERSON = N_("The customer asked for a person.")

_PEOPLE = {"оператор", "менеджер", "сотрудник", "человек", "живой", "администратор", "консультант",
           "operator", "human", "person", "manager", "staff", "someone", "somebody", "representative"}
_ASKING = {"позвать", "позовите", "позови", "соединить", "соедините", "связать", "свяжите", "переключить",
           "переключите", "поговорить", "пообщаться", "нужен", "нужна", "хочу", "дайте", "можно", "живым",
           "talk", "speak", "connect", "call", "need", "want", "get", "real", "live", "transfer"}
_MAX_TERMS = 10


def _stems(words: set[str]) -> set[str]:
    return {term for word in words for term in analyze(word)}


_PEOPLE_STEMS = _stems(_PEOPLE)
_ASKING_STEMS = _stems(_ASKING)


def asks_for_person(text: str) -> bool:
    terms = analyze(text)
    if not terms or len(terms) > _MAX_TERMS:
        return False
    found = set(terms)
    if not found & _PEOPLE_STEMS:
        return False
    # "Оператор!" alone asks as clearly as a sentence does.
    return len(found) == 1 or bool(found & _ASKING_STEMS - _PEOPLE_STEMS) or "?" not in text and len(found) <= 2


def connecting(language: str) -> str:
    """What the customer is told; the owner is notified at the same time."""
    if language == "ru":
        return "Хорошо, я передал ваш вопрос сотруднику — он ответит вам здесь."
    return "Sure — I've passed your message to a member of staff, who will reply here."
