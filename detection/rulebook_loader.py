"""Strict loader of a rule catalogue directory (layout: docs/rules.md).

A directory holds ``rules.csv`` (the rule base), optionally ``red_flags.csv``
and one knowledge table per logic (``restriction.csv``, ``quantity.csv``...).
Every file must have exactly its documented columns; every cell is checked.
A broken file is refused with :class:`~detection.errors.RuleBookError` naming
the file, the line, the field and what would be valid; nothing loads half.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from detection.errors import RuleBookError
from detection.rulebook import (
    LOGICS,
    OPEN_END,
    RESULTS,
    SCENARIOS,
    SCHEMES,
    SETTINGS,
    SEXES,
    STAGES,
    WINDOWS_BY_LOGIC,
    KnowledgeRow,
    RedFlagCode,
    Rule,
    RuleBook,
    Window,
    build_book,
)
from settlement.money import AmountError, parse_amount

#: The bundled, illustrative catalogue.
BUNDLED_DIR = Path(__file__).resolve().parent / "rule_tables"

RULE_COLUMNS = (
    "rule_code",
    "name",
    "logic",
    "result",
    "window",
    "scenario",
    "stage",
    "schemes",
    "effective_from",
    "effective_to",
    "source",
)
RED_FLAG_COLUMNS = ("rule_code", "flag", "name", "result", "source")
COMMON_COLUMNS = (
    "rule_code",
    "item_code",
    "item_name",
    "region",
    "effective_from",
    "effective_to",
    "source",
)
#: Each knowledge table's own columns, after the common ones.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "restriction": ("sex", "age_min", "age_max", "indications", "settings", "levels", "schemes"),
    "quantity": ("max_per_day", "max_per_stay"),
    "course": ("course_days", "break_days"),
    "frequency": ("max_count",),
    "price_ceiling": ("ceiling_yuan", "levels"),
    "mutual_exclusion": ("excluded_code", "excluded_name"),
    "unbundling": ("parts", "package_yuan", "min_parts"),
    "prerequisite": ("required_code", "required_name"),
}
#: The column holding a pair table's second code.
OTHER_CODE_COLUMN = {"mutual_exclusion": "excluded_code", "prerequisite": "required_code"}

_RULE_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,31}")
_ITEM_CODE = re.compile(r"[A-Z0-9]{1,32}")
_REGION = re.compile(r"[0-9]{6}")
_ICD_PREFIX = re.compile(r"[A-Z][0-9A-Z]{0,2}(\.[0-9A-Z]{0,4})?")
_DAYS_WINDOW = re.compile(r"([1-9][0-9]{0,2})d")
_FLAG = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_MAX_AGE = 150
_MAX_COUNT = 100_000


class _Cells:
    """One CSV record being read: every error names the file, the line and the field."""

    def __init__(self, file: str, line: int, record: dict[str, str]) -> None:
        self.file = file
        self.line = line
        self.record = record

    def fail(self, column: str, problem: str) -> RuleBookError:
        return RuleBookError(f"{self.file}: line {self.line}: {column}: {problem}")

    def text(self, column: str, required: bool = True) -> str:
        value = self.record[column].strip()
        if required and not value:
            raise self.fail(column, "is empty; a value is required")
        return value

    def match(self, column: str, pattern: re.Pattern[str], what: str, required: bool = True) -> str:
        value = self.text(column, required)
        if value and not pattern.fullmatch(value):
            raise self.fail(column, f"{value!r} is not {what}")
        return value

    def day(self, column: str, required: bool = True) -> date | None:
        value = self.text(column, required)
        if not value:
            return None
        try:
            if len(value) != 10:
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            raise self.fail(column, f"{value!r} is not a date written YYYY-MM-DD") from None

    def integer(self, column: str, low: int, high: int, required: bool = True) -> int | None:
        value = self.text(column, required)
        if not value:
            return None
        if not value.isdigit() or not low <= int(value) <= high:
            raise self.fail(column, f"{value!r} is not a whole number from {low} to {high}")
        return int(value)

    def money(self, column: str) -> int:
        value = self.text(column)
        try:
            return parse_amount(value)
        except AmountError as exc:
            raise self.fail(column, f"{value!r} is not an amount in yuan ({exc})") from None

    def choices(
        self, column: str, allowed: tuple[str, ...], required: bool = False
    ) -> frozenset[str]:
        value = self.text(column, required)
        if not value:
            return frozenset()
        picked = [v.strip() for v in value.split(";")]
        for v in picked:
            if v not in allowed:
                raise self.fail(column, f"{v!r} is not one of {'; '.join(allowed)}")
        if len(set(picked)) != len(picked):
            raise self.fail(column, f"{value!r} lists a value twice")
        return frozenset(picked)

    def codes(self, column: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
        value = self.text(column, required=False)
        if not value:
            return ()
        picked = tuple(v.strip() for v in value.split(";"))
        for v in picked:
            if not pattern.fullmatch(v):
                raise self.fail(column, f"{v!r} is not {what}")
        if len(set(picked)) != len(picked):
            raise self.fail(column, f"{value!r} lists a code twice")
        return picked

    def dates(self) -> tuple[date, date | None]:
        start = self.day("effective_from")
        end = self.day("effective_to", required=False)
        assert start is not None  # required above
        if end is not None and end < start:
            raise self.fail("effective_to", f"{end} is before effective_from {start}")
        return start, end


def _records(path: Path, columns: tuple[str, ...]) -> list[_Cells]:
    """The file's records; its header must name exactly ``columns``, each once."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleBookError(f"{name}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise RuleBookError(f"{name}: cannot be read: {exc.strerror}") from None
    reader = csv.reader(text.splitlines(), strict=True)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise RuleBookError(f"{name}: line {reader.line_num}: not valid CSV ({exc})") from None
    if not rows:
        raise RuleBookError(f"{name}: line 1: the header is missing; expected {','.join(columns)}")
    header = [h.strip() for h in rows[0]]
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise RuleBookError(f"{name}: line 1: column {h!r} is named twice")
        seen.add(h)
        if h not in columns:
            raise RuleBookError(
                f"{name}: line 1: unknown column {h!r}; the columns are {', '.join(columns)}"
            )
    missing = [c for c in columns if c not in seen]
    if missing:
        raise RuleBookError(f"{name}: line 1: missing column(s) {', '.join(missing)}")
    out: list[_Cells] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise RuleBookError(
                f"{name}: line {number}: {len(row)} cells, the header has {len(header)}"
            )
        out.append(_Cells(name, number, dict(zip(header, row, strict=True))))
    return out


