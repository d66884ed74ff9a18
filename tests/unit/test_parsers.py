import datetime as dt
import time
import zipfile
from pathlib import Path

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from PIL import Image

from botcraft.knowledge.parsers import ExtractionError, ExtractLimits, Passage, extract
from botcraft.knowledge.parsers.base import clean_text
from botcraft.knowledge.parsers.image import load_image, ocr_image
from tests import docgen
from tests.docgen import Formula

LIMITS = ExtractLimits()
OCR_TEXT = "Доставка по Москве бесплатно\nЦена 1500 рублей"


def words(text: str) -> set[str]:
    """Lowercased words, ё as е: OCR output is compared on a few key words."""
    return set(text.lower().replace("ё", "е").replace(",", " ").replace(".", " ").split())


def assert_ocr_read(passages: list[Passage]) -> None:
    found = words(" ".join(p.text for p in passages))
    assert {"доставка", "москве", "1500"} <= found, found


# ---------------------------------------------------------------- PDF


def test_pdf_text_layer_page_by_page(tmp_path):
    path = docgen.make_pdf(
        tmp_path / "catalog.pdf",
        ["Доставка по Москве — бесплатно от 3000 ₽.", "", "Оплата картой или наличными."],
    )
    result = extract(path, "pdf", LIMITS)
    assert result.pages == 3
    # The blank page has nothing to read, so nothing is returned for it (and no OCR runs).
    assert [(p.page, p.kind) for p in result.passages] == [(1, "page_text"), (3, "page_text")]
    assert result.passages[0].text == "Доставка по Москве — бесплатно от 3000 ₽."
    assert result.passages[1].text == "Оплата картой или наличными."


def test_pdf_keeps_lines(tmp_path):
    path = docgen.make_pdf(tmp_path / "menu.pdf", ["Борщ — 350 ₽\nПельмени — 420 ₽"])
    assert extract(path, "pdf", LIMITS).passages[0].text == "Борщ — 350 ₽\nПельмени — 420 ₽"


def test_scanned_pdf_page_is_ocred(tmp_path):
    path = docgen.make_scanned_pdf(tmp_path / "scan.pdf", OCR_TEXT)
    result = extract(path, "pdf", LIMITS)
    assert result.pages == 1
    assert {p.kind for p in result.passages} == {"ocr"}
    assert {p.page for p in result.passages} == {1}
    assert_ocr_read(result.passages)


def test_encrypted_pdf_reason_mentions_password(tmp_path):
    path = docgen.make_encrypted_pdf(tmp_path / "secret.pdf")
    with pytest.raises(ExtractionError) as error:
        extract(path, "pdf", LIMITS)
    assert "password" in error.value.reason


def test_truncated_pdf_is_reported_damaged(tmp_path):
    source = docgen.make_pdf(tmp_path / "a.pdf", ["Текст страницы"] * 3)
    path = docgen.make_truncated(source, tmp_path / "cut.pdf", keep=0.5)
    with pytest.raises(ExtractionError) as error:
        extract(path, "pdf", LIMITS)
    assert "damaged" in error.value.reason


def test_pdf_page_limit(tmp_path):
    path = docgen.make_pdf(tmp_path / "long.pdf", ["Страница"] * 3)
    with pytest.raises(ExtractionError) as error:
        extract(path, "pdf", ExtractLimits(max_pages=2))
    assert "3 pages" in error.value.reason


def test_pdf_time_limit(tmp_path):
    path = docgen.make_pdf(tmp_path / "a.pdf", ["Страница"] * 3)
    with pytest.raises(ExtractionError) as error:
        extract(path, "pdf", ExtractLimits(time_limit_s=0))
    assert "longer than" in error.value.reason


def test_pdf_without_any_text(tmp_path):
    path = docgen.make_pdf(tmp_path / "blank.pdf", [""])
    with pytest.raises(ExtractionError) as error:
        extract(path, "pdf", LIMITS)
    assert "No text" in error.value.reason


def test_big_pdf_generator(tmp_path):
    path = docgen.make_big_pdf(tmp_path / "big.pdf", target_bytes=300_000, pages=4)
    assert 200_000 < path.stat().st_size < 400_000
    result = extract(path, "pdf", LIMITS)
    assert [p.page for p in result.passages] == [1, 2, 3, 4]
    assert result.passages[3].text.startswith("Каталог товаров — страница 4")


# ---------------------------------------------------------------- DOCX


def test_docx_heading_paragraphs_and_table_rows(tmp_path):
    path = docgen.make_docx(
        tmp_path / "terms.docx",
        "Условия доставки",
        ["Доставляем по Москве ежедневно.", "Самовывоз — бесплатно."],
        [["Город", "Срок", "Цена"], ["Москва", "1 день", "300 ₽"], ["Тула", "3 дня", ""]],
    )
    result = extract(path, "docx", LIMITS)
    assert result.pages is None
    assert [(p.kind, p.text) for p in result.passages] == [
        ("heading", "Условия доставки"),
        ("paragraph", "Доставляем по Москве ежедневно."),
        ("paragraph", "Самовывоз — бесплатно."),
        ("table_row", "Город: Москва; Срок: 1 день; Цена: 300 ₽"),
        ("table_row", "Город: Тула; Срок: 3 дня"),
    ]


