"""The claim contract: typed claim records and their validation (spec sections 2 and 5).

:func:`parse_claim` turns one decoded JSON value into a :class:`Claim` or the
list of every error found, each with its spec error code. Type violations of
the JSON schema are ``malformed``; value violations get their specific code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from settlement.errors import (
    ERROR_CODES,
    INVALID_AMOUNT,
    INVALID_DATES,
    INVALID_HOSPITAL_LEVEL,
    INVALID_ITEMS,
    INVALID_PERSON_ID,
    INVALID_REGION,
    LTC_OUT_OF_REGION,
    MALFORMED,
    NO_POLICY,
    ClaimIssue,
)
from settlement.idnumber import birth_date, identity_number_problem
from settlement.kinds import CLAIM_TYPES as CLAIM_TYPE_NAMES
from settlement.kinds import LTC_SETTINGS as LTC_SETTING_NAMES
from settlement.kinds import SCHEMES as SCHEME_NAMES
from settlement.money import (
    MAX_AMOUNT_FEN,
    AmountError,
    JsonNumber,
    json_integer_value,
    parse_amount,
    shown,
)
from settlement.policy import PolicyBook, PolicyVersion

# Tuples, not sets: `[] in a_set` raises TypeError, and a claim whose field
# holds a list must be rejected, never crash the run.
CATEGORIES = ("A", "B", "C")
INTERCITY_FILING_NAMES = ("long_term", "referral", "emergency", "temporary")
DISCHARGE_WAYS = (1, 2, 3, 4, 5, 9)
#: The most items one claim may list; more is ``malformed`` (a real bill has
#: tens to a few thousand lines, and the line-size limit bounds them anyway).
MAX_ITEMS = 10_000
#: ``diagnoses`` and ``procedures``: at most this many, each listed once (schema).
MAX_CODES = 15

_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_NAME = re.compile(r"[a-z0-9_]{1,32}")
_PROCEDURE = re.compile(r"[0-9]{2}\.[0-9A-Za-z]{1,8}")
_REGION = re.compile(r"[0-9]{6}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_MAX_MESSAGES_PER_CODE = 5
_ORDER = {code: rank for rank, code in enumerate(ERROR_CODES)}


@dataclass(slots=True)
class Item:
    """One bill line: the hospital's code, its catalogue category and amount."""

    code: str
    category: str
    amount_fen: int
    quantity: int | None = None


@dataclass(slots=True)
class Claim:
    """A claim that passed validation; amounts in fen, dates parsed."""

    claim_id: str
    claim_type: str
    submitted_at: str
    person_id: str
    scheme: str
    insured_region: str
    intercity_registered: bool
    hospital_id: str
    hospital_region: str
    hospital_level: int
    admission_date: date
    discharge_date: date
    diagnosis: str
    items: list[Item]
    ltc_setting: str | None = None
    ltc_days: int | None = None
    is_fraud: bool | None = None
    fraud_type: str | None = None
    policy: PolicyVersion | None = field(default=None, repr=False)
    # Optional contract fields kept for later features; settlement ignores them.
    category: str | None = None  # patient.category (spec 8.3)
    assistance: str | None = None  # patient.assistance (spec 8.9)
    intercity_filing: str | None = None  # patient.intercity_filing (spec 8.6)
    diagnoses: tuple[str, ...] = ()  # secondary ICD-10 codes
    procedures: tuple[str, ...] = ()  # procedure codes, the principal first
    discharge_way: int | None = None  # 1, 2, 3, 4, 5 or 9

    @property
    def intercity(self) -> bool:
        """Treated outside the insured person's pooling area."""
        return self.insured_region != self.hospital_region

    @property
    def submitted_datetime(self) -> datetime:
        return parse_date_time(self.submitted_at)  # type: ignore[return-value]

    @property
    def length_of_stay(self) -> int:
        """Days from admission to discharge (0 for a same-day visit)."""
        return (self.discharge_date - self.admission_date).days


@dataclass(slots=True)
class ClaimCheck:
    """The outcome of validating one claim: the claim, or the issues found."""

    claim: Claim | None
    issues: list[ClaimIssue]
    claim_id: str | None  # the usable claim_id, if there was one


@lru_cache(maxsize=1 << 16)
def _person_id_facts(person_id: str) -> tuple[str | None, date | None]:
    """(problem, birth date) of an identity number; cached as people claim often."""
    problem = identity_number_problem(person_id, None)
    return problem, (None if problem else birth_date(person_id))


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


