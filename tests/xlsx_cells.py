"""Read back the cells of an .xlsx the review app wrote: the standard library only.

An .xlsx is a zip of XML parts; this reads the first worksheet's cells (shared
or inline strings, numbers) and tells whether any cell holds a formula, so the
tests check the file itself rather than trust the library that wrote it.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.etree import ElementTree

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def _column(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref)
    assert letters is not None, ref
    number = 0
    for char in letters.group(0):
        number = number * 26 + ord(char) - ord("A") + 1
    return number - 1


def read_sheet(data: bytes) -> tuple[list[list[object]], int]:
    """The first worksheet's rows (text as str, numbers as float) and its formula count."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        shared: list[str] = []
        if "xl/sharedStrings.xml" in book.namelist():
            root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")) for si in root]
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows: list[list[object]] = []
    formulas = 0
    for row in sheet.iter(f"{{{NS['m']}}}row"):
        cells: list[object] = []
        for cell in row.iter(f"{{{NS['m']}}}c"):
            col = _column(cell.get("r", "A"))
            cells.extend([""] * (col - len(cells)))
            if cell.find("m:f", NS) is not None:
                formulas += 1
            kind = cell.get("t")
            value = cell.find("m:v", NS)
            if kind == "s":
                cells.append(shared[int(value.text or 0)] if value is not None else "")
            elif kind == "inlineStr":
                cells.append("".join(t.text or "" for t in cell.iter(f"{{{NS['m']}}}t")))
            elif kind == "str":
                cells.append(value.text if value is not None else "")
            else:
                cells.append(float(value.text) if value is not None and value.text else "")
        rows.append(cells)
    return rows, formulas
