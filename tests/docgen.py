"""Make test documents in code: PDFs, DOCX, XLSX, images, and hostile or broken files.

Used by unit and integration tests and by the benchmarks. Every function writes `path`
and returns it. Text is Russian unless a test needs otherwise.
"""

from __future__ import annotations

import io
import math
import random
import re
import struct
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import docx
import openpyxl
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

MB = 1024 * 1024
FONT_PATH = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
_PDF_FONT = "DejaVuSans"
_MARGIN = 50


# ---------------------------------------------------------------- PDF


def _register_font() -> None:
    if _PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(_PDF_FONT, FONT_PATH))


def _draw_text_page(c: canvas.Canvas, text: str, font_size: float = 11) -> None:
    """Draw `text` on the current page, wrapped to the page width; "\\n" starts a new line."""
    width, height = A4
    leading = font_size * 1.3
    obj = c.beginText(_MARGIN, height - _MARGIN)
    obj.setFont(_PDF_FONT, font_size, leading)
    for paragraph in text.split("\n"):
        for line in simpleSplit(paragraph, _PDF_FONT, font_size, width - 2 * _MARGIN) or [""]:
            obj.textLine(line)
    c.drawText(obj)


def make_pdf(path: Path, pages: Sequence[str]) -> Path:
    """A PDF with a real text layer: one string per page, in DejaVu Sans (Cyrillic)."""
    _register_font()
    c = canvas.Canvas(str(path), pagesize=A4)
    for text in pages:
        _draw_text_page(c, text)
        c.showPage()
    c.save()
    return path


def make_scanned_pdf(path: Path, text: str) -> Path:
    """A one-page PDF whose only content is a picture of `text` (no text layer), like a scan."""
    width, height = A4
    image = text_image(text, font_size=40, width=1240)  # 150 dpi across an A4 page
    c = canvas.Canvas(str(path), pagesize=A4)
    shown_height = width * image.height / image.width
    c.drawImage(ImageReader(image), 0, height - shown_height, width, shown_height)
    c.showPage()
    c.save()
    return path


def make_encrypted_pdf(path: Path, password: str = "секрет123") -> Path:
    """A PDF that cannot be opened without a user password."""
    _register_font()
    encryption = StandardEncryption(userPassword=password, ownerPassword=password + "-owner")
    c = canvas.Canvas(str(path), pagesize=A4, encrypt=encryption)
    _draw_text_page(c, "Секретный прайс-лист")
    c.showPage()
    c.save()
    return path


def make_big_pdf(path: Path, target_bytes: int = 10 * MB, pages: int = 500) -> Path:
    """A catalogue of `pages` dense text pages, each with a photo, about `target_bytes` long.

    The photos (random pixels, so they do not compress) only make up the size, as product
    photos do in real catalogues; the text layer is what extraction reads.
    """
    _register_font()
    rng = random.Random(1)
    texts = [_catalogue_page(rng, number) for number in range(1, pages + 1)]
    # Measure samples to size the photos so that the whole file lands near the target:
    # 10 and 20 pages separate the per-page bytes from the fixed ones (the embedded font).
    sample = [_catalogue_page(rng, number) for number in range(1, 21)]
    ten, twenty = (len(_catalogue_pdf(sample[:n], 0, rng)) for n in (10, 20))
    per_page, fixed = (twenty - ten) / 10, 2 * ten - twenty
    bytes_per_pixel = (len(_catalogue_pdf(sample[:10], 100, rng)) - ten) / (10 * 100**2)
    room = max((target_bytes - fixed) / pages - per_page, 0)
    side = int(math.sqrt(room / bytes_per_pixel))
    path.write_bytes(_catalogue_pdf(texts, side, rng))
    return path


def _catalogue_pdf(texts: list[str], photo_side: int, rng: random.Random) -> bytes:
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4)
    width, _ = A4
    for text in texts:
        _draw_text_page(c, text, font_size=8)
        if photo_side:
            photo = Image.frombytes(
                "RGB", (photo_side, photo_side), rng.randbytes(3 * photo_side**2)
            )
            c.drawImage(ImageReader(photo), width - _MARGIN - 60, 10, 60, 60)
        c.showPage()
    c.save()
    return buffer.getvalue()


def _catalogue_page(rng: random.Random, number: int) -> str:
    lines = [f"Каталог товаров — страница {number}"]
    lines += [_product_sentence(rng) for _ in range(28)]
    return "\n".join(lines)


# ---------------------------------------------------------------- DOCX


def make_docx(
    path: Path, heading: str, paragraphs: Sequence[str], table: Sequence[Sequence[str]]
) -> Path:
    """A Word document: a Heading 1, the paragraphs, then a table (first row = headers)."""
    document = docx.Document()
    document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=max(len(row) for row in table))
        for cells, row in zip(grid.rows, table, strict=True):
            for cell, value in zip(cells.cells, row, strict=False):
                cell.text = value
    document.save(str(path))
    return path


# ---------------------------------------------------------------- XLSX


