"""Spreadsheet downloads: rows as an Excel workbook (.xlsx), every text cell neutralised.

The CSV downloads (:func:`review.indicators.to_csv`, the queue's CSV) and this
workbook write the same cells: identity numbers masked, and text that a
spreadsheet would take for a formula (``=``, ``+``, ``-``, ``@``...) prefixed
with ``'`` by :func:`review.indicators.neutralise_cell`. Text is written as
text (never as a formula), numbers as numbers; times stay UTC as in every export.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from review.indicators import neutralise_cell
from settlement.idnumber import mask_identity_numbers

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_cell(value: Any) -> Any:
    """A cell as the workbook gets it: masked, neutralised text, or a number, or empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return value
    return neutralise_cell(mask_identity_numbers(str(value)))


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str = "export") -> bytes:
    """``header`` and ``rows`` as one worksheet of an .xlsx workbook.

    Written row by row (XlsxWriter's constant-memory mode), so a filter of
    100,000 claims does not hold every cell in memory.
    """
    import xlsxwriter

    output = io.BytesIO()
    # strings_to_formulas/urls/numbers off as well: even a write() could not turn
    # text into a formula, a link or a number.
    workbook = xlsxwriter.Workbook(
        output,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    worksheet = workbook.add_worksheet(sheet)
    bold = workbook.add_format({"bold": True})
    for col, name in enumerate(header):
        worksheet.write_string(0, col, neutralise_cell(str(name)), bold)
    worksheet.freeze_panes(1, 0)
    for row_number, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            cell = xlsx_cell(value)
            if isinstance(cell, str):
                if cell:
                    worksheet.write_string(row_number, col, cell)
            else:
                worksheet.write_number(row_number, col, cell)
    workbook.close()
    return output.getvalue()