def test_docx_document_order_and_heading_styles(tmp_path):
    document = docx.Document()
    russian_heading = document.styles.add_style("Заголовок 2", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("Перед таблицей.")
    table = document.add_table(rows=2, cols=2)
    for cell, text in zip(table._cells, ["Товар", "Цена", "Кружка", "450 ₽"], strict=True):
        cell.text = text
    document.add_paragraph("Оплата", style=russian_heading)
    outlined = document.add_paragraph("Возврат")
    outlined.paragraph_format.element.get_or_add_pPr().append(
        parse_xml(
            '<w:outlineLvl xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
            ' w:val="1"/>'
        )
    )
    document.add_paragraph("После таблицы.")
    path = tmp_path / "order.docx"
    document.save(str(path))
    assert [(p.kind, p.text) for p in extract(path, "docx", LIMITS).passages] == [
        ("paragraph", "Перед таблицей."),
        ("table_row", "Товар: Кружка; Цена: 450 ₽"),
        ("heading", "Оплата"),
        ("heading", "Возврат"),
        ("paragraph", "После таблицы."),
    ]


def test_docx_zip_bomb_is_refused(tmp_path):
    path = docgen.make_zip_bomb_docx(tmp_path / "bomb.docx")
    assert path.stat().st_size < 2 * docgen.MB
    started = time.monotonic()
    with pytest.raises(ExtractionError) as error:
        extract(path, "docx", LIMITS)
    assert "refused" in error.value.reason
    assert time.monotonic() - started < 1  # decided from the zip directory, nothing inflated


def test_highly_compressed_member_is_refused_below_size_limit(tmp_path):
    path = docgen.make_zip_bomb_docx(tmp_path / "bomb.docx", uncompressed_bytes=20 * docgen.MB)
    with pytest.raises(ExtractionError) as error:
        extract(path, "xlsx", LIMITS)
    assert "refused" in error.value.reason


def test_xlsx_passed_as_docx_is_an_extraction_error(tmp_path):
    path = docgen.make_xlsx(tmp_path / "price.xlsx", {"Прайс": [["Товар", "Цена"]]})
    with pytest.raises(ExtractionError):
        extract(path, "docx", LIMITS)


# ---------------------------------------------------------------- XLSX


def test_xlsx_rows_with_headers_sheets_and_rows(tmp_path):
    path = docgen.make_xlsx(
        tmp_path / "price.xlsx",
        {
            "Прайс": [
                ["Прайс-лист на март"],
                [],
                ["Артикул", "Наименование", None, "Цена", None],
                ["XL-42", "Футболка  хлопковая ", None, 1500.0],
                ["A4-500", "Бумага A4", None, 349.5, None],
                [None, None, None, None],
                ["Напитки"],
                ["KV-1", "Квас", None, Formula("D4/10", 150)],
                ["KV-2", "Морс", None, 0],
            ],
            "Доставка": [["Город", "Срок", "С даты"], ["Москва", "1 день", dt.date(2025, 3, 1)]],
            "Закупка": [["Товар", "Закупочная цена"], ["Футболка", 700]],
        },
        hidden=["Закупка"],
    )
    with zipfile.ZipFile(path) as zf:  # the formula is really there, with its cached value
        assert "<f>D4/10</f><v>150</v>" in zf.read("xl/worksheets/sheet1.xml").decode()
    result = extract(path, "xlsx", LIMITS)
    assert result.pages is None
    assert {p.kind for p in result.passages} == {"row"}
    assert [(p.sheet, p.row, p.text) for p in result.passages] == [
        ("Прайс", 1, "Прайс-лист на март"),
        ("Прайс", 4, "Артикул: XL-42; Наименование: Футболка хлопковая; Цена: 1500"),
        ("Прайс", 5, "Артикул: A4-500; Наименование: Бумага A4; Цена: 349.5"),
        ("Прайс", 7, "Напитки"),
        ("Прайс", 8, "Напитки. Артикул: KV-1; Наименование: Квас; Цена: 150"),
        ("Прайс", 9, "Напитки. Артикул: KV-2; Наименование: Морс; Цена: 0"),
        ("Доставка", 2, "Город: Москва; Срок: 1 день; С даты: 2025-03-01"),
    ]


def test_xlsx_starting_below_first_row_keeps_sheet_row_numbers(tmp_path):
    path = docgen.make_xlsx(
        tmp_path / "offset.xlsx",
        {"Лист1": [[], [], [None, None, "Услуга", "Цена"], [None, None, "Стрижка", 1200.75]]},
    )
    [passage] = extract(path, "xlsx", LIMITS).passages
    assert (passage.row, passage.text) == (4, "Услуга: Стрижка; Цена: 1200.75")


def test_big_xlsx_generator(tmp_path):
    path = docgen.make_big_xlsx(tmp_path / "big.xlsx", rows=300, target_bytes=None)
    result = extract(path, "xlsx", LIMITS)
    assert len(result.passages) == 300
    assert (result.passages[0].sheet, result.passages[0].row) == ("Прайс", 2)
    assert result.passages[-1].row == 301
    assert result.passages[0].text.startswith("Артикул: ")
    assert "; Цена, ₽: " in result.passages[0].text


# ---------------------------------------------------------------- images


def test_png_is_ocred(tmp_path):
    path = docgen.make_text_png(tmp_path / "menu.png", OCR_TEXT)
    result = extract(path, "png", LIMITS)
    assert result.pages == 1
    assert {p.kind for p in result.passages} == {"ocr"}
    assert_ocr_read(result.passages)


def test_jpeg_exif_orientation_is_applied(tmp_path):
    path = docgen.make_rotated_jpeg_with_exif(tmp_path / "photo.jpg", OCR_TEXT)
    with Image.open(path) as stored:
        stored_size = stored.size
    upright = load_image(path, LIMITS)
    assert upright.size == stored_size[::-1]
    assert upright.width > upright.height  # the text lines run horizontally again
    assert_ocr_read(extract(path, "jpg", LIMITS).passages)


@pytest.mark.parametrize(("side", "shows_size"), [(30_000, False), (8_000, True)])
def test_decompression_bomb_is_refused_before_decoding(tmp_path, side, shows_size):
    # 30000² trips Pillow's own guard at open(); 8000² (64 MP) only ours, before load().
    path = docgen.make_huge_image(tmp_path / "huge.png", side, side)
    assert path.stat().st_size < 200_000
    started = time.monotonic()
    with pytest.raises(ExtractionError) as error:
        extract(path, "png", LIMITS)
    assert "too large" in error.value.reason
    assert ("8000×8000" in error.value.reason) is shows_size
    assert time.monotonic() - started < 1


def test_truncated_png(tmp_path):
    source = docgen.make_text_png(tmp_path / "a.png", OCR_TEXT)
    path = docgen.make_truncated(source, tmp_path / "cut.png", keep=0.5)
    with pytest.raises(ExtractionError) as error:
        extract(path, "png", LIMITS)
    assert "damaged" in error.value.reason


def test_missing_tesseract_is_explained(tmp_path, monkeypatch):
    monkeypatch.setattr("botcraft.knowledge.parsers.image.shutil.which", lambda name: None)
    path = docgen.make_text_png(tmp_path / "a.png", "Меню")
    with pytest.raises(ExtractionError) as error:
        extract(path, "png", LIMITS)
    assert "tesseract-ocr" in error.value.reason


def test_ocr_timeout_is_an_extraction_error():
    image = docgen.text_image(OCR_TEXT)
    with pytest.raises(ExtractionError) as error:
        ocr_image(image, "rus+eng", timeout=0.001)
    assert "too long" in error.value.reason


def test_transparent_png_is_read_on_white(tmp_path):
    # Black text on a transparent background: dropping alpha naively gives black on black.
    text = docgen.text_image(OCR_TEXT)
    rgba = Image.new("RGBA", text.size, (0, 0, 0, 0))
    rgba.putalpha(text.point(lambda v: 255 - v))
    path = tmp_path / "transparent.png"
    rgba.save(path)
    assert_ocr_read(extract(path, "png", LIMITS).passages)


# ---------------------------------------------------------------- any type


@pytest.mark.parametrize(
    ("file_type", "content"),
    [
        ("pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage"),
        ("docx", b"PK\x03\x04" + bytes(range(256)) * 4),
        ("xlsx", b"PK\x03\x04" + bytes(range(256)) * 4),
        ("png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4),
        ("jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4),
        ("pdf", b""),
        ("xlsx", b""),
    ],
)
def test_corrupt_files_raise_extraction_error_only(tmp_path, file_type, content):
    path = tmp_path / f"broken.{file_type}"
    path.write_bytes(content)
    with pytest.raises(ExtractionError) as error:
        extract(path, file_type, LIMITS)
    assert error.value.reason.endswith(".")


def test_unknown_type(tmp_path):
    with pytest.raises(ExtractionError):
        extract(Path(tmp_path / "x"), "doc", LIMITS)


def test_clean_text():
    raw = "  Цена:\u00a0 1 500\t₽ \r\nдостав\u00adка\x00 \u200bпо\n\n\n\nМоскве  "
    assert clean_text(raw) == "Цена: 1 500 ₽\nдоставка по\n\nМоскве"
    assert clean_text("достав\x02\r\nка") == "доставка"  # PDF soft hyphen at a line end
