from botcraft.knowledge.chunking import Chunk, chunk_passages
from botcraft.knowledge.parsers import Passage


def sentence(n: int) -> str:
    return f"Предложение номер {n} рассказывает о доставке и оплате заказа."  # 9 words


def test_each_spreadsheet_row_is_its_own_chunk():
    passages = [
        Passage("Артикул: XL-42; Наименование: Футболка; Цена: 1500", "row", sheet="Прайс", row=12),
        Passage("Артикул: A4-1; Наименование: Бумага A4; Цена: 350", "row", sheet="Прайс", row=13),
    ]
    chunks = chunk_passages(passages)
    assert chunks == [
        Chunk(0, passages[0].text, None, "Прайс", 12, 12),
        Chunk(1, passages[1].text, None, "Прайс", 13, 13),
    ]


def test_docx_table_rows_stay_separate_and_get_the_heading_once():
    passages = [
        Passage("Тарифы доставки", "heading"),
        Passage("Город: Москва; Цена: 300 ₽", "table_row"),
        Passage("Город: Тула; Цена: 500 ₽", "table_row"),
    ]
    assert [c.text for c in chunk_passages(passages)] == [
        "Тарифы доставки\n\nГород: Москва; Цена: 300 ₽",
        "Город: Тула; Цена: 500 ₽",
    ]


def test_heading_is_prefixed_and_short_paragraphs_are_packed():
    passages = [
        Passage("Оплата", "heading"),
        Passage("Принимаем карты.", "paragraph"),
        Passage("Наличные тоже.", "paragraph"),
        Passage("Возврат", "heading"),
        Passage("В течение 14 дней.", "paragraph"),
    ]
    assert [c.text for c in chunk_passages(passages)] == [
        "Оплата\n\nПринимаем карты.\n\nНаличные тоже.",
        "Возврат\n\nВ течение 14 дней.",
    ]


def test_paragraphs_are_packed_up_to_the_target():
    passages = [
        Passage(" ".join(sentence(i) for i in range(p * 5, p * 5 + 5)), "paragraph")
        for p in range(10)
    ]  # 45 words each
    chunks = chunk_passages(passages, target_words=100, max_words=150)
    assert [len(c.text.split()) for c in chunks] == [90, 90, 90, 90, 90]
    assert all("\n\n" in c.text for c in chunks)  # paragraph breaks are kept


def test_chunks_never_span_pages_or_sheets():
    passages = [
        Passage("Первая страница.", "page_text", page=1),
        Passage("Вторая страница.", "page_text", page=2),
        Passage("Лист один", "row", sheet="А", row=2),
        Passage("Лист два", "row", sheet="Б", row=2),
    ]
    chunks = chunk_passages(passages)
    assert [(c.page, c.sheet, c.text) for c in chunks] == [
        (1, None, "Первая страница."),
        (2, None, "Вторая страница."),
        (None, "А", "Лист один"),
        (None, "Б", "Лист два"),
    ]


def test_oversized_passage_is_split_at_sentence_ends_without_losing_text():
    text = " ".join(sentence(i) for i in range(60))  # 540 words
    chunks = chunk_passages([Passage(text, "page_text", page=7)], target_words=100, max_words=150)
    assert len(chunks) > 3
    assert all(len(c.text.split()) <= 150 for c in chunks)
    assert all(c.text.endswith("заказа.") for c in chunks)  # cut after a sentence, not inside
    assert all(c.page == 7 for c in chunks)
    assert " ".join(c.text for c in chunks).split() == text.split()
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_text_without_sentence_ends_is_cut_at_lines_then_words():
    lines = "\n".join(f"Товар {i} цвет синий размер M цена {i}00 ₽" for i in range(60))  # 540 words
    chunks = chunk_passages([Passage(lines, "page_text", page=1)], target_words=100, max_words=150)
    assert all(c.text.endswith("₽") for c in chunks)
    assert " ".join(c.text for c in chunks).split() == lines.split()

    one_long_sentence = " ".join(["слово"] * 700)
    chunks = chunk_passages([Passage(one_long_sentence, "ocr")], target_words=100, max_words=150)
    assert all(len(c.text.split()) <= 150 for c in chunks)
    assert sum(len(c.text.split()) for c in chunks) == 700


def test_heading_at_the_end_is_kept():
    chunks = chunk_passages([Passage("Текст.", "paragraph"), Passage("Контакты", "heading")])
    assert [c.text for c in chunks] == ["Текст.", "Контакты"]


def test_every_chunk_of_a_long_pdf_page_carries_the_pages_heading():
    body = " ".join(f"Предложение номер {i} о сезонных скидках на окрашивание." for i in range(80))
    chunks = chunk_passages([Passage(f"Акции ноября\n{body}", "page_text", page=3)], target_words=100, max_words=150)
    assert len(chunks) > 1
    assert all(c.text.startswith("Акции ноября\n") for c in chunks) and all(c.page == 3 for c in chunks)


def test_a_spreadsheet_rows_searchable_text_carries_its_sheet_name():
    from botcraft.language.analyzer import index_text

    [chunk] = chunk_passages([Passage("Город: Самара; Срок: 3 дня; Цена: 450 руб", "row", sheet="Доставка", row=4)])
    assert chunk.text == "Город: Самара; Срок: 3 дня; Цена: 450 руб"  # what is quoted stays the row
    assert set(index_text("доставка")) <= set(index_text(chunk.searchable_text()))