def _window(cells: _Cells, logic: str) -> Window:
    value = cells.text("window")
    allowed = WINDOWS_BY_LOGIC[logic]
    days = _DAYS_WINDOW.fullmatch(value)
    if days and "Nd" in allowed:
        return Window("days", int(days[1]))
    if value in allowed and value != "Nd":
        return Window(value)
    shown = ", ".join("<N>d (N from 1 to 999)" if a == "Nd" else a for a in allowed)
    raise cells.fail("window", f"{value!r} is not a window of a {logic} rule: use {shown}")


def _rule(cells: _Cells) -> Rule:
    code = cells.match("rule_code", _RULE_CODE, "a rule code (A-Z 0-9 -, e.g. YB-XB-001)")
    logic = cells.text("logic")
    if logic not in LOGICS:
        raise cells.fail("logic", f"{logic!r} is not one of {', '.join(LOGICS)}")
    result = cells.text("result")
    if result not in RESULTS:
        raise cells.fail("result", f"{result!r} is not certain or suspicious")
    start, end = cells.dates()
    return Rule(
        rule_code=code,
        name=cells.text("name"),
        logic=logic,
        result=result,
        window=_window(cells, logic),
        scenarios=cells.choices("scenario", SCENARIOS, required=True),
        stage=cells.choices("stage", STAGES, required=True),
        schemes=cells.choices("schemes", SCHEMES),
        effective_from=start,
        effective_to=end,
        source=cells.text("source"),
        line=cells.line,
        from_day=start.toordinal(),
        to_day=end.toordinal() if end else OPEN_END,
    )


