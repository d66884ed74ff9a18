"""Messages that need no documents: thanks, "ok", goodbyes, emoji, and asking for a person.

Small talk gets a short friendly word and never flags the conversation; a request for a
person hands the conversation over at once, whatever the documents say.
"""

from __future__ import annotations

import re
import unicodedata

_THANKS = re.compile(r"^(спасибо|спс|благодарю|благодарим|thanks?|thank you|thx|ty|merci)\b", re.IGNORECASE)
_BYE = re.compile(r"^(пока|до свидания|до встречи|всего доброго|всего хорошего|хорошего дня|bye|goodbye|"
                  r"see you|have a nice day)\b", re.IGNORECASE)
_OK = re.compile(r"^(ок|окей|оки|ok|okay|понятно|понял|поняла|ясно|хорошо|ладно|отлично|супер|класс|"
                 r"принято|договорились|ага|угу|got it|great|cool|fine|good|nice|perfect|sure)\b", re.IGNORECASE)
# Whatever follows a small-talk word in the same short message: more thanks, a name, emoji.
_TAIL = re.compile(r"^[\s\W]*((большое|огромное|вам|тебе|за помощь|за ответ|so much|a lot|very much|you|"
                   r"again|всё|все|понятно|понял|поняла|ясно|хорошо|спасибо|thanks|ок|ok|и|and)[\s\W]*)*$",
                   re.IGNORECASE)
# Words people put in front of small talk: "ну ок", "да, спасибо", "ладно, пока".
_FILLER = re.compile(r"^((ну|да|ага|ладно|так|а|well|yes|yeah|oh)[\s,!.]+)+")
_PERSON = re.compile(
    r"\b(менеджер\w*|оператор\w*|человек\w*|сотрудник\w*|администратор\w*|живо\w+ (человек\w*|люд\w*)|"
    r"консультант\w*|manager|operator|human|real person|a person|agent|staff|someone)\b",
    re.IGNORECASE,
)
_PERSON_VERB = re.compile(
    r"\b(позов|позвать|соедин|переключ|подключ|нуж|хочу|дайте|свяж|передайте|поговорить|talk|speak|connect|"
    r"call|get me|want|need|можно)", re.IGNORECASE)


def kind(text: str) -> str | None:
    """"thanks", "bye", "ok" or "emoji" for small talk; None for anything else."""
    stripped = text.strip()
    if not stripped or len(stripped) > 60:
        return None
    if all(_is_symbol(ch) or ch.isspace() for ch in stripped):
        return "emoji"
    lowered = _FILLER.sub("", stripped.lower().replace("ё", "е"))
    for name, pattern in (("thanks", _THANKS), ("bye", _BYE), ("ok", _OK)):
        match = pattern.match(lowered)
        if match and _TAIL.match(lowered[match.end():]):
            return name
    return None


def asks_for_person(text: str) -> bool:
    """"Позовите менеджера", "хочу поговорить с человеком", "оператор": hand over now."""
    lowered = text.strip().lower()
    if re.fullmatch(r"[\W]*(оператор|менеджер|человек|operator|human|manager)[\W]*", lowered):
        return True
    return len(lowered) <= 120 and bool(_PERSON.search(lowered)) and bool(_PERSON_VERB.search(lowered))


def reply(kind_: str, language: str) -> str:
    if language == "ru":
        return {
            "thanks": "Пожалуйста! Если появятся вопросы — пишите.",
            "bye": "До свидания! Будем рады помочь снова.",
            "ok": "Отлично! Если что-то ещё понадобится — пишите.",
            "emoji": "😊 Если будут вопросы — пишите!",
        }[kind_]
    return {
        "thanks": "You're welcome! Write any time you have a question.",
        "bye": "Goodbye! Happy to help again.",
        "ok": "Great! Write if you need anything else.",
        "emoji": "😊 Write any time you have a question!",
    }[kind_]


def person_reply(language: str) -> str:
    if language == "ru":
        return "Хорошо, передаю ваш вопрос сотруднику — он ответит здесь, в этом чате."
    return "Sure — I'm passing this to a member of staff, who will reply here in this chat."


def _is_symbol(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category.startswith(("S", "P")) or category in ("Mn", "Cf")  # emoji, their modifiers and joiners