def _kind(value: Any) -> str:
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


class _Issues:
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


def _text(
    obj: dict[str, Any], key: str, where: str, issues: _Issues, required: bool = True
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
    issues.add(MALFORMED, f"{where}{key} must be a string, got {_kind(value)}")
    return None


def _choice(
    obj: dict[str, Any], key: str, where: str, allowed: tuple[str, ...], issues: _Issues
) -> str | None:
    """A field whose value must be one of ``allowed``; anything else is malformed."""
    value = obj.get(key)
    if value in allowed:
        return value  # type: ignore[no-any-return]
    if key not in obj:
        issues.add(MALFORMED, f"{where}{key} is required but missing")
    else:
        names = ", ".join(allowed[:-1]) + " or " + allowed[-1]
        issues.add(MALFORMED, f"{where}{key} {_shown(value)} is not {names}")
    return None


def _shown(value: Any) -> str:
    """A short repr of an input value for a message (a huge string is cut)."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, list | dict):
        return _kind(value)  # never the repr of a large or deep container
    return repr(value)


def _optional_name(obj: dict[str, Any], key: str, where: str, issues: _Issues) -> str | None:
    """An optional ``[a-z0-9_]{1,32}`` name (patient.category, patient.assistance)."""
    if key not in obj:
        return None
    value = obj[key]
    if type(value) is str and _NAME.fullmatch(value):
        return value
    issues.add(
        MALFORMED,
        f"{where}{key} must be 1-32 characters of a-z 0-9 _, got {_kind(value)} {_shown(value)}",
    )
    return None


def _codes(
    obj: dict[str, Any], key: str, issues: _Issues, pattern: re.Pattern[str] | None
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
        issues.add(MALFORMED, f"{key} must be an array of {what}, got {_kind(value)}")
        return ()
    if len(value) > MAX_CODES:
        issues.add(MALFORMED, f"{key} holds {len(value)} codes; at most {MAX_CODES} are allowed")
        return ()
    codes: list[str] = []
    for index, code in enumerate(value):
        if type(code) is not str or not (
            pattern.fullmatch(code) if pattern is not None else 1 <= len(code) <= 16
        ):
            issues.add(MALFORMED, f"{key}[{index}] {_shown(code)} is not one of {what}")
            return ()
        codes.append(code)
    if len(set(codes)) != len(codes):
        issues.add(MALFORMED, f"{key} lists a code twice; each code may appear once")
        return ()
    return tuple(codes)


def _region(obj: dict[str, Any], key: str, where: str, issues: _Issues) -> str | None:
    value = _text(obj, key, where, issues)
    if value is None:
        return None
    if not _REGION.fullmatch(value):
        issues.add(INVALID_REGION, f"{where}{key} {_shown(value)} is not a 6-digit region code")
        return None
    return value


def _date_field(obj: dict[str, Any], key: str, issues: _Issues) -> date | None:
    value = _text(obj, key, "", issues)
    if value is None:
        return None
    parsed = parse_date(value)
    if parsed is None:
        issues.add(INVALID_DATES, f"{key} {_shown(value)} is not a date written YYYY-MM-DD")
    return parsed


def parse_claim(obj: Any, book: PolicyBook) -> ClaimCheck:
    """Validate one decoded claim against the contract and the policy book.

    Args:
        obj: the decoded JSON value (non-integer numbers as :class:`JsonNumber`).
        book: the policies; a claim needs a version of its insured region.

    Returns:
        A :class:`ClaimCheck`: the claim with its policy version attached, or
        every issue found (one per error code, in the spec's order).
    """
    issues = _Issues()
    if not isinstance(obj, dict):
        issues.add(MALFORMED, f"a claim must be a JSON object, got {_kind(obj)}")
        return ClaimCheck(None, issues.sorted(), None)

    claim_id = obj.get("claim_id")
    if type(claim_id) is not str or not _ID.fullmatch(claim_id):
        if "claim_id" not in obj:
            issues.add(MALFORMED, "claim_id is required but missing")
        else:
            issues.add(MALFORMED, "claim_id must be 1-64 characters of A-Z a-z 0-9 _ . -")
        claim_id = None

    claim_type = _choice(obj, "claim_type", "", CLAIM_TYPE_NAMES, issues)

    submitted_at = _text(obj, "submitted_at", "", issues)
    if submitted_at is not None and parse_date_time(submitted_at) is None:
        issues.add(
            INVALID_DATES,
            f"submitted_at {_shown(submitted_at)} is not an RFC 3339 date-time with offset",
        )

    # patient
    person_id = scheme = insured_region = None
    category = assistance = intercity_filing = None
    registered = False
    patient = obj.get("patient")
    if isinstance(patient, dict):
        person_id = _text(patient, "person_id", "patient.", issues)
        scheme = _choice(patient, "scheme", "patient.", SCHEME_NAMES, issues)
        insured_region = _region(patient, "insured_region", "patient.", issues)
        category = _optional_name(patient, "category", "patient.", issues)
        assistance = _optional_name(patient, "assistance", "patient.", issues)
        if "intercity_filing" in patient:
            intercity_filing = _choice(
                patient, "intercity_filing", "patient.", INTERCITY_FILING_NAMES, issues
            )
        if "intercity_registered" in patient:
            # A separate name for the raw value: compiled by mypyc, `registered`
            # is a bool and assigning it a string would raise TypeError.
            raw_registered = patient["intercity_registered"]
            if isinstance(raw_registered, bool):
                registered = raw_registered
            else:
                issues.add(
                    MALFORMED,
                    "patient.intercity_registered must be true or false,"
                    f" got {_kind(raw_registered)}",
                )
    else:
        issues.add(
            MALFORMED,
            "patient is required but missing"
            if "patient" not in obj
            else f"patient must be an object, got {_kind(patient)}",
        )

    # hospital
    hospital_id = hospital_region = None
    level: int | None = None
    hospital = obj.get("hospital")
    if isinstance(hospital, dict):
        hospital_id = _text(hospital, "hospital_id", "hospital.", issues)
        if hospital_id is not None and not _ID.fullmatch(hospital_id):
            issues.add(
                MALFORMED, "hospital.hospital_id must be 1-64 characters of A-Z a-z 0-9 _ . -"
            )
            hospital_id = None
        hospital_region = _region(hospital, "region", "hospital.", issues)
        if "level" not in hospital:
            issues.add(MALFORMED, "hospital.level is required but missing")
        else:
            raw_level = hospital["level"]
            level = json_integer(raw_level)
            if level is None:
                if isinstance(raw_level, JsonNumber):
                    issues.add(
                        INVALID_HOSPITAL_LEVEL, f"hospital.level {raw_level} is not 1, 2 or 3"
                    )
                else:
                    issues.add(
                        MALFORMED, f"hospital.level must be a number, got {_kind(raw_level)}"
                    )
            elif level not in (1, 2, 3):
                issues.add(INVALID_HOSPITAL_LEVEL, f"hospital.level {level} is not 1, 2 or 3")
                level = None
    else:
        issues.add(
            MALFORMED,
            "hospital is required but missing"
            if "hospital" not in obj
            else f"hospital must be an object, got {_kind(hospital)}",
        )

    admission = _date_field(obj, "admission_date", issues)
    discharge = _date_field(obj, "discharge_date", issues)

    diagnosis = _text(obj, "diagnosis", "", issues)
    if diagnosis is not None and not 1 <= len(diagnosis) <= 16:
        issues.add(MALFORMED, "diagnosis must be an ICD-10 code of 1 to 16 characters")
        diagnosis = None

    items = _items(obj, issues)

    # long-term care
    ltc_setting: str | None = None
    ltc_days: int | None = None
    if claim_type == "ltc":
        ltc = obj.get("ltc")
        if isinstance(ltc, dict):
            ltc_setting = _choice(ltc, "setting", "ltc.", LTC_SETTING_NAMES, issues)
            if "days" not in ltc:
                issues.add(MALFORMED, "ltc.days is required but missing")
            else:
                ltc_days = json_integer(ltc["days"])
                if ltc_days is None:
                    issues.add(
                        MALFORMED, f"ltc.days must be a whole number, got {_shown(ltc['days'])}"
                    )
                elif ltc_days < 1:
                    issues.add(INVALID_DATES, f"ltc.days {ltc_days} is less than 1")
                    ltc_days = None
        else:
            issues.add(
                MALFORMED,
                "ltc is required for an ltc claim but missing"
                if "ltc" not in obj
                else f"ltc must be an object, got {_kind(ltc)}",
            )

    # optional coding of the stay (dip.md section 1), kept for later features
    diagnoses = _codes(obj, "diagnoses", issues, None)
    if diagnosis is not None and diagnosis in diagnoses:
        # dip.md section 1: the secondary diagnoses never repeat the principal one.
        issues.add(MALFORMED, f"diagnoses lists the principal diagnosis {_shown(diagnosis)}")
    procedures = _codes(obj, "procedures", issues, _PROCEDURE)
    discharge_way: int | None = None
    if "discharge_way" in obj:
        # json_integer: true is not 1 (a boolean), while 1.0 equals 1 as in JSON Schema.
        discharge_way = json_integer(obj["discharge_way"])
        if discharge_way not in DISCHARGE_WAYS:
            issues.add(
                MALFORMED,
                f"discharge_way {_shown(obj['discharge_way'])} is not 1, 2, 3, 4, 5 or 9",
            )
            discharge_way = None

    # labels: optional, ignored by settlement, but typed by the schema
    is_fraud = obj.get("is_fraud")
    if "is_fraud" in obj and not isinstance(is_fraud, bool):
        issues.add(MALFORMED, f"is_fraud must be true or false, got {_kind(is_fraud)}")
        is_fraud = None
    fraud_type = obj.get("fraud_type")
    if fraud_type is not None and type(fraud_type) is not str:
        issues.add(MALFORMED, f"fraud_type must be a string or null, got {_kind(fraud_type)}")
        fraud_type = None

    # checks across fields, each skipped when a field it needs is already invalid
    if person_id is not None:
        problem, born = _person_id_facts(person_id)
        if problem is None and admission is not None and born > admission:  # type: ignore[operator]
            problem = f"person_id: birth date {born} is after admission {admission}"
        if problem is not None:
            issues.add(INVALID_PERSON_ID, problem)
    if admission is not None and discharge is not None:
        span = (discharge - admission).days
        if span < 0:
            issues.add(
                INVALID_DATES,
                f"discharge_date {discharge} is before admission_date {admission}",
            )
        elif claim_type == "outpatient" and span != 0:
            issues.add(
                INVALID_DATES,
                "an outpatient visit must have discharge_date equal to admission_date",
            )
        elif ltc_days is not None and ltc_days > span + 1:
            issues.add(
                INVALID_DATES,
                f"ltc.days {ltc_days} is more than the {span + 1} days from admission to discharge",
            )
    policy: PolicyVersion | None = None
    if insured_region is not None and discharge is not None:
        policy = book.version_for(insured_region, discharge)
        if policy is None:
            if insured_region in book.regions:
                issues.add(
                    NO_POLICY,
                    f"no policy version of region {insured_region} is in force on {discharge}",
                )
            else:
                issues.add(NO_POLICY, f"no policy file for insured region {insured_region}")
    if (
        claim_type == "ltc"
        and insured_region is not None
        and hospital_region is not None
        and insured_region != hospital_region
    ):
        issues.add(
            LTC_OUT_OF_REGION,
            f"long-term care is administered locally: hospital region {hospital_region}"
            f" is not the insured region {insured_region}",
        )

    if issues.found:
        return ClaimCheck(None, issues.sorted(), claim_id)
    claim = Claim(
        claim_id=claim_id,  # type: ignore[arg-type]
        claim_type=claim_type,  # type: ignore[arg-type]
        submitted_at=submitted_at,  # type: ignore[arg-type]
        person_id=person_id,  # type: ignore[arg-type]
        scheme=scheme,  # type: ignore[arg-type]
        insured_region=insured_region,  # type: ignore[arg-type]
        intercity_registered=registered,
        hospital_id=hospital_id,  # type: ignore[arg-type]
        hospital_region=hospital_region,  # type: ignore[arg-type]
        hospital_level=level,  # type: ignore[arg-type]
        admission_date=admission,  # type: ignore[arg-type]
        discharge_date=discharge,  # type: ignore[arg-type]
        diagnosis=diagnosis,  # type: ignore[arg-type]
        items=items,  # type: ignore[arg-type]
        ltc_setting=ltc_setting,
        ltc_days=ltc_days,
        is_fraud=is_fraud,
        fraud_type=fraud_type,
        policy=policy,
        category=category,
        assistance=assistance,
        intercity_filing=intercity_filing,
        diagnoses=diagnoses,
        procedures=procedures,
        discharge_way=discharge_way,
    )
    return ClaimCheck(claim, [], claim_id)


def _items(obj: dict[str, Any], issues: _Issues) -> list[Item] | None:
    raw_items = obj.get("items")
    if not isinstance(raw_items, list):
        issues.add(
            MALFORMED,
            "items is required but missing"
            if "items" not in obj
            else f"items must be an array, got {_kind(raw_items)}",
        )
        return None
    if not raw_items:
        issues.add(INVALID_ITEMS, "a claim needs at least one item")
        return None
    if len(raw_items) > MAX_ITEMS:
        issues.add(
            MALFORMED, f"items holds {len(raw_items)} entries; at most {MAX_ITEMS} are allowed"
        )
        return None
    items: list[Item] = []
    valid = True
    for index, raw in enumerate(raw_items):
        if type(raw) is dict:
            # Fast path for the usual well-formed line; anything unusual takes
            # the full checks below, which are the reference behaviour.
            code = raw.get("code")
            category = raw.get("category")
            amount = raw.get("amount")
            quantity = raw.get("quantity")
            amount_fen = None
            if type(amount) is JsonNumber:  # inlined fast_amount: the commonest case
                whole, dot, frac = amount.partition(".")
                if (
                    len(frac) <= 2
                    and len(whole) <= 8
                    and whole.isdigit()
                    and (frac.isdigit() or not dot)
                ):
                    amount_fen = int(whole) * 100 + (
                        int(frac) * 10 if len(frac) == 1 else int(frac or "0")
                    )
                    if amount_fen > MAX_AMOUNT_FEN:
                        amount_fen = None
            else:
                amount_fen = fast_amount(amount)
            if (
                amount_fen is not None
                and category in CATEGORIES
                and type(code) is str
                and 0 < len(code) <= 64
                and ((type(quantity) is int and quantity >= 1) or "quantity" not in raw)
            ):
                items.append(Item(code, category, amount_fen, quantity))
                continue
        if not _full_item_check(raw, index, issues, items):
            valid = False
    return items if valid else None


def fast_amount(value: Any) -> int | None:
    """Fen for a plain, valid amount (``12``, ``12.5``, ``"12.50"``); None = take the full check."""
    kind = type(value)
    if kind is JsonNumber or kind is str:
        whole, dot, frac = value.partition(".")
        if (
            len(frac) <= 2
            and len(whole) <= 8  # longer is over the maximum, or needs the full check
            and (frac or not dot)
            and whole.isascii()
            and whole.isdigit()
            and (not frac or (frac.isascii() and frac.isdigit()))
        ):
            fen = int(whole) * 100 + (int(frac) * 10 if len(frac) == 1 else int(frac or "0"))
            if fen <= MAX_AMOUNT_FEN:
                return fen
    elif kind is int and 0 <= value <= MAX_AMOUNT_FEN // 100:
        return value * 100  # type: ignore[no-any-return]
    return None


def _full_item_check(raw: Any, index: int, issues: _Issues, items: list[Item]) -> bool:
    """Check one item in full, recording every issue; append it when valid."""
    where = f"items[{index}]."
    if not isinstance(raw, dict):
        issues.add(MALFORMED, f"items[{index}] must be an object, got {_kind(raw)}")
        return False
    code = _text(raw, "code", where, issues)
    if code is not None and not 1 <= len(code) <= 64:
        issues.add(MALFORMED, f"{where}code must be 1 to 64 characters")
        code = None
    category = _text(raw, "category", where, issues)
    if category is not None and category not in CATEGORIES:
        issues.add(INVALID_ITEMS, f"{where}category {_shown(category)} is not A, B or C")
        category = None
    amount_fen: int | None = None
    if "amount" not in raw:
        issues.add(MALFORMED, f"{where}amount is required but missing")
    else:
        amount = raw["amount"]
        try:
            amount_fen = parse_amount(amount)
        except AmountError as exc:
            issues.add(INVALID_AMOUNT, f"{where}amount {exc}")
        except TypeError:
            issues.add(
                MALFORMED, f"{where}amount must be a number or a string, got {_kind(amount)}"
            )
    quantity: int | None = None
    quantity_ok = True
    if "quantity" in raw:
        quantity = json_integer(raw["quantity"])
        if quantity is None:
            issues.add(
                MALFORMED,
                f"{where}quantity must be a whole number, got {_shown(raw['quantity'])}",
            )
            quantity_ok = False
        elif quantity < 1:
            issues.add(INVALID_ITEMS, f"{where}quantity {quantity} is less than 1")
            quantity, quantity_ok = None, False
    if code is None or category is None or amount_fen is None or not quantity_ok:
        return False
    items.append(Item(code, category, amount_fen, quantity))
    return True
