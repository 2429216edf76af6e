"""Pairing claim lines with their settlement records into DIP cases (spec section 4).

The i-th non-blank claim line answers to the i-th settlement record, as
``yibao settle`` writes them. A different count or a different ``claim_id`` is
a :class:`~dip.errors.PairingError`. A DIP case is a claim of type
``inpatient`` whose record is ``settled``, counted in its hospital's area when
that area has a DIP version in force on the discharge date.

Speed: most records are not DIP cases, and only the record is decoded for
them (a compact record is recognised without decoding at all); the claim line,
ten times longer, is decoded only for settled in-patient records.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, BinaryIO

import orjson

from dip.cases import DipCase
from dip.errors import PairingError
from dip.numbers import parse_fen_text
from dip.policy import DipBook, DipVersion
from settlement.jsonio import OverlongLine, decode_claim, numbered_lines

_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SETTLED = b'"status":"settled"'
_INPATIENT = b'"claim_type":"inpatient"'
_ITEMS = re.compile(rb'"items"\s*:\s*\[')
_COMPACT_STATUS = b'"status":"'
_ID_KEY = b'"claim_id":"'
#: The longest settlement record read (they are a few hundred bytes).
MAX_RECORD_BYTES = 1 << 20


@dataclass(slots=True)
class PairingCounts:
    """What the reader met besides DIP cases, for the command's stderr summary."""

    pairs: int = 0
    dip_cases: int = 0
    no_dip_file: Counter[str] = field(default_factory=Counter)  # settled in-patient, by region
    no_version: Counter[str] = field(default_factory=Counter)  # area has a file, none in force
    unreadable: list[str] = field(default_factory=list)  # settled, but the claim is unusable


def settled_inpatient_cases(
    claims: BinaryIO,
    settlements: BinaryIO,
    counts: PairingCounts,
    claims_name: str = "CLAIMS",
    settlements_name: str = "SETTLEMENTS",
) -> Iterator[DipCase]:
    """Yield every settled in-patient claim as a :class:`DipCase`, in input order.

    Raises:
        PairingError: the files have different numbers of records, a
            settlement line is not a JSON object, or a claim_id differs.
    """
    claim_lines = numbered_lines(claims)
    record_lines = numbered_lines(settlements, MAX_RECORD_BYTES)
    for claim_entry in claim_lines:
        record_entry = next(record_lines, None)
        if record_entry is None:
            raise PairingError(
                f"{settlements_name} has fewer records than {claims_name} has claims:"
                f" no record answers {claims_name} line {claim_entry[0]}"
            )
        counts.pairs += 1
        number, claim_line = claim_entry
        record_number, raw_record = record_entry
        where = _Where(claims_name, number, settlements_name, record_number)
        if isinstance(raw_record, OverlongLine):
            raise PairingError(f"{where}: the settlement record is too long to be one")
        if _SETTLED in raw_record and _INPATIENT in raw_record:
            record = _record(raw_record, where)
        elif _COMPACT_STATUS in raw_record:  # compact, and not a settled in-patient claim
            _check_id_cheaply(raw_record, claim_line, number, where)
            continue
        else:
            record = _record(raw_record, where)
        if record.get("status") != "settled" or record.get("claim_type") != "inpatient":
            _check_id(record, claim_line, number, where)
            continue
        case = _case(record, claim_line, number, where, counts)
        if case is not None:
            yield case
    extra = next(record_lines, None)
    if extra is not None:
        raise PairingError(
            f"{settlements_name} has more records than {claims_name} has claims:"
            f" {settlements_name} line {extra[0]} answers no claim"
        )


def dip_cases(
    claims: BinaryIO,
    settlements: BinaryIO,
    book: DipBook,
    counts: PairingCounts,
    claims_name: str = "CLAIMS",
    settlements_name: str = "SETTLEMENTS",
) -> Iterator[tuple[DipCase, DipVersion]]:
    """Yield each DIP case in input order with the DIP version it falls under.

    A settled in-patient claim of an area without a DIP file, or without a
    version in force on its discharge date, is counted in ``counts`` instead.

    Raises:
        PairingError: as :func:`settled_inpatient_cases`.
    """
    regions = book.regions
    for case in settled_inpatient_cases(claims, settlements, counts, claims_name, settlements_name):
        policy = regions.get(case.region)
        if policy is None:
            counts.no_dip_file[case.region] += 1
            continue
        version = policy.version_on(case.discharge_date)
        if version is None:
            counts.no_version[case.region] += 1
            continue
        counts.dip_cases += 1
        yield case, version


class _Where:
    """Where a pair sits in the two files; made into text only for a message."""

    __slots__ = ("claims_name", "number", "record_number", "settlements_name")

    def __init__(
        self, claims_name: str, number: int, settlements_name: str, record_number: int
    ) -> None:
        self.claims_name = claims_name
        self.number = number
        self.settlements_name = settlements_name
        self.record_number = record_number

    def __str__(self) -> str:
        return (
            f"{self.claims_name} line {self.number} /"
            f" {self.settlements_name} line {self.record_number}"
        )


def _record(raw: bytes, where: _Where) -> dict[str, Any]:
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            record = json.loads(raw)
        except ValueError:
            raise PairingError(f"{where}: the settlement line is not JSON") from None
    if not isinstance(record, dict) or not isinstance(record.get("claim_id"), str):
        raise PairingError(f"{where}: the settlement line is not a settlement record")
    return record