def _restriction(cells: _Cells) -> dict[str, Any]:
    sex = cells.text("sex", required=False)
    if sex and sex not in SEXES:
        raise cells.fail("sex", f"{sex!r} is not M or F (or empty for either)")
    age_min = cells.integer("age_min", 0, _MAX_AGE, required=False)
    age_max = cells.integer("age_max", 0, _MAX_AGE, required=False)
    if age_min is not None and age_max is not None and age_min > age_max:
        raise cells.fail("age_max", f"{age_max} is below age_min {age_min}")
    params: dict[str, Any] = {
        "sex": sex,
        "age_min": age_min,
        "age_max": age_max,
        "indications": cells.codes("indications", _ICD_PREFIX, "an ICD-10 code or prefix"),
        "settings": cells.choices("settings", SETTINGS),
        "levels": frozenset(int(v) for v in cells.choices("levels", ("1", "2", "3"))),
        "schemes": cells.choices("schemes", SCHEMES),
    }
    if not any(v not in (None, "", (), frozenset()) for v in params.values()):
        raise cells.fail("sex", "a restriction row must restrict something (sex ... schemes)")
    return params


def _quantity(cells: _Cells) -> dict[str, Any]:
    per_day = cells.integer("max_per_day", 1, _MAX_COUNT, required=False)
    per_stay = cells.integer("max_per_stay", 1, _MAX_COUNT, required=False)
    if per_day is None and per_stay is None:
        raise cells.fail("max_per_day", "set max_per_day, max_per_stay or both")
    return {"max_per_day": per_day, "max_per_stay": per_stay}


def _course(cells: _Cells) -> dict[str, Any]:
    return {
        "course_days": cells.integer("course_days", 1, 3660),
        "break_days": cells.integer("break_days", 0, 366),
    }


def _frequency(cells: _Cells) -> dict[str, Any]:
    return {"max_count": cells.integer("max_count", 1, _MAX_COUNT)}


def _price_ceiling(cells: _Cells) -> dict[str, Any]:
    ceiling = cells.money("ceiling_yuan")
    if ceiling == 0:
        raise cells.fail("ceiling_yuan", "a ceiling of 0 forbids the item: use a restriction")
    return {
        "ceiling_fen": ceiling,
        "levels": frozenset(int(v) for v in cells.choices("levels", ("1", "2", "3"))),
    }


def _pair(column: str) -> Callable[[_Cells], dict[str, Any]]:
    def parse(cells: _Cells) -> dict[str, Any]:
        other = cells.match(column, _ITEM_CODE, "an item code (A-Z 0-9, at most 32)")
        if other == cells.record["item_code"].strip():
            raise cells.fail(column, f"{other} is the row's own item_code")
        return {}

    return parse


def _unbundling(cells: _Cells) -> dict[str, Any]:
    parts = cells.codes("parts", _ITEM_CODE, "an item code (A-Z 0-9, at most 32)")
    if len(parts) < 2:
        raise cells.fail("parts", "a package needs at least 2 part codes, separated by ;")
    if cells.record["item_code"].strip() in parts:
        raise cells.fail("parts", "the package's own item_code is listed among its parts")
    min_parts = cells.integer("min_parts", 2, len(parts))
    return {"parts": parts, "package_fen": cells.money("package_yuan"), "min_parts": min_parts}


_TABLE_PARSERS: dict[str, Callable[[_Cells], dict[str, Any]]] = {
    "restriction": _restriction,
    "quantity": _quantity,
    "course": _course,
    "frequency": _frequency,
    "price_ceiling": _price_ceiling,
    "mutual_exclusion": _pair("excluded_code"),
    "unbundling": _unbundling,
    "prerequisite": _pair("required_code"),
}


