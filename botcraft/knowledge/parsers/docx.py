"""DOCX: headings, paragraphs and table rows in document order (python-docx's XML tree)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docx
from docx.oxml.ns import nsmap, qn
from lxml import etree

from botcraft.knowledge.parsers.base import (
    Deadline,
    Extraction,
    ExtractionError,
    ExtractLimits,
    Passage,
    clean_inline,
    clean_text,
)
from botcraft.knowledge.parsers.zipguard import check_zip

_P, _TBL, _TR, _TC = qn("w:p"), qn("w:tbl"), qn("w:tr"), qn("w:tc")
# Containers whose children are body content in their own right (content controls, custom XML).
_TRANSPARENT = {qn("w:sdt"), qn("w:sdtContent"), qn("w:customXml")}
_VAL = qn("w:val")
_T, _TAB, _BR, _CR, _NB_HYPHEN = (
    qn("w:t"),
    qn("w:tab"),
    qn("w:br"),
    qn("w:cr"),
    qn("w:noBreakHyphen"),
)
_RUN_TEXT = {_TAB: " ", _BR: "\n", _CR: "\n", _NB_HYPHEN: "-"}
_NS = {"w": nsmap["w"], "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006"}
# Run content of a paragraph, text boxes included, but not the legacy (VML) copy that Word
# stores beside each text box in mc:Fallback: that would repeat the text.
_RUN_PARTS = etree.XPath(
    ".//w:r/*[self::w:t or self::w:tab or self::w:br or self::w:cr or self::w:noBreakHyphen]"
    "[not(ancestor::mc:Fallback)]",
    namespaces=_NS,
)
_CELL_PARAGRAPHS = etree.XPath(".//w:p[not(ancestor::mc:Fallback)]", namespaces=_NS)
_GRID_SPAN = etree.XPath("string(w:tcPr/w:gridSpan/@w:val)", namespaces=_NS)
_P_STYLE = etree.XPath("string(w:pPr/w:pStyle/@w:val)", namespaces=_NS)
_P_OUTLINE = etree.XPath("string(w:pPr/w:outlineLvl/@w:val)", namespaces=_NS)
_BODY_TEXT_LEVEL = 9  # outline level 9 means "body text"; 0-8 are heading levels
_HEADING_NAMES = ("heading", "заголовок", "title")


def parse_docx(path: Path, limits: ExtractLimits) -> Extraction:
    check_zip(path, limits, "DOCX")
    deadline = Deadline(limits.time_limit_s)
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises KeyError/ValueError/lxml errors alike
        raise ExtractionError(
            "The DOCX file is damaged or is not a Word document. "
            "Open it in Word, save it again and re-upload."
        ) from exc
    headings = _heading_styles(document.styles.element)
    passages: list[Passage] = []
    for element in _blocks(document.element.body):
        deadline.check()
        if element.tag == _P:
            passage = _paragraph(element, headings)
            if passage is not None:
                passages.append(passage)
        else:
            passages.extend(_table(element))
    return Extraction(passages=passages, pages=None)


def _blocks(container: etree._Element) -> Iterator[etree._Element]:
    """Paragraphs and tables of the body, in document order."""
    for child in container.iterchildren():
        if child.tag in (_P, _TBL):
            yield child
        elif child.tag in _TRANSPARENT:
            yield from _blocks(child)


def _paragraph(p: etree._Element, headings: set[str]) -> Passage | None:
    text = _paragraph_text(p)
    if not text:
        return None
    if _P_STYLE(p) in headings or _is_heading_level(_P_OUTLINE(p)):
        return Passage(clean_inline(text), "heading")
    return Passage(text, "paragraph")


def _paragraph_text(p: etree._Element) -> str:
    return clean_text("".join(_RUN_TEXT.get(e.tag, e.text or "") for e in _RUN_PARTS(p)))


def _table(tbl: etree._Element) -> list[Passage]:
    rows = [_row_cells(tr) for tr in tbl.iterchildren(_TR)]
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    if max(len(row) for row in rows) == 1:
        # A one-column table is a framed block of text, not records with fields.
        return [Passage(row[0], "paragraph") for row in rows if row[0]]
    if len(rows) == 1:
        return [Passage("; ".join(cell for cell in rows[0] if cell), "table_row")]
    header, *body = rows
    passages = []
    for row in body:
        fields = []
        for i, value in enumerate(row):
            if not value:
                continue
            name = header[i] if i < len(header) else ""
            fields.append(f"{name}: {value}" if name and name != value else value)
        passages.append(Passage("; ".join(fields), "table_row"))
    return passages


def _row_cells(tr: etree._Element) -> list[str]:
    """Cell texts on the table grid: a cell spanning n columns is followed by n-1 blanks."""
    cells: list[str] = []
    for tc in tr.iterchildren(_TC):
        text = " ".join(filter(None, (_paragraph_text(p) for p in _CELL_PARAGRAPHS(tc))))
        cells.append(clean_inline(text))
        span = _GRID_SPAN(tc)
        if span.isdigit() and int(span) > 1:
            cells.extend([""] * (int(span) - 1))
    return cells


def _heading_styles(styles: etree._Element) -> set[str]:
    """Ids of paragraph styles that are headings by name or outline level, with inheritance."""
    by_id: dict[str, tuple[str, str, str]] = {}  # id -> (name, outline level, based on)
    for style in styles.iterchildren(qn("w:style")):
        style_id = style.get(qn("w:styleId"))
        if not style_id:
            continue
        name = style.find(qn("w:name"))
        based_on = style.find(qn("w:basedOn"))
        by_id[style_id] = (
            (name.get(_VAL) or "") if name is not None else "",
            _P_OUTLINE(style),
            (based_on.get(_VAL) or "") if based_on is not None else "",
        )

    def is_heading(style_id: str, depth: int = 0) -> bool:
        if style_id not in by_id or depth > 20:  # basedOn chains can be cyclic in bad files
            return False
        name, level, based_on = by_id[style_id]
        if name.casefold().startswith(_HEADING_NAMES) or _is_heading_level(level):
            return True
        return bool(based_on) and is_heading(based_on, depth + 1)

    return {style_id for style_id in by_id if is_heading(style_id)}


def _is_heading_level(level: str) -> bool:
    return level.isdigit() and int(level) < _BODY_TEXT_LEVEL
