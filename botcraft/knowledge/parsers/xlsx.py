"""XLSX: every visible sheet, one passage per row as `header: value; ...` (python-calamine)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from python_calamine import (
    CalamineError,
    CalamineWorkbook,
    PasswordError,
    SheetTypeEnum,
    SheetVisibleEnum,
)

from botcraft.i18n import N_
from botcraft.knowledge.parsers.base import (
    Deadline,
    Extraction,
    ExtractionError,
    ExtractLimits,
    Passage,
    clean_inline,
)
from botcraft.knowledge.parsers.zipguard import check_zip

_Cell = str | float | int | bool | dt.date | dt.datetime | dt.time | dt.timedelta
_CHECK_EVERY_ROWS = 5000
_DAMAGED = N_("The XLSX file is damaged or incomplete. Open it in Excel, save it again and re-upload.")


def parse_xlsx(path: Path, limits: ExtractLimits) -> Extraction:
    check_zip(path, limits, "XLSX")
    deadline = Deadline(limits.time_limit_s)
    try:
        with CalamineWorkbook.from_path(path) as workbook:
            passages: list[Passage] = []
            for meta in workbook.sheets_metadata:
                # Hidden sheets are skipped: owners hide what they keep for themselves
                # (purchase prices, margins), which an assistant must not quote to customers.
                # Chart and macro sheets hold no rows of text.
                if meta.visible != SheetVisibleEnum.Visible or meta.typ != SheetTypeEnum.WorkSheet:
                    continue
                deadline.check()
                sheet = workbook.get_sheet_by_name(meta.name)
                if sheet.start is None:
                    continue
                first_row = sheet.start[0] + 1  # to_python() starts at the first used row
                passages.extend(_sheet_rows(meta.name, sheet.to_python(), first_row, deadline))
    except PasswordError as exc:
        raise ExtractionError(
            "The XLSX file is password-protected; remove the password and upload it again."
        ) from exc
    except CalamineError as exc:
        raise ExtractionError(_DAMAGED) from exc
    return Extraction(passages=passages, pages=None)


def _sheet_rows(
    sheet: str, rows: list[list[_Cell]], first_row: int, deadline: Deadline
) -> list[Passage]:
    """Rows above the header (titles) stay plain; rows below become `header: value; ...`.

    A row with a single value under a multi-column header is a section title ("Напитки");
    it is kept, and the rows after it carry it, so each row remains a self-contained fact.
    """
    header_at = _header_index(rows)
    if header_at is None:
        return []
    no_labels = [""] * len(rows[header_at])  # calamine pads every row to the sheet's width
    labels = [f"{name}: " if name else "" for name in map(_format, rows[header_at])]
    named_columns = sum(1 for label in labels if label)
    passages: list[Passage] = []
    section = ""
    for index, row in enumerate(rows):
        if index % _CHECK_EVERY_ROWS == 0:
            deadline.check()
        if index == header_at:
            continue
        above_header = index < header_at
        fields = _fields(no_labels if above_header else labels, row)
        if not fields:
            continue
        if not above_header:
            if len(fields) == 1 and named_columns >= 2:
                section = fields[0] = _fields(no_labels, row)[0]
            elif section:
                fields[0] = f"{section}. {fields[0]}"
        # Inner whitespace and control characters are cleaned once per row, not per cell.
        text = clean_inline("; ".join(fields))
        passages.append(Passage(text, "row", sheet=sheet, row=first_row + index))
    return passages


def _fields(labels: list[str], row: list[_Cell]) -> list[str]:
    """`label + value` for every non-empty cell of a row.

    This runs once per cell of the workbook, so strings (the common case) skip _format.
    """
    return [
        label + text
        for label, value in zip(labels, row, strict=True)
        if value != "" and (text := value.strip() if type(value) is str else _format(value))
    ]


def _header_index(rows: list[list[_Cell]]) -> int | None:
    """The first row with two or more values; a one-column sheet uses its first value."""
    first_non_empty = None
    for index, row in enumerate(rows):
        filled = sum(1 for value in map(_format, row) if value)
        if filled >= 2:
            return index
        if filled and first_non_empty is None:
            first_non_empty = index
    return first_non_empty


def _format(value: _Cell) -> str:
    # Ordered by how often each type occurs in price lists; this runs once per cell.
    if type(value) is str:
        return value.strip()
    if type(value) is float:
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return f"{value:.15g}"  # Excel's display precision: 0.1+0.2 shows as 0.3
    if type(value) is bool:
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes" if not value.second else "seconds")
    if isinstance(value, dt.time):
        return value.isoformat(timespec="minutes" if not value.second else "seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)  # int, timedelta
