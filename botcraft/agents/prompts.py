"""Deterministic system prompts from the agent's four fields, in the description's language.

No LLM is involved: the same fields always give the same prompt, and the working rules of
a customer-facing assistant are always there, whatever the owner wrote.
"""

from __future__ import annotations

import re

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
    items = [i.strip(" -•.") for i in re.split(r"[\n;,]+", text or "")]
    return [i for i in items if i]


def generate_system_prompt(
    name: str, business_description: str, capabilities: str, tone: str, language: str | None = None
) -> str:
    lang = language or detect_language(business_description, capabilities, name)
    return (_russian if lang == "ru" else _english)(
        _clean(name), _clean(business_description), _as_list(capabilities), _clean(tone)
    )


def _russian(name: str, description: str, capabilities: list[str], tone: str) -> str:
    lines = [f"Ты — {name}, ИИ-ассистент, который отвечает клиентам в мессенджерах."]
    if description:
        lines.append(f"О бизнесе: {description}")
    if capabilities:
        lines.append("Ты помогаешь клиентам:")
        lines += [f"- {c}" for c in capabilities]
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
    ]
    return "\n".join(lines)


def _english(name: str, description: str, capabilities: list[str], tone: str) -> str:
    lines = [f"You are {name}, an AI assistant answering customers in messengers."]
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
    ]
    return "\n".join(lines)
