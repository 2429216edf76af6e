"""Readers of single claim fields and the issue collector (spec sections 2 and 5).

Each reader takes the decoded JSON object, a key and where it sits, records
what is wrong in :class:`Issues` under its spec error code, and gives the
value or None. :mod:`settlement.claim` assembles a claim from them.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from settlement.errors import ERROR_CODES, INVALID_DATES, INVALID_REGION, MALFORMED, ClaimIssue
from settlement.money import JsonNumber, json_integer_value, shown

#: ``diagnoses`` and ``procedures``: at most this many, each listed once (schema).
MAX_CODES = 15

ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
PROCEDURE_PATTERN = re.compile(r"[0-9]{2}\.[0-9A-Za-z]{1,8}")
NAME_PATTERN = re.compile(r"[a-z0-9_]{1,32}")
REGION_PATTERN = re.compile(r"[0-9]{6}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_MAX_MESSAGES_PER_CODE = 5
_ORDER = {code: rank for rank, code in enumerate(ERROR_CODES)}


def parse_date_time(text: str) -> datetime | None:
    """An RFC 3339 date-time with offset, or None when it is not one."""
    match = _DATE_TIME.fullmatch(text)
    if not match:
        return None
    fraction = (match[3] or "")[:7]  # Python keeps microseconds only
    offset = match[4]
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(f"{match[1]}T{match[2]}{fraction[:7]}{offset}")
    except ValueError:
        return None


def parse_date(text: str) -> date | None:
    """A strict ``YYYY-MM-DD`` date, or None."""
    if not _DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def json_integer(value: Any) -> int | None:
    """The value as an integer when it is a JSON integer (``2``, ``2.0``, ``2e0``), else None.

    A whole number written with an exponent counts only up to 100 digits, so
    ``1e999999999`` is refused rather than built.
    """
    if type(value) is int:
        return value
    if isinstance(value, JsonNumber):
        return json_integer_value(value)
    return None


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | JsonNumber):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Issues:
    """Collects issues by code; several problems of one code share one message."""

    __slots__ = ("found",)

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, code: str, message: str) -> None:
        messages = self.found.setdefault(code, [])
        if len(messages) < _MAX_MESSAGES_PER_CODE:
            messages.append(message)
        elif len(messages) == _MAX_MESSAGES_PER_CODE:
            messages.append("and more")

    def sorted(self) -> list[ClaimIssue]:
        return [
            ClaimIssue(code, "; ".join(self.found[code]))
            for code in sorted(self.found, key=_ORDER.__getitem__)
        ]


def text_field(
    obj: dict[str, Any], key: str, where: str, issues: Issues, required: bool = True
) -> str | None:
    # ``type(...) is str``, not isinstance: a JSON number's literal (JsonNumber, a str
    # subclass) such as 1e999999 must not pass for a string (claim id, person id...).
    value = obj.get(key)
    if type(value) is str:
        return value
    if value is None and key not in obj:
        if required:
            issues.add(MALFORMED, f"{where}{key} is required but missing")
        return None
    issues.add(MALFORMED, f"{where}{key} must be a string, got {kind_of(value)}")
    return None


def choice_field(
    obj: dict[str, Any], key: str, where: str, allowed: tuple[str, ...], issues: Issues
) -> str | None:
    """A field whose value must be one of ``allowed``; anything else is malformed."""
    value = obj.get(key)
    if type(value) is str and value in allowed:  # only a string can equal a name
        return value
    if key not in obj:
        issues.add(MALFORMED, f"{where}{key} is required but missing")
    else:
        names = ", ".join(allowed[:-1]) + " or " + allowed[-1]
        issues.add(MALFORMED, f"{where}{key} {shown_value(value)} is not {names}")
    return None


def shown_value(value: Any) -> str:
    """A short repr of an input value for a message (a huge string is cut)."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, list | dict):
        return kind_of(value)  # never the repr of a large or deep container
    return repr(value)


def optional_name(obj: dict[str, Any], key: str, where: str, issues: Issues) -> str | None:
    """An optional ``[a-z0-9_]{1,32}`` name (patient.category, patient.assistance)."""
    if key not in obj:
        return None
    value = obj[key]
    if type(value) is str and NAME_PATTERN.fullmatch(value):
        return value
    issues.add(
        MALFORMED,
        f"{where}{key} must be 1-32 characters of a-z 0-9 _,"
        f" got {kind_of(value)} {shown_value(value)}",
    )
    return None


def code_list(
    obj: dict[str, Any], key: str, issues: Issues, pattern: re.Pattern[str] | None
) -> tuple[str, ...]:
    """An optional array of distinct code strings (``diagnoses``, ``procedures``)."""
    if key not in obj:
        return ()
    value = obj[key]
    what = (
        "ICD-10 codes of 1 to 16 characters"
        if pattern is None
        else "procedure codes like 36.0A (2 digits, a dot, 1-8 letters or digits)"
    )
    if not isinstance(value, list):
        issues.add(MALFORMED, f"{key} must be an array of {what}, got {kind_of(value)}")
        return ()
    if len(value) > MAX_CODES:
        issues.add(MALFORMED, f"{key} holds {len(value)} codes; at most {MAX_CODES} are allowed")
        return ()
    codes: list[str] = []
    for index, code in enumerate(value):
        if type(code) is not str or not (
            pattern.fullmatch(code) if pattern is not None else 1 <= len(code) <= 16
        ):
            issues.add(MALFORMED, f"{key}[{index}] {shown_value(code)} is not one of {what}")
            return ()
        codes.append(code)
    if len(set(codes)) != len(codes):
        issues.add(MALFORMED, f"{key} lists a code twice; each code may appear once")
        return ()
    return tuple(codes)


def region_field(obj: dict[str, Any], key: str, where: str, issues: Issues) -> str | None:
    value = text_field(obj, key, where, issues)
    if value is None:
        return None
    if not REGION_PATTERN.fullmatch(value):
        issues.add(
            INVALID_REGION, f"{where}{key} {shown_value(value)} is not a 6-digit region code"
        )
        return None
    return value


def date_field(obj: dict[str, Any], key: str, issues: Issues) -> date | None:
    value = text_field(obj, key, "", issues)
    if value is None:
        return None
    parsed = parse_date(value)
    if parsed is None:
        issues.add(INVALID_DATES, f"{key} {shown_value(value)} is not a date written YYYY-MM-DD")
    return parsed
