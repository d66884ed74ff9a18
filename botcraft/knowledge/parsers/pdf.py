"""PDF: the text layer page by page (pypdfium2); pages without one are rendered and OCRed."""

from __future__ import annotations

import math
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from botcraft.i18n import N_
from botcraft.knowledge.parsers.base import (
    Deadline,
    Extraction,
    ExtractionError,
    ExtractLimits,
    Passage,
    clean_text,
)
from botcraft.knowledge.parsers.image import ocr_image

# Fewer visible characters than this on a page that draws something means a scan
# (page numbers or a stamp may sit on top of the scanned image).
_MIN_TEXT_CHARS = 20
_OCR_DPI = 300


def parse_pdf(path: Path, limits: ExtractLimits) -> Extraction:
    deadline = Deadline(limits.time_limit_s)
    pdf = _open(path)
    try:
        count = len(pdf)
        if count > limits.max_pages:
            raise ExtractionError(
                N_("The PDF has {count} pages; at most {limit} are accepted. Split it into smaller files "
                   "and upload them separately.").format(count=count, limit=limits.max_pages)
            )
        passages: list[Passage] = []
        for index in range(count):
            deadline.check()
            passage = _read_page(pdf, index, limits, deadline)
            if passage is not None:
                passages.append(passage)
        return Extraction(passages=passages, pages=count)
    finally:
        pdf.close()


def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise ExtractionError(
                "The PDF is password-protected; remove the password and upload it again."
            ) from exc
        if exc.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise ExtractionError(
                "The PDF is protected with an unsupported kind of encryption; "
                "save it without protection and upload it again."
            ) from exc
        raise ExtractionError(
            "The PDF is damaged or incomplete and cannot be read. "
            "Save or export it again and re-upload."
        ) from exc


def _read_page(
    pdf: pdfium.PdfDocument, index: int, limits: ExtractLimits, deadline: Deadline
) -> Passage | None:
    try:
        page = pdf[index]
    except pdfium.PdfiumError:
        return None  # one broken page should not cost the owner the rest of the document
    try:
        text = _text_layer(page)
        kind = "page_text"
        # A page that draws nothing (a blank separator) is not worth a render and OCR.
        if _visible_chars(text) < _MIN_TEXT_CHARS and pdfium_c.FPDFPage_CountObjects(page.raw):
            ocr = clean_text(
                ocr_image(_render(page, limits), limits.ocr_languages, deadline.remaining())
            )
            if ocr:
                text, kind = ocr, "ocr"
        return Passage(text, kind, page=index + 1) if text else None
    finally:
        page.close()


def _text_layer(page: pdfium.PdfPage) -> str:
    try:
        textpage = page.get_textpage()
    except pdfium.PdfiumError:
        return ""
    try:
        return clean_text(textpage.get_text_range())
    finally:
        textpage.close()


def _render(page: pdfium.PdfPage, limits: ExtractLimits) -> Image.Image:
    width, height = page.get_size()
    scale = _OCR_DPI / 72
    # A huge page size at 300 dpi is a memory bomb: cap the bitmap at the image pixel limit.
    if width * height * scale * scale > limits.max_image_pixels:
        scale = math.sqrt(limits.max_image_pixels / max(width * height, 1))
    # The PIL image shares the bitmap's buffer, so the bitmap is left to the GC.
    return page.render(scale=scale, grayscale=True).to_pil()


def _visible_chars(text: str) -> int:
    return len(text) - text.count(" ") - text.count("\n")
