"""Deterministic system prompts from the agent's four fields, in the description's language.

No LLM is involved: the same fields always give the same prompt, and the working rules of
a customer-facing assistant are always there, whatever the owner wrote.
"""

from __future__ import annotations

import re

from botcraft.language.analyzer import inflect_genitive

_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(*texts: str) -> str:
    """'ru' when the text is mostly Cyrillic, else 'en'. The description weighs most."""
    joined = " ".join(t for t in texts if t)
    cyrillic = len(_CYRILLIC.findall(joined))
    latin = len(_LATIN.findall(joined))
    return "ru" if cyrillic >= latin and cyrillic > 0 else "en"


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _as_list(text: str) -> list[str]:
    """Capabilities as whole phrases: one per line or per ";", never cut at commas
    ("отвечать на вопросы о стрижках, окрашивании и маникюре" stays one capability)."""
    items = [i.strip(" -•*\t").rstrip(".").strip() for i in re.split(r"[\n;]+", text or "")]
    return [i for i in items if i]


def first_sentence(text: str) -> str:
    """The description's first sentence (without its full stop), at most 200 characters."""
    text = _clean(text)
    match = re.search(r"(?<=[.!?…])\s", text)
    sentence = text[: match.start()] if match else text
    if len(sentence) > 200:
        sentence = sentence[:200].rsplit(" ", 1)[0] + "…"
    return sentence.rstrip(".")


def business_in_genitive(name: str, description: str) -> str:
    """"салона «Лотос»" from the name and a description that starts with what the business is
    ("Салон красоты в центре…"); "компании «Лотос»" when the description does not say."""
    quoted = name if name.startswith("«") else f"«{name}»"
    first_word = (re.findall(r"[А-Яа-яЁё]+(?:-[А-Яа-яЁё]+)*", description) or [""])[0]
    if first_word and name.lower().startswith(first_word.lower()):
        return quoted  # the name says it already: "Салон Лотос"
    kind = inflect_genitive(first_word) if first_word else None
    return f"{kind} {quoted}" if kind else f"компании {quoted}"


def generate_system_prompt(
    name: str, business_description: str, capabilities: str, tone: str, language: str | None = None
) -> str:
    lang = language or detect_language(business_description, capabilities, name)
    return (_russian if lang == "ru" else _english)(
        _clean(name), _clean(business_description), _as_list(capabilities), _clean(tone)
    )


def _russian(name: str, description: str, capabilities: list[str], tone: str) -> str:
    lines = [f"Ты — виртуальный помощник {business_in_genitive(name, description)}. "
             "Ты отвечаешь клиентам в мессенджерах от имени бизнеса."]
    if description:
        lines.append(f"О бизнесе: {description}")
    if capabilities:
        lines.append("Ты помогаешь клиентам:")
        lines += [f"- {c[:1].lower()}{c[1:]}" if not c[:2].isupper() else f"- {c}" for c in capabilities]
    lines.append(f"Тон общения: {tone}." if tone else "Тон общения: вежливый и дружелюбный.")
    lines += [
        "",
        "Правила работы:",
        "1. Отвечай только на основе предоставленной базы знаний (документов бизнеса).",
        "2. Никогда не придумывай цены, наличие товаров, сроки, адреса и обещания. "
        "Называй их только так, как они указаны в документах.",
        "3. Если в документах нет ответа, честно скажи, что не знаешь, "
        "и предложи связаться с сотрудником.",
        "4. Пиши коротко, как в мессенджере: несколько предложений, без длинных вступлений.",
        "5. Отвечай на языке клиента: на каком языке написал клиент, на таком и отвечай.",
        "6. Не называй клиенту названия файлов, листов и строк, из которых взят ответ.",
    ]
    return "\n".join(lines)


def _english(name: str, description: str, capabilities: list[str], tone: str) -> str:
    lines = [f"You are the virtual assistant of {name}, answering its customers in messengers."]
    if description:
        lines.append(f"About the business: {description}")
    if capabilities:
        lines.append("You help customers with:")
        lines += [f"- {c}" for c in capabilities]
    lines.append(f"Tone: {tone}." if tone else "Tone: polite and friendly.")
    lines += [
        "",
        "Working rules:",
        "1. Answer only from the knowledge provided (the business's own documents).",
        "2. Never invent prices, stock, delivery times, addresses or promises. "
        "State them only as the documents give them.",
        "3. When the documents do not answer the question, say honestly that you do not know "
        "and offer to connect the customer with a person.",
        "4. Keep answers messenger-sized: a few sentences, no long introductions.",
        "5. Answer in the customer's language: reply in the language the customer wrote in.",
        "6. Never name the files, sheets or rows an answer comes from.",
    ]
    return "\n".join(lines)