def _knowledge(cells: _Cells, table: str, rules: dict[str, Rule]) -> KnowledgeRow:
    code = cells.text("rule_code")
    rule = rules.get(code)
    if rule is None:
        raise cells.fail("rule_code", f"{code!r} is not a rule of rules.csv")
    if rule.logic != table:
        raise cells.fail(
            "rule_code", f"{code} is a {rule.logic} rule; its rows belong in {rule.logic}.csv"
        )
    item = cells.match("item_code", _ITEM_CODE, "an item code (A-Z 0-9, at most 32)")
    region = cells.match("region", _REGION, "a 6-digit region code (empty: national)", False)
    start, end = cells.dates()
    cells.text("source")
    params = _TABLE_PARSERS[table](cells)
    other_column = OTHER_CODE_COLUMN.get(table)
    if other_column:
        other = cells.text(other_column)
    elif table == "price_ceiling":  # ceilings differ by level: the levels are part of the key
        other = ";".join(str(level) for level in sorted(params["levels"]))
    else:
        other = ""
    shown = {k: v.strip() for k, v in cells.record.items() if v.strip()}
    return KnowledgeRow(
        table=table,
        line=cells.line,
        rule_code=code,
        item_code=item,
        other_code=other,
        region=region,
        effective_from=start,
        effective_to=end,
        shown=shown,
        written={"row": f"{table}.csv:{cells.line}", **shown},
        from_day=start.toordinal(),
        to_day=end.toordinal() if end else OPEN_END,
        **params,
    )


def load_rule_dir(path: Path | None = None) -> RuleBook:
    """Load and index a rule catalogue directory (the bundled one by default).

    Raises:
        RuleBookError: a file is missing, unknown or broken; the message names
            file, line and field.
    """
    folder = BUNDLED_DIR if path is None else Path(path)
    if not folder.is_dir():
        raise RuleBookError(f"{folder}: not a directory of rule tables")
    known = {"rules.csv", "red_flags.csv", *(f"{t}.csv" for t in TABLE_COLUMNS)}
    for found in sorted(folder.glob("*.csv")):
        if found.name not in known:
            raise RuleBookError(
                f"{found.name}: not a rule table; the tables are {', '.join(sorted(known))}"
            )
    if not (folder / "rules.csv").is_file():
        raise RuleBookError(f"rules.csv: missing from {folder}")

    rules: dict[str, Rule] = {}
    for cells in _records(folder / "rules.csv", RULE_COLUMNS):
        rule = _rule(cells)
        if rule.rule_code in rules:
            raise cells.fail(
                "rule_code",
                f"{rule.rule_code} is already defined on line {rules[rule.rule_code].line}",
            )
        rules[rule.rule_code] = rule

    red_flags: dict[str, RedFlagCode] = {}
    flag_codes: dict[str, int] = {}
    if (folder / "red_flags.csv").is_file():
        for cells in _records(folder / "red_flags.csv", RED_FLAG_COLUMNS):
            code = cells.match("rule_code", _RULE_CODE, "a rule code (A-Z 0-9 -)")
            if code in rules or code in flag_codes:
                raise cells.fail("rule_code", f"{code} is already a rule code")
            flag = cells.match("flag", _FLAG, "a red-flag code of detection.rules")
            if flag in red_flags:
                raise cells.fail("flag", f"{flag} already has code {red_flags[flag].rule_code}")
            result = cells.text("result")
            if result not in RESULTS:
                raise cells.fail("result", f"{result!r} is not certain or suspicious")
            red_flags[flag] = RedFlagCode(
                code, flag, cells.text("name"), result, cells.text("source")
            )
            flag_codes[code] = cells.line

    rows: list[KnowledgeRow] = []
    for table, own in TABLE_COLUMNS.items():
        file = folder / f"{table}.csv"
        if not file.is_file():
            continue
        seen: dict[tuple[str, str, str, str, date], int] = {}
        for cells in _records(file, COMMON_COLUMNS + own):
            row = _knowledge(cells, table, rules)
            key = (row.rule_code, row.item_code, row.other_code, row.region, row.effective_from)
            if key in seen:
                raise cells.fail(
                    "effective_from",
                    f"{row.rule_code} {row.item_code} already has a version from"
                    f" {row.effective_from} on line {seen[key]}",
                )
            seen[key] = cells.line
            rows.append(row)
    return build_book(rules, rows, red_flags)
