"""Strict loader for a treatment region's catalogue, ``<region>.catalogue.csv`` (spec 8.4).

Columns ``code,category,self_pay,price_ceiling,effective_from`` (that exact
header); a broken file is refused like a broken policy, naming the file, the
line and column, and what would be valid. Numbers are read from their text.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from datetime import date
from pathlib import Path

from settlement.errors import PolicyError
from settlement.money import AmountError, parse_ratio_text, parse_yuan_text, shown
from settlement.policy import CATALOGUE_CATEGORIES, Catalogue, CatalogueRow

CATALOGUE_SUFFIX = ".catalogue.csv"
CATALOGUE_HEADER = ("code", "category", "self_pay", "price_ceiling", "effective_from")
#: The largest catalogue file read, in bytes (a city's catalogue is some MiB).
MAX_CATALOGUE_FILE_BYTES = 64 << 20
_REGION = re.compile(r"[0-9]{6}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def load_catalogue_file(path: str | Path) -> Catalogue:
    """Load and validate one catalogue file. Raises PolicyError naming file, line and column."""
    path = Path(path)
    file = str(path)
    region = path.name[: -len(CATALOGUE_SUFFIX)]
    if not _REGION.fullmatch(region):
        raise PolicyError(
            file, "", "a catalogue file is named <region>.catalogue.csv with a 6-digit region"
        )
    try:
        size = path.stat().st_size
        if size > MAX_CATALOGUE_FILE_BYTES:
            raise PolicyError(
                file, "", f"is {size} bytes, over the limit of {MAX_CATALOGUE_FILE_BYTES} bytes"
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(file, "", f"cannot be read: {exc}") from exc
    try:
        lines = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise PolicyError(file, "", f"is not valid CSV: {exc}") from None
    if not lines or tuple(lines[0]) != CATALOGUE_HEADER:
        hint = ""
        if lines and lines[0] and lines[0][0].startswith("\ufeff"):
            hint = " (the file starts with a byte-order mark: save it as UTF-8 without one)"
        raise PolicyError(
            file, "line 1", f"the header must be exactly {','.join(CATALOGUE_HEADER)}{hint}"
        )
    rows: dict[str, list[CatalogueRow]] = {}
    seen: dict[tuple[str, date], int] = {}
    for number, cells in enumerate(lines[1:], start=2):
        if not cells:
            continue  # a blank line
        code, row = _row(file, number, cells)
        earlier = seen.get((code, row.effective_from))
        if earlier is not None:
            raise PolicyError(
                file,
                f"line {number}.effective_from",
                f"code {shown(code)} already has a row dated {row.effective_from} on line"
                f" {earlier}; each code needs one row per date",
            )
        seen[(code, row.effective_from)] = number
        rows.setdefault(code, []).append(row)
    for dated in rows.values():
        dated.sort(key=lambda r: r.effective_from)
    return Catalogue(region=region, rows=rows, source=file)


def _row(file: str, number: int, cells: list[str]) -> tuple[str, CatalogueRow]:
    def fail(column: str, problem: str) -> PolicyError:
        return PolicyError(file, f"line {number}.{column}" if column else f"line {number}", problem)

    if len(cells) != len(CATALOGUE_HEADER):
        raise fail("", f"has {len(cells)} columns; a row has the 5 of the header")
    code, category, self_pay_text, ceiling_text, day_text = cells
    if not code:
        raise fail("code", "is empty; give the item code")
    if category not in CATALOGUE_CATEGORIES:
        raise fail("category", f"must be A, B or C, got {shown(category)}")
    self_pay = None
    if self_pay_text:
        try:
            self_pay = parse_ratio_text(self_pay_text)
        except AmountError as exc:
            raise fail(
                "self_pay", f"{exc}; a ratio is from 0 to 1 with at most 4 decimals, or empty"
            ) from None
    ceiling = None
    if ceiling_text:
        try:
            ceiling = parse_yuan_text(ceiling_text)
        except AmountError as exc:
            raise fail(
                "price_ceiling",
                f"{exc}; a price ceiling is yuan per unit with at most 2 decimals, or empty",
            ) from None
    day = None
    if _ISO_DATE.fullmatch(day_text):
        with contextlib.suppress(ValueError):  # an impossible date such as 2026-02-30
            day = date.fromisoformat(day_text)
    if day is None:
        raise fail("effective_from", f"must be a date written YYYY-MM-DD, got {shown(day_text)}")
    return code, CatalogueRow(day, category, self_pay, ceiling)