@dataclass(frozen=True)
class Formula:
    """A formula cell for make_xlsx, saved with its cached result as Excel does."""

    expression: str  # without "=", e.g. "B2*2"
    cached: float


def make_xlsx(
    path: Path, sheets: dict[str, Sequence[Sequence[Any]]], hidden: Sequence[str] = ()
) -> Path:
    """A workbook with one sheet per entry; rows are lists of cell values (None = empty).

    Sheets named in `hidden` are saved hidden, as owners hide internal data.

    A `Formula` cell is written with both <f> and its cached <v>: openpyxl alone would
    store the formula without a result, which no reader can show.
    """
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    formulas: dict[int, dict[str, str]] = {}  # sheet number -> cell ref -> expression
    for number, (name, rows) in enumerate(sheets.items(), start=1):
        sheet = workbook.create_sheet(name)
        if name in hidden:
            sheet.sheet_state = "hidden"
        for r, row in enumerate(rows, start=1):
            for col, value in enumerate(row, start=1):
                if isinstance(value, Formula):
                    cell = sheet.cell(r, col, value.cached)
                    formulas.setdefault(number, {})[cell.coordinate] = value.expression
                elif value is not None:
                    sheet.cell(r, col, value)
    workbook.save(str(path))
    if formulas:
        _add_formulas(path, formulas)
    return path


def _add_formulas(path: Path, formulas: dict[int, dict[str, str]]) -> None:
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            match = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", info.filename)
            if match and int(match[1]) in formulas:
                xml = data.decode()
                for ref, expression in formulas[int(match[1])].items():
                    xml = re.sub(rf'(<c r="{ref}"[^>]*>)', rf"\1<f>{expression}</f>", xml)
                data = xml.encode()
            target.writestr(info, data)


def make_big_xlsx(path: Path, rows: int = 50_000, target_bytes: int | None = 10 * MB) -> Path:
    """A product price list (SKU, name, category, barcode, price, stock, short description).

    At least `rows` rows; more if needed to reach about `target_bytes` (None: exactly `rows`).
    Real 10 MB price lists are many short rows, so the default has ~150,000 rows.
    Written directly as Excel does (UTF-8 shared strings): openpyxl writes every string
    inline as numeric character references, 7 bytes per Cyrillic letter, which no real
    file looks like. It is also 10x faster.
    """
    _write_xlsx(path, "Прайс", _price_table(rows))
    size = path.stat().st_size
    if target_bytes is not None and size < target_bytes * 0.95:
        _write_xlsx(path, "Прайс", _price_table(rows * target_bytes // size))
    return path


def _price_table(rows: int) -> list[list[Any]]:
    rng = random.Random(2)
    header = ["Артикул", "Наименование", "Категория", "Цвет", "Размер", "Штрихкод"]
    table: list[list[Any]] = [[*header, "Цена, ₽", "Остаток", "Описание"]]
    for number in range(1, rows + 1):
        table.append(
            [
                f"{rng.choice(_SKU_PREFIXES)}-{number:06d}",
                f"{rng.choice(_PRODUCTS)} {rng.choice(_ADJECTIVES)}",
                rng.choice(_CATEGORIES),
                rng.choice(_COLOURS),
                rng.choice(_SIZES),
                str(rng.randrange(4_600_000_000_000, 4_700_000_000_000)),
                float(rng.randrange(100, 100_000, 10)),
                rng.randrange(0, 500),
                _product_sentence(rng),
            ]
        )
    return table


_XML = '<?xml version="1.0" encoding="UTF-8"?>'
_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _relationships(*targets: tuple[str, str]) -> str:
    items = "".join(
        f'<Relationship Id="rId{number}" Type="{_RELATIONSHIPS}/{kind}" Target="{target}"/>'
        for number, (kind, target) in enumerate(targets, start=1)
    )
    return f'{_XML}<Relationships xmlns="{_PACKAGE}/relationships">{items}</Relationships>'


def _write_xlsx(path: Path, sheet_name: str, table: list[list[Any]]) -> None:
    """A one-sheet workbook with a shared-string table, as Excel saves it."""
    strings: dict[str, int] = {}
    sheet_rows = []
    for r, row in enumerate(table, start=1):
        cells = []
        for col, value in enumerate(row):
            ref = f"{_column_letter(col)}{r}"
            if isinstance(value, str):
                index = strings.setdefault(value, len(strings))
                cells.append(f'<c r="{ref}" t="s"><v>{index}</v></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        sheet_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    overrides = {
        "/xl/workbook.xml": f"{_SML}.sheet.main+xml",
        "/xl/worksheets/sheet1.xml": f"{_SML}.worksheet+xml",
        "/xl/sharedStrings.xml": f"{_SML}.sharedStrings+xml",
    }
    content_types = (
        f'{_XML}<Types xmlns="{_PACKAGE}/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{n}" ContentType="{t}"/>' for n, t in overrides.items())
        + "</Types>"
    )
    shared = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    parts = {
        "[Content_Types].xml": content_types,
        "_rels/.rels": _relationships(("officeDocument", "xl/workbook.xml")),
        "xl/_rels/workbook.xml.rels": _relationships(
            ("worksheet", "worksheets/sheet1.xml"), ("sharedStrings", "sharedStrings.xml")
        ),
        "xl/workbook.xml": (
            f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}"><sheets>'
            f'<sheet name="{escape(sheet_name)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'{_XML}<worksheet xmlns="{_MAIN}"><sheetData>{"".join(sheet_rows)}</sheetData>'
            "</worksheet>"
        ),
        "xl/sharedStrings.xml": (
            f'{_XML}<sst xmlns="{_MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'
            f"{shared}</sst>"
        ),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, xml in parts.items():
            zf.writestr(name, xml)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


# ---------------------------------------------------------------- images


def text_image(text: str, font_size: int = 48, width: int | None = None) -> Image.Image:
    """Black text on white in DejaVu Sans, large enough for Tesseract to read reliably."""
    font = ImageFont.truetype(FONT_PATH, font_size)
    lines = text.split("\n")
    line_height = int(font_size * 1.5)
    text_width = max(int(font.getlength(line)) for line in lines)
    image = Image.new(
        "L", (width or text_width + 2 * font_size, (len(lines) + 2) * line_height), 255
    )
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((font_size, (i + 1) * line_height), line, font=font, fill=0)
    return image


def make_text_png(path: Path, text: str, size: int = 48) -> Path:
    text_image(text, font_size=size).save(path, format="PNG")
    return path


def make_rotated_jpeg_with_exif(path: Path, text: str, size: int = 48) -> Path:
    """A JPEG stored on its side with EXIF Orientation 6 ("rotate 90° clockwise to view"),
    as phones save photos; only a reader that applies the orientation sees upright text."""
    stored = text_image(text, font_size=size).convert("RGB").rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    stored.save(path, format="JPEG", quality=95, exif=exif)
    return path


def make_huge_image(path: Path, width: int = 30_000, height: int = 30_000) -> Path:
    """A valid, tiny (~100 KB) 1-bit PNG that decodes to width×height pixels."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    rows_per_step = max(1, MB // len(row))
    idat = bytearray()
    for start in range(0, height, rows_per_step):
        idat += compressor.compress(row * min(rows_per_step, height - start))
    idat += compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", bytes(idat))
        + _png_chunk(b"IEND", b"")
    )
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# ---------------------------------------------------------------- hostile and broken files


def make_zip_bomb_docx(path: Path, uncompressed_bytes: int = 300 * MB) -> Path:
    """A DOCX-shaped zip whose one member inflates to `uncompressed_bytes` of zeros.

    Written in 1 MB steps, so the test needs neither the memory nor the disk (~0.3 MB).
    """
    zeros = bytes(MB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with zf.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(uncompressed_bytes // MB):
                member.write(zeros)
    return path


def make_truncated(source: Path, path: Path, keep: float = 0.5) -> Path:
    """The first `keep` fraction of `source`, like an interrupted upload."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def make_exe(path: Path) -> Path:
    """A Windows executable header (what a renamed .exe starts with)."""
    path.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200))
    return path


