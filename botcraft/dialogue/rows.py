"""Spreadsheet and table rows in natural language: "Чизкейк (120 г) — 290 ₽".

Rows are indexed as `header: value; header: value` (botcraft.knowledge.parsers.xlsx/docx);
here the headers say which value is the item's name, which its price (with the currency
from the header: "Цена, руб." → ₽) and which a measure (weight, volume, duration: shown in
brackets, with the unit from the header: "Вес, г").
"""

from __future__ import annotations

import re

_FIELD = re.compile(r"^([^:;\n]{1,60}): (.+)$", re.DOTALL)
_NUMBER = re.compile(r"^\d[\d  .,]*$")
_NAME_WORDS = ("наименование", "название", "позиция", "услуга", "товар", "блюдо", "напиток", "продукт",
               "модель", "город", "направление", "вид", "работа", "name", "item", "product", "service",
               "title", "dish", "drink", "city")
_PRICE_WORDS = ("цена", "стоимость", "руб", "₽", "прайс", "сумма", "тариф", "price", "cost", "usd", "$", "€", "eur")
_MEASURE_WORDS = ("объём", "объем", "вес", "порция", "размер", "длительность", "время", "срок", "продолжительность",
                  "выход", "масса", "volume", "weight", "size", "duration", "time", "length")
_STATE_WORDS = ("наличие", "статус", "availability", "stock", "status")
_HIDDEN_WORDS = ("№", "id", "артикул", "код", "sku", "номер", "n/n", "п/п")
_UNIT = re.compile(r"[,(]\s*([^\d\s,()][^,()]{0,8}?)\s*\)?\s*$")


def parse(text: str) -> list[tuple[str, str]] | None:
    """The (header, value) pairs of a row's text, or None when it is not a row."""
    line = text.strip().split("\n\n")[-1]
    pairs: list[tuple[str, str]] = []
    for part in line.split("; "):
        match = _FIELD.match(part.strip())
        if not match:
            if pairs:  # a value that itself contains "; ": part of the previous one
                header, value = pairs[-1]
                pairs[-1] = (header, f"{value}; {part}")
                continue
            return None
        pairs.append((match[1].strip(), match[2].strip()))
    return pairs if len(pairs) >= 2 else None


def format_row(text: str, language: str) -> str | None:
    """The row as a customer would say it, or None when `text` is not a row."""
    pairs = parse(text)
    if pairs is None:
        return None
    header0, value0 = pairs[0]
    if ". " in header0:  # the parser puts a section title in front: "Десерты. Позиция: Чизкейк"
        pairs[0] = (header0.rsplit(". ", 1)[1], value0)
    name_at = next((i for i, (h, _) in enumerate(pairs) if _is(h, _NAME_WORDS)), None)
    if name_at is None:
        name_at = next((i for i, (h, v) in enumerate(pairs)
                        if not _NUMBER.match(v) and not _hidden(h)), 0)
    name = pairs[name_at][1]
    measures, prices, states, others = [], [], [], []
    for i, (header, value) in enumerate(pairs):
        if i == name_at:
            continue
        if _is(header, _PRICE_WORDS):
            prices.append((header, _money(header, value, language)))
        elif _is(header, _MEASURE_WORDS):
            measures.append(_with_unit(header, value))
        elif _is(header, _STATE_WORDS):
            states.append(value)
        elif _hidden(header):
            continue
        else:
            others.append(f"{header[:1].lower()}{header[1:]}: {value}")
    line = name
    if measures:
        line += f" ({', '.join(measures)})"
    if len(prices) == 1:
        line += f" — {prices[0][1]}"
    elif prices:
        line += " — " + ", ".join(f"{header[:1].lower()}{header[1:]}: {value}" for header, value in prices)
    extras = states + others
    if extras:
        line += ", " + ", ".join(extras)
    return line


def _is(header: str, words: tuple[str, ...]) -> bool:
    lowered = header.lower()
    return any(word in lowered for word in words)


def _hidden(header: str) -> bool:
    """Internal numbering and codes: not what a customer asked about."""
    lowered = header.lower().strip(" .:")
    return lowered in _HIDDEN_WORDS or lowered.startswith("№")


def _money(header: str, value: str, language: str) -> str:
    if not _NUMBER.match(value):
        return value  # "от 1 500 ₽", "бесплатно"
    lowered = header.lower()
    if "$" in lowered or "usd" in lowered:
        return f"${value}" if language == "en" else f"{value} $"
    if "€" in lowered or "eur" in lowered:
        return f"{value} €"
    return f"{value} ₽"


def _with_unit(header: str, value: str) -> str:
    unit = _UNIT.search(header)
    if unit and _NUMBER.match(value):
        return f"{value} {unit[1].strip().rstrip('.')}"
    return value
