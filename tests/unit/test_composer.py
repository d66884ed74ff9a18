"""The offline answer composer: only what answers, rows in natural Russian, two-part and overview
questions, out-of-scope honesty; and the generated prompts and welcome."""

from __future__ import annotations

from botcraft.agents.prompts import generate_system_prompt
from botcraft.dialogue import offline, rows
from botcraft.dialogue.passages import Found, Overview, Part, split_parts
from botcraft.dialogue.prompting import welcome
from botcraft.knowledge.query import inherit_kinds, understand
from botcraft.knowledge.search import Hit, Source
from botcraft.knowledge.vocabulary import Vocabulary
from botcraft.knowledge.word_index import WordIndexBuilder
from botcraft.language.analyzer import index_text
from botcraft.language.synonyms import thesaurus

FAQ = ("Частые вопросы\n\nКак до вас добраться? От метро «Парк культуры» пять минут пешком, адрес: ул. Садовая, 12. "
       "Мы работаем ежедневно с 10:00 до 21:00. Оплатить можно картой или через СБП. "
       "Во дворе есть бесплатная парковка.")
ROWS = [
    ("Кофе", "Позиция: Капучино; Объём, мл: 300; Цена, руб.: 250"),
    ("Кофе", "Позиция: Латте; Объём, мл: 350; Цена, руб.: 270"),
    ("Десерты", "Позиция: Чизкейк; Вес, г: 120; Цена, руб.: 290"),
    ("Десерты", "Позиция: Круассан; Вес, г: 80; Цена, руб.: 180"),
    ("Доставка", "Город: Самара; Срок: 3 дня; Цена: 450 руб"),
]


def hit(i: int, text: str, sheet: str | None = None) -> Hit:
    source = Source(document_id=1, filename="прайс.xlsx" if sheet else "faq.docx", page=None, sheet=sheet,
                    row_start=i + 2 if sheet else None, row_end=i + 2 if sheet else None)
    return Hit(chunk_id=i, score=1.0, text=text, source=source)


HITS = [hit(0, FAQ)] + [hit(i + 1, text, sheet) for i, (sheet, text) in enumerate(ROWS)]
def vocabulary_of(hits: list[Hit]) -> Vocabulary:
    """The vocabulary of these passages, as the agent's index holds it (a sheet's name included)."""
    builder = WordIndexBuilder()
    builder.add((h.chunk_id + 1, index_text(f"{h.source.sheet or ''} {h.text}")) for h in hits)
    return Vocabulary(builder.build())


VOCABULARY = vocabulary_of(HITS)


def answer(question: str) -> offline.Reply:
    whole = understand(question, thesaurus(), VOCABULARY)
    parts = [Part(whole, HITS)]
    pieces = split_parts(question)
    if len(pieces) > 1:
        first = understand(pieces[0], thesaurus(), VOCABULARY)
        parts += [Part(first if i == 0 else inherit_kinds(understand(p, thesaurus(), VOCABULARY), first), HITS)
                  for i, p in enumerate(pieces)]
    return offline.reply(Found(question, parts, None, HITS), "ru")


def test_rows_read_as_natural_russian_with_units_and_currency_from_headers():
    assert rows.format_row("Позиция: Чизкейк; Вес, г: 120; Цена, руб.: 290", "ru") == "Чизкейк (120 г) — 290 ₽"
    assert rows.format_row("Позиция: Капучино; Объём, мл: 300; Цена, руб.: 250", "ru") == "Капучино (300 мл) — 250 ₽"
    assert rows.format_row("Артикул: XL-42; Товар: Футболка; Цена, ₽: 1500; Наличие: есть", "ru") == \
        "Футболка — 1500 ₽, есть"
    assert rows.format_row("Десерты. Позиция: Маффин; Цена, руб.: 210", "ru") == "Маффин — 210 ₽"
    assert rows.format_row("Доставка по Москве стоит 300 рублей.", "ru") is None  # prose is not a row


def test_only_the_sentence_that_answers_and_no_file_names():
    reply = answer("Есть ли у вас парковка?")
    assert reply.text == "Во дворе есть бесплатная парковка."
    assert reply.used[0].source.filename == "faq.docx"  # the owner still sees the source


def test_an_faq_question_is_answered_by_what_follows_it():
    reply = answer("Как до вас добраться?")
    assert reply.text is not None and reply.text.startswith("От метро «Парк культуры»") and "Садовая" in reply.text


def test_a_price_question_gets_the_row_not_the_record_syntax():
    reply = answer("Сколько стоит капучино?")
    assert reply.text == "Капучино (300 мл) — 250 ₽"
    assert "Позиция:" not in reply.text and "прайс.xlsx" not in reply.text