def _decode_claim(line: bytes | OverlongLine) -> Any:
    if isinstance(line, OverlongLine):
        return None
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        try:
            return decode_claim(line)
        except ValueError:
            return None


def _decode_claim_without_items(line: bytes | OverlongLine) -> Any:
    """The claim with its ``items`` array emptied (DIP reads no item), else fully decoded.

    Items are most of an in-patient claim's bytes and objects. The array is cut
    from ``"items":[`` to the first ``]``; when that ``]`` is not the array's
    end (a ``]`` in a string, a nested array) the cut text is not JSON at all,
    as the closers no longer balance, so the claim is then decoded whole.
    """
    if isinstance(line, OverlongLine):
        return None
    found = _ITEMS.search(line)
    if found is not None:
        close = line.find(b"]", found.end())
        if close > 0:
            try:
                return orjson.loads(line[: found.end()] + line[close:])
            except orjson.JSONDecodeError:
                pass
    return _decode_claim(line)


def _usable_id(claim: Any) -> str | None:
    """The claim_id settlement would echo, or None when it answers with ``line:N``."""
    if isinstance(claim, dict):
        claim_id = claim.get("claim_id")
        if type(claim_id) is str and _ID.fullmatch(claim_id):
            return claim_id
    return None


def _check_id(
    record: dict[str, Any], claim_line: bytes | OverlongLine, number: int, where: _Where
) -> None:
    expected = _usable_id(_decode_claim(claim_line))
    got = record["claim_id"]
    if expected is None:
        if got != f"line:{number}" and not isinstance(claim_line, OverlongLine):
            raise PairingError(
                f"{where}: the record is for claim_id {got!r} but the claim line has no usable"
                " claim_id; the two files do not answer each other"
            )
    elif got != expected and got != f"line:{number}":
        raise PairingError(
            f"{where}: the record is for claim_id {got!r} but the claim is {expected!r};"
            " the two files do not answer each other"
        )


def _check_id_cheaply(
    raw_record: bytes, claim_line: bytes | OverlongLine, number: int, where: _Where
) -> None:
    """The record's claim_id appears as a string in the claim line (else the full check)."""
    start = raw_record.find(_ID_KEY)
    if start >= 0 and not isinstance(claim_line, OverlongLine):
        start += len(_ID_KEY)
        end = raw_record.find(b'"', start)
        claim_id = raw_record[start:end]
        if claim_id.startswith(b"line:") or b'"' + claim_id + b'"' in claim_line:
            return
    _check_id(_record(raw_record, where), claim_line, number, where)


def _case(
    record: dict[str, Any],
    claim_line: bytes | OverlongLine,
    number: int,
    where: _Where,
    counts: PairingCounts,
) -> DipCase | None:
    claim = _decode_claim_without_items(claim_line)
    claim_id = _usable_id(claim)
    if claim_id is None or claim_id != record["claim_id"]:
        _check_id(record, claim_line, number, where)  # raises on a mismatch
        counts.unreadable.append(f"{where}: settled, but the claim line cannot be read")
        return None
    problem = "the claim"
    try:
        hospital = claim["hospital"]
        problem = "hospital.hospital_id"
        hospital_id = hospital["hospital_id"]
        if type(hospital_id) is not str:
            raise ValueError
        problem = "hospital.region"
        region = hospital["region"]
        if (
            type(region) is not str
            or len(region) != 6
            or not (region.isascii() and region.isdigit())
        ):
            raise ValueError
        problem = "hospital.level"
        level = _level(hospital["level"])
        problem = "admission_date"
        admission = _date(claim["admission_date"])
        problem = "discharge_date"
        discharge = _date(claim["discharge_date"])
        problem = "diagnosis"
        diagnosis = claim["diagnosis"]
        if type(diagnosis) is not str or not diagnosis:
            raise ValueError
        problem = "procedures"
        raw_procedures = claim.get("procedures", [])
        if type(raw_procedures) is not list:
            raise ValueError
        for code in raw_procedures:
            if type(code) is not str:
                raise ValueError
        procedures = tuple(raw_procedures)
        problem = "the record's total"
        total = parse_fen_text(record["total"])
        problem = "the record's fund_pay"
        fund_pay = parse_fen_text(record["fund_pay"])
    except (KeyError, TypeError, ValueError):
        counts.unreadable.append(f"{where}: settled, but {problem} is missing or invalid")
        return None
    return DipCase(
        claim_id=claim_id,
        hospital_id=hospital_id,
        region=region,
        level=level,
        admission_date=admission,
        discharge_date=discharge,
        diagnosis=diagnosis,
        procedures=procedures,
        total_fen=total,
        fund_pay_fen=fund_pay,
    )


def _level(value: Any) -> int:
    # A JSON 3.0 is the level 3, as for settlement (JSON Schema integers).
    if type(value) is float and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and type(value) is not str:  # a JsonNumber literal
        number = float(value)
        value = int(number) if number.is_integer() else value
    if type(value) is not int or value not in (1, 2, 3):
        raise ValueError(value)
    return value


_DAYS: dict[str, date] = {}  # claims share few dates: parse each once


def _date(value: Any) -> date:
    if type(value) is not str:
        raise ValueError(value)
    day = _DAYS.get(value)
    if day is None:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
        if len(_DAYS) >= 100_000:
            _DAYS.clear()
        _DAYS[value] = day
    return day
