from pathlib import Path

import pytest

from botcraft.knowledge.sniff import (
    HEAD_BYTES,
    detect_type,
)
from tests import docgen


def sniff(path: Path) -> str | None:
    with path.open("rb") as f:
        return detect_type(f.read(HEAD_BYTES), path)


# Each file is saved under a misleading name: the type must come from the content alone.
@pytest.mark.parametrize(
    ("make", "name", "expected"),
    [
        (lambda p: docgen.make_pdf(p, ["Прайс-лист"]), "photo.jpg", "pdf"),
        (lambda p: docgen.make_text_png(p, "Меню"), "menu.pdf", "png"),
        (lambda p: docgen.make_rotated_jpeg_with_exif(p, "Меню"), "menu.png", "jpg"),
        (lambda p: docgen.make_docx(p, "Условия", ["Текст"], []), "price.xlsx", "docx"),
        (lambda p: docgen.make_xlsx(p, {"Прайс": [["Товар", "Цена"]]}), "terms.docx", "xlsx"),
        (docgen.make_exe, "price.pdf", None),
        (docgen.make_ole2_doc, "terms.doc", None),
        (docgen.make_plain_zip, "archive.docx", None),
        (docgen.make_empty, "empty.pdf", None),
    ],
)
def test_type_comes_from_content_not_name(tmp_path, make, name, expected):
    assert sniff(make(tmp_path / name)) == expected


def test_plain_text_is_not_supported(tmp_path):
    path = tmp_path / "faq.pdf"
    path.write_text("Вопрос: сколько стоит доставка?", encoding="utf-8")
    assert sniff(path) is None


def test_pdf_header_after_leading_junk_is_still_pdf(tmp_path):
    # Some generators put bytes before %PDF-; readers accept it within the first 1 KB.
    source = docgen.make_pdf(tmp_path / "a.pdf", ["Текст"])
    path = tmp_path / "junk.pdf"
    path.write_bytes(b"\r\n\x00junk" + source.read_bytes())
    assert sniff(path) == "pdf"


def test_truncated_docx_is_recognised_from_local_headers(tmp_path):
    # A broken upload must be reported as a damaged DOCX, not as an unknown type.
    source = docgen.make_docx(tmp_path / "a.docx", "Заголовок", ["Текст"], [])
    truncated = docgen.make_truncated(source, tmp_path / "cut.docx", keep=0.6)
    assert sniff(truncated) == "docx"
