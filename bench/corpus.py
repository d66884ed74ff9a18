"""Seeded, realistic Russian/English shop text: price-list rows, catalogue paragraphs, FAQ."""

from __future__ import annotations

import random
from collections.abc import Iterator

from tests.docgen import _ADJECTIVES, _CATEGORIES, _COLOURS, _PHRASES, _PRODUCTS, _SIZES, _SKU_PREFIXES

FAQ_RU = [
    "Как оформить доставку? Доставка по Москве курьером за один день, по России — транспортной компанией за 3–7 дней.",
    "Сколько стоит доставка? Доставка бесплатна при заказе от 3000 ₽, иначе 300 ₽ по Москве и от 450 ₽ по России.",
    "Можно ли вернуть товар? Вернуть товар надлежащего качества можно в течение 14 дней, сохранив чек и упаковку.",
    "Какие способы оплаты? Оплата картой на сайте, наличными или картой курьеру, переводом по СБП.",
    "Есть ли самовывоз? Самовывоз из пункта выдачи на ул. Ленина, д. 15, ежедневно с 10:00 до 21:00.",
    "Какая гарантия? На электрические товары гарантия двенадцать месяцев, на одежду — тридцать дней.",
    "Как узнать размер? Таблица размеров есть в карточке каждого товара; консультант поможет подобрать.",
    "Работаете ли вы с юридическими лицами? Да, выставляем счёт с НДС, скидка при заказе от пяти штук.",
]
FAQ_EN = [
    "How long does delivery take? Courier delivery in Moscow takes one day; elsewhere in Russia 3 to 7 days.",
    "Can I return an item? Items can be returned within 14 days with the receipt and original packaging.",
    "Which payment methods do you accept? Cards online, cash or card to the courier, and SBP transfers.",
    "Do you offer gift wrapping? Gift wrapping is free for every order; add a note at checkout.",
    "Is there a warranty? Electrical goods carry a twelve-month warranty, clothing thirty days.",
]


def _sentence(rng: random.Random) -> str:
    return (
        f"{rng.choice(_PRODUCTS)} {rng.choice(_ADJECTIVES)}, цвет {rng.choice(_COLOURS)}: "
        f"{rng.choice(_PHRASES)}, {rng.choice(_PHRASES)}; цена {rng.randrange(100, 99_000)} ₽."
    )


def price_row(rng: random.Random, number: int) -> str:
    return (
        f"Артикул: {rng.choice(_SKU_PREFIXES)}-{number:06d}; Наименование: {rng.choice(_PRODUCTS)} "
        f"{rng.choice(_ADJECTIVES)}; Категория: {rng.choice(_CATEGORIES)}; Цвет: {rng.choice(_COLOURS)}; "
        f"Размер: {rng.choice(_SIZES)}; Цена, ₽: {rng.randrange(100, 100_000, 10)}; "
        f"Остаток: {rng.randrange(0, 500)}; Описание: " + " ".join(_sentence(rng) for _ in range(rng.randrange(1, 4)))
    )


def chunks(n: int, seed: int = 11) -> Iterator[tuple[str, dict[str, object]]]:
    """(text, source) pairs: 70% price rows, 25% catalogue paragraphs, 5% FAQ passages."""
    rng = random.Random(seed)
    for i in range(n):
        r = rng.random()
        if r < 0.70:
            yield price_row(rng, i), {"sheet": "Прайс", "row_start": i + 2, "row_end": i + 2}
        elif r < 0.95:
            yield "\n".join(_sentence(rng) for _ in range(rng.randrange(6, 13))), {"page": i // 8 + 1}
        else:
            pool = FAQ_RU if rng.random() < 0.7 else FAQ_EN
            yield " ".join(rng.sample(pool, 3)), {"page": i // 8 + 1}


WORDS_RU = [
    "доставку",
    "доставки",
    "доставкой",
    "гарантией",
    "гарантии",
    "футболки",
    "футболку",
    "кружку",
    "термосы",
    "термоса",
    "скидки",
    "возврата",
    "упаковку",
    "рюкзаки",
    "чайника",
    "пледы",
    "самовывоза",
    "оплаты",
    "наличии",
    "кроссовок",
    "курьером",
    "размеров",
]
QUESTIONS = [
    "сколько стоит доставка по Москве",
    "есть ли в наличии красная футболка",
    "какая гарантия на чайник",
    "можно ли вернуть кроссовки",
    "цена термоса",
    "подарочная упаковка бесплатно",
    "как оплатить заказ картой",
    "доставка в Санкт-Петербург",
    "скидка при заказе от пяти штук",
    "где самовывоз",
    "шерстяной плед серый",
    "кожаная сумка чёрный цвет",
    "зимняя куртка размер XL",
    "детский рюкзак синий",
    "сколько дней возврат",
    "how much is delivery",
    "do you have a black backpack",
    "return policy",
    "warranty on electrical goods",
    "gift wrapping",
    "payment methods",
    "работаете с юридическими лицами",
    "таблица размеров",
]


def queries(n: int, seed: int = 5, max_number: int = 100_000) -> list[str]:
    """A mix: 30% inflected single Russian words, 25% SKUs, 45% 2-5 word questions."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.30:
            out.append(rng.choice(WORDS_RU))
        elif r < 0.55:
            number = rng.randrange(0, max_number)
            style = rng.random()
            sku = f"{rng.choice(_SKU_PREFIXES)}-{number:06d}"
            out.append(sku if style < 0.6 else f"артикул {sku}" if style < 0.8 else sku.lower().replace("-", ""))
        else:
            out.append(rng.choice(QUESTIONS))
    return out
