"""XLSX: every visible sheet, one passage per row as `header: value; ...` (python-calamine)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetVisibleEnum

from botcraft.knowledge.parsers.base import (
    Deadline,
    ExtractionError,
    Extraction,
    ExtractLimits,
    Passage,
    clean_inline,
)
from botcraft.knowledge.parsers.zipguard import check_zip

_Cell = str | float | int | bool | dt.date | dt.datetime | dt.time | dt.timedelta
_CHECK_EVERY_ROWS = 5000
_DAMAGED = "The XLSX file is damaged or incomplete. Open it in Excel, save it again and re-upload."


def parse_xlsx(path: Path, limits: ExtractLimits) -> Extraction:
    check_zip(path, limits, "XLSX")
    deadline = Deadline(limits.time_limit_s)
    try:
        with CalamineWorkbook.from_path(path) as workbook:
            passages: list[Passage] = []
            for meta in workbook.sheets_metadata:
                # Owners hide sheets they keep for themselves (purchase prices, margins);
                # an assistant must not quote them to customers.
                if meta.visible != SheetVisibleEnum.Visible:
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
    cells = [[_format(value) for value in row] for row in rows]
    header_at = _header_index(cells)
    header = cells[header_at] if header_at is not None else []
    named_columns = sum(1 for name in header if name)
    passages: list[Passage] = []
    section = ""
    for index, values in enumerate(cells):
        if index % _CHECK_EVERY_ROWS == 0:
            deadline.check()
        if index == header_at:
            continue
        present = [(col, value) for col, value in enumerate(values) if value]
        if not present:
            continue
        row_number = first_row + index
        if header_at is None or index < header_at:
            text = "; ".join(value for _, value in present)
        elif len(present) == 1 and named_columns >= 2:
            section = text = present[0][1]
        else:
            fields = "; ".join(
                f"{header[col]}: {value}" if col < len(header) and header[col] else value
                for col, value in present
            )
            text = f"{section}. {fields}" if section else fields
        passages.append(Passage(text, "row", sheet=sheet, row=row_number))
    return passages


def _header_index(cells: list[list[str]]) -> int | None:
    """The first row with two or more values; a one-column sheet uses its first value."""
    first_non_empty = None
    for index, values in enumerate(cells):
        filled = sum(1 for value in values if value)
        if filled >= 2:
            return index
        if filled and first_non_empty is None:
            first_non_empty = index
    return first_non_empty


def _format(value: _Cell) -> str:
    # Ordered by how often each type occurs in price lists; this runs once per cell.
    if type(value) is str:
        return clean_inline(value) if value else ""
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