def test_the_sheet_name_is_context_for_its_rows():
    assert answer("Сколько стоит доставка в Самару?").text == "Самара (3 дня) — 450 руб"


def test_two_part_questions_are_answered_part_by_part():
    reply = answer("Сколько стоит латте и круассан?")
    assert reply.text == "Латте (350 мл) — 270 ₽\nКруассан (80 г) — 180 ₽" and reply.reason is None
    both = answer("Во сколько вы работаете и есть ли парковка?")
    assert both.text is not None and "10:00" in both.text and "парковка" in both.text


def test_a_two_part_question_with_one_unknown_part_answers_one_and_hands_over_the_other():
    reply = answer("Сколько стоит латте и торт наполеон?")
    assert reply.text is not None and "270" in reply.text and "сотруднику" in reply.text
    assert reply.reason is not None  # the owner is asked to step in


def test_out_of_scope_is_not_answered_with_an_unrelated_passage():
    assert answer("Делаете татуировки?").text is None
    assert answer("Сколько стоит ремонт айфона?").text is None
    assert answer("Продаёте велосипеды?").text is None


def test_overview_lists_the_first_items_and_how_many_more():
    first = [h for h in HITS if h.source.sheet][:3]
    found = Found("Какие у вас цены?", [Part(understand("Какие у вас цены?", thesaurus()), [])],
                  Overview(first, 23), first)
    text = offline.reply(found, "ru").text
    assert text is not None
    assert "• Капучино (300 мл) — 250 ₽" in text and "• Чизкейк (120 г) — 290 ₽" in text
    assert "и ещё 20 позиций" in text and "прайс.xlsx" not in text
    assert "and 20 more items" in (offline.reply(found, "en").text or "")


def test_single_fact_answers_are_short():
    for question in ("Сколько стоит чизкейк?", "Как до вас добраться?", "Можно оплатить по QR?"):
        reply = answer(question)
        assert reply.text is not None and len(reply.text) < 300, question


def test_system_prompt_makes_the_bot_the_businesss_assistant_with_whole_capabilities():
    prompt = generate_system_prompt(
        "Лотос", "Салон красоты в центре Москвы. Работаем с 2010 года.",
        "Отвечать на вопросы о стрижках, окрашивании и маникюре\nЗаписывать на приём", "дружелюбный")
    assert prompt.startswith("Ты — виртуальный помощник салона «Лотос».")
    assert "- отвечать на вопросы о стрижках, окрашивании и маникюре\n- записывать на приём" in prompt
    english = generate_system_prompt("Lotus", "A beauty salon in London.", "Answer questions about cuts, colour and nails", "")
    assert english.startswith("You are the virtual assistant of Lotus")
    assert "- Answer questions about cuts, colour and nails" in english


def test_welcome_uses_the_first_sentence_of_the_description_at_most():
    text = welcome("Зерно", "Кофейня у метро. Работаем с 2015 года, варим кофе на своей обжарке.", "ru")
    assert text.startswith("Здравствуйте! Я — виртуальный помощник кофейни «Зерно». Кофейня у метро.")
    assert "2015" not in text
    english = welcome("Bean", "A coffee shop by the station. Roasting since 2015.", "en")
    assert "A coffee shop by the station." in english and "2015" not in english


ENGLISH_ROWS = [hit(10, "Item: Latte; Size, ml: 350; Price, $: 4.5", "Coffee"),
                hit(11, "Item: Croissant; Weight, g: 80; Price, $: 3", "Pastry"),
                hit(12, "We are open daily from 8 am to 10 pm. Free parking behind the building.")]


def english_answer(question: str) -> offline.Reply:
    vocabulary = vocabulary_of(ENGLISH_ROWS)
    whole = understand(question, thesaurus(), vocabulary)
    parts = [Part(whole, ENGLISH_ROWS)]
    pieces = split_parts(question)
    if len(pieces) > 1:
        first = understand(pieces[0], thesaurus(), vocabulary)
        parts += [Part(first if i == 0 else inherit_kinds(understand(p, thesaurus(), vocabulary), first),
                       ENGLISH_ROWS) for i, p in enumerate(pieces)]
    return offline.reply(Found(question, parts, None, ENGLISH_ROWS), "en")


def test_english_rows_questions_and_two_parts():
    assert rows.format_row("Item: Latte; Size, ml: 350; Price, $: 4.5", "en") == "Latte (350 ml) — $4.5"
    assert english_answer("How much is a latte?").text == "Latte (350 ml) — $4.5"
    assert english_answer("How much is a latte and a croissant?").text == "Latte (350 ml) — $4.5\nCroissant (80 g) — $3"
    assert english_answer("Do you have parking?").text == "Free parking behind the building."
    assert english_answer("Do you repair iPhones?").text is None
