"""Reference data for the pages: names of items, diagnoses and areas beside their codes.

Loaded once per app from the CSV files of ``review/reference_data/`` (shipped
with the package; see its README), strictly: a file with an unknown or missing
column, a repeated code or a bad price is refused, naming file, line and field.
A code the files do not know is shown alone.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path

from review.errors import ReferenceDataError
from settlement.money import parse_amount

DATA_DIR = Path(__file__).resolve().parent / "reference_data"

_COLUMNS = {
    "items.csv": ("code", "name_zh", "name_en", "category", "unit_price_yuan", "source"),
    "diagnoses.csv": ("code", "name_zh", "name_en", "source"),
    "areas.csv": ("code", "name_zh", "name_en", "source"),
}
_CODE = re.compile(r"[A-Z0-9][A-Z0-9.]{0,31}")
#: A designated institution's id: ``H`` + the 6-digit area code of where it is + a serial.
_HOSPITAL_AREA = re.compile(r"H([0-9]{6})")


@dataclass(frozen=True)
class Name:
    """A code's name in Chinese and English."""

    code: str
    zh: str
    en: str

    def text(self) -> str:
        """``zh en`` (one of them when the other is empty)."""
        return " ".join(part for part in (self.zh, self.en) if part)


@dataclass(frozen=True)
class Item(Name):
    """A catalogue item: its names, category and catalogue unit price in fen."""

    category: str = ""
    unit_price_fen: int | None = None


@dataclass(frozen=True)
class Reference:
    """Names by code; each lookup answers None for a code it does not know."""

    items: dict[str, Item]
    diagnoses: dict[str, Name]
    areas: dict[str, Name]

    def item(self, code: object) -> Item | None:
        return self.items.get(code) if isinstance(code, str) else None

    def diagnosis(self, code: object) -> Name | None:
        """An ICD-10 code's name; a code under a known category gets the category's."""
        if not isinstance(code, str):
            return None
        found = self.diagnoses.get(code)
        if found is None and "." in code:
            found = self.diagnoses.get(code.split(".", 1)[0])
        return found

    def area(self, code: object) -> Name | None:
        return self.areas.get(code) if isinstance(code, str) else None

    def hospital_area(self, hospital_id: object) -> Name | None:
        """Where a hospital is, from the area code its id starts with (``H440106…``)."""
        if not isinstance(hospital_id, str):
            return None
        match = _HOSPITAL_AREA.match(hospital_id)
        return self.areas.get(match.group(1)) if match else None


def _rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    columns = _COLUMNS[path.name]
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or sorted(header) != sorted(columns) or len(set(header)) != len(header):
            raise ReferenceDataError(
                f"{path.name}: line 1: the header must name exactly {', '.join(columns)}"
                f" (got {', '.join(header or [])})"
            )
        rows = []
        for cells in reader:
            line = reader.line_num
            if not cells:
                continue
            if len(cells) != len(header):
                raise ReferenceDataError(
                    f"{path.name}: line {line}: {len(cells)} cells, the header has {len(header)}"
                )
            rows.append((line, dict(zip(header, (c.strip() for c in cells), strict=True))))
    return rows


def _names(path: Path) -> dict[str, Name]:
    out: dict[str, Name] = {}
    for line, row in _rows(path):
        code = _checked_code(path, line, row, out)
        out[code] = Name(code, row["name_zh"], row["name_en"])
    return out


def _checked_code(path: Path, line: int, row: dict[str, str], seen: Container[str]) -> str:
    code = row["code"]
    if not _CODE.fullmatch(code):
        raise ReferenceDataError(
            f"{path.name}: line {line}: code: {code!r} is not a code (A-Z, 0-9 and '.')"
        )
    if code in seen:
        raise ReferenceDataError(f"{path.name}: line {line}: code: {code} is given twice")
    if not (row["name_zh"] or row["name_en"]):
        raise ReferenceDataError(f"{path.name}: line {line}: name_zh, name_en: both empty")
    if not row["source"]:
        raise ReferenceDataError(f"{path.name}: line {line}: source: required")
    return code


def _items(path: Path) -> dict[str, Item]:
    out: dict[str, Item] = {}
    for line, row in _rows(path):
        code = _checked_code(path, line, row, out)
        price: int | None = None
        if row["unit_price_yuan"]:
            try:
                price = parse_amount(row["unit_price_yuan"])
            except ValueError:  # AmountError: not numeric, negative, too many decimals
                raise ReferenceDataError(
                    f"{path.name}: line {line}: unit_price_yuan: {row['unit_price_yuan']!r} is "
                    "not an amount in yuan (at most 2 decimals, not negative)"
                ) from None
        out[code] = Item(code, row["name_zh"], row["name_en"], row["category"], price)
    return out


def load_reference(directory: Path | None = None) -> Reference:
    """The reference files of ``directory`` (the shipped ones by default); absent files are empty.

    Raises:
        ReferenceDataError: a file is malformed (the message names file, line and field).
    """
    folder = directory or DATA_DIR

    def present(name: str) -> Path | None:
        path = folder / name
        return path if path.is_file() else None

    items, diagnoses, areas = (present(n) for n in ("items.csv", "diagnoses.csv", "areas.csv"))
    return Reference(
        items=_items(items) if items else {},
        diagnoses=_names(diagnoses) if diagnoses else {},
        areas=_names(areas) if areas else {},
    )