def make_ole2_doc(path: Path) -> Path:
    """The header of a legacy .doc/.xls (OLE2 compound file)."""
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    return path


def make_plain_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "Просто архив")
    return path


def make_empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


# ---------------------------------------------------------------- Russian product text

_SKU_PREFIXES = ["XL", "TS", "KR", "MB", "DV", "SP"]
_PRODUCTS = [
    "Футболка",
    "Кружка",
    "Толстовка",
    "Рюкзак",
    "Куртка",
    "Блокнот",
    "Чайник",
    "Подушка",
    "Плед",
    "Сумка",
    "Кроссовки",
    "Шапка",
    "Зонт",
    "Термос",
    "Лампа",
]
_ADJECTIVES = [
    "хлопковая",
    "керамическая",
    "тёплая",
    "городской",
    "зимняя",
    "детский",
    "электрический",
    "льняная",
    "шерстяной",
    "кожаная",
    "беговые",
    "вязаная",
]
_CATEGORIES = ["Одежда", "Посуда", "Аксессуары", "Обувь", "Дом и уют", "Канцтовары"]
_COLOURS = ["белый", "чёрный", "красный", "синий", "зелёный", "серый", "бежевый"]
_SIZES = ["XS", "S", "M", "L", "XL", "XXL", "один размер"]
_PHRASES = [
    "подходит для ежедневного использования",
    "доставка по Москве за один день",
    "гарантия качества двенадцать месяцев",
    "можно вернуть в течение двух недель",
    "производство Россия",
    "упаковка из переработанного картона",
    "скидка при заказе от пяти штук",
    "в наличии на складе в Санкт-Петербурге",
    "бережная стирка при сорока градусах",
    "подарочная упаковка бесплатно",
]


def _product_sentence(rng: random.Random) -> str:
    return (
        f"{rng.choice(_PRODUCTS)} {rng.choice(_ADJECTIVES)}, цвет {rng.choice(_COLOURS)}: "
        f"{rng.choice(_PHRASES)}, {rng.choice(_PHRASES)}; цена {rng.randrange(100, 99_000)} ₽."
    )
