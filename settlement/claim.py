"""The claim contract: typed claim records and their validation (spec sections 2 and 5).

:func:`parse_claim` turns one decoded JSON value into a :class:`Claim` or the
list of every error found, each with its spec error code. Type violations of
the JSON schema are ``malformed``; value violations get their specific code.
Single fields are read by :mod:`settlement.claim_fields`, bill lines by
:mod:`settlement.claim_items`; the checks across fields are
:mod:`settlement.claim_checks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from settlement.claim_checks import (
    check_dates,
    check_ltc_region,
    check_person,
    policy_in_force,
)
from settlement.claim_fields import (
    ID_PATTERN,
    MAX_CODES,
    PROCEDURE_PATTERN,
    Issues,
    choice_field,
    code_list,
    date_field,
    json_integer,
    kind_of,
    optional_name,
    parse_date,
    parse_date_time,
    region_field,
    shown_value,
    text_field,
)
from settlement.claim_items import CATEGORIES, MAX_ITEMS, Item, fast_amount, read_items
from settlement.errors import (
    INVALID_DATES,
    INVALID_HOSPITAL_LEVEL,
    MALFORMED,
    ClaimIssue,
)
from settlement.kinds import CLAIM_TYPES as CLAIM_TYPE_NAMES
from settlement.kinds import LTC_SETTINGS as LTC_SETTING_NAMES
from settlement.kinds import SCHEMES as SCHEME_NAMES
from settlement.money import JsonNumber
from settlement.policy import PolicyBook, PolicyVersion

# Kept importable from here, where they were first defined.
__all__ = [
    "CATEGORIES",
    "CLAIM_TYPE_NAMES",
    "DISCHARGE_WAYS",
    "INTERCITY_FILING_NAMES",
    "LTC_SETTING_NAMES",
    "MAX_CODES",
    "MAX_ITEMS",
    "SCHEME_NAMES",
    "Claim",
    "ClaimCheck",
    "Item",
    "fast_amount",
    "json_integer",
    "parse_claim",
    "parse_date",
    "parse_date_time",
]

INTERCITY_FILING_NAMES = ("long_term", "referral", "emergency", "temporary")
DISCHARGE_WAYS = (1, 2, 3, 4, 5, 9)


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
        """``submitted_at`` parsed (validation made sure it parses)."""
        parsed = parse_date_time(self.submitted_at)
        if parsed is None:  # only a Claim built by hand, not by parse_claim
            raise ValueError(
                f"submitted_at {shown_value(self.submitted_at)} is not an RFC 3339 date-time"
            )
        return parsed

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


@dataclass(slots=True)
class _PatientFields:
    """What :func:`_patient` read; a field is None when missing or invalid."""

    person_id: str | None = None
    scheme: str | None = None
    insured_region: str | None = None
    registered: bool = False
    category: str | None = None
    assistance: str | None = None
    intercity_filing: str | None = None


@dataclass(slots=True)
class _HospitalFields:
    """What :func:`_hospital` read; a field is None when missing or invalid."""

    hospital_id: str | None = None
    region: str | None = None
    level: int | None = None


@dataclass(slots=True)
class _CodingFields:
    """The optional coding of the stay (dip.md section 1) and the labels."""

    diagnoses: tuple[str, ...] = ()
    procedures: tuple[str, ...] = ()
    discharge_way: int | None = None
    is_fraud: bool | None = None
    fraud_type: str | None = None


def parse_claim(obj: Any, book: PolicyBook) -> ClaimCheck:
    """Validate one decoded claim against the contract and the policy book.

    Args:
        obj: the decoded JSON value (non-integer numbers as :class:`JsonNumber`).
        book: the policies; a claim needs a version of its insured region.

    Returns:
        A :class:`ClaimCheck`: the claim with its policy version attached, or
        every issue found (one per error code, in the spec's order).
    """
    issues = Issues()
    if not isinstance(obj, dict):
        issues.add(MALFORMED, f"a claim must be a JSON object, got {kind_of(obj)}")
        return ClaimCheck(None, issues.sorted(), None)
    # The order of the calls is the order of the messages within one code.
    claim_id = _claim_id(obj, issues)
    claim_type = choice_field(obj, "claim_type", "", CLAIM_TYPE_NAMES, issues)
    submitted_at = _submitted_at(obj, issues)
    patient = _patient(obj, issues)
    hospital = _hospital(obj, issues)
    admission = date_field(obj, "admission_date", issues)
    discharge = date_field(obj, "discharge_date", issues)
    diagnosis = _diagnosis(obj, issues)
    items = read_items(obj, issues)
    ltc_setting, ltc_days = _ltc(obj, claim_type, issues)
    coding = _coding(obj, diagnosis, issues)
    # checks across fields, each skipped when a field it needs is already invalid
    check_person(patient.person_id, admission, issues)
    check_dates(claim_type, admission, discharge, ltc_days, issues)
    policy = policy_in_force(book, patient.insured_region, discharge, issues)
    check_ltc_region(claim_type, patient.insured_region, hospital.region, issues)
    if issues.found:
        return ClaimCheck(None, issues.sorted(), claim_id)
    if (
        claim_id is None
        or claim_type is None
        or submitted_at is None
        or patient.person_id is None
        or patient.scheme is None
        or patient.insured_region is None
        or hospital.hospital_id is None
        or hospital.region is None
        or hospital.level is None
        or admission is None
        or discharge is None
        or diagnosis is None
        or items is None
    ):  # cannot happen: every field left None was reported above
        raise AssertionError("parse_claim: a required field is missing without an issue")
    claim = Claim(
        claim_id=claim_id,
        claim_type=claim_type,
        submitted_at=submitted_at,
        person_id=patient.person_id,
        scheme=patient.scheme,
        insured_region=patient.insured_region,
        intercity_registered=patient.registered,
        hospital_id=hospital.hospital_id,
        hospital_region=hospital.region,
        hospital_level=hospital.level,
        admission_date=admission,
        discharge_date=discharge,
        diagnosis=diagnosis,
        items=items,
        ltc_setting=ltc_setting,
        ltc_days=ltc_days,
        is_fraud=coding.is_fraud,
        fraud_type=coding.fraud_type,
        policy=policy,
        category=patient.category,
        assistance=patient.assistance,
        intercity_filing=patient.intercity_filing,
        diagnoses=coding.diagnoses,
        procedures=coding.procedures,
        discharge_way=coding.discharge_way,
    )
    return ClaimCheck(claim, [], claim_id)


def _claim_id(obj: dict[str, Any], issues: Issues) -> str | None:
    claim_id = obj.get("claim_id")
    if type(claim_id) is str and ID_PATTERN.fullmatch(claim_id):
        return claim_id
    if "claim_id" not in obj:
        issues.add(MALFORMED, "claim_id is required but missing")
    else:
        issues.add(MALFORMED, "claim_id must be 1-64 characters of A-Z a-z 0-9 _ . -")
    return None


def _submitted_at(obj: dict[str, Any], issues: Issues) -> str | None:
    submitted_at = text_field(obj, "submitted_at", "", issues)
    if submitted_at is not None and parse_date_time(submitted_at) is None:
        issues.add(
            INVALID_DATES,
            f"submitted_at {shown_value(submitted_at)} is not an RFC 3339 date-time with offset",
        )
    return submitted_at


def _patient(obj: dict[str, Any], issues: Issues) -> _PatientFields:
    """``patient``: identity, scheme, insured region and the optional categories."""
    fields = _PatientFields()
    patient = obj.get("patient")
    if not isinstance(patient, dict):
        issues.add(
            MALFORMED,
            "patient is required but missing"
            if "patient" not in obj
            else f"patient must be an object, got {kind_of(patient)}",
        )
        return fields
    fields.person_id = text_field(patient, "person_id", "patient.", issues)
    fields.scheme = choice_field(patient, "scheme", "patient.", SCHEME_NAMES, issues)
    fields.insured_region = region_field(patient, "insured_region", "patient.", issues)
    fields.category = optional_name(patient, "category", "patient.", issues)
    fields.assistance = optional_name(patient, "assistance", "patient.", issues)
    if "intercity_filing" in patient:
        fields.intercity_filing = choice_field(
            patient, "intercity_filing", "patient.", INTERCITY_FILING_NAMES, issues
        )
    if "intercity_registered" in patient:
        registered = patient["intercity_registered"]
        if isinstance(registered, bool):
            fields.registered = registered
        else:
            issues.add(
                MALFORMED,
                f"patient.intercity_registered must be true or false, got {kind_of(registered)}",
            )
    return fields


def _hospital(obj: dict[str, Any], issues: Issues) -> _HospitalFields:
    """``hospital``: its id, region and level."""
    fields = _HospitalFields()
    hospital = obj.get("hospital")
    if not isinstance(hospital, dict):
        issues.add(
            MALFORMED,
            "hospital is required but missing"
            if "hospital" not in obj
            else f"hospital must be an object, got {kind_of(hospital)}",
        )
        return fields
    hospital_id = text_field(hospital, "hospital_id", "hospital.", issues)
    if hospital_id is not None and not ID_PATTERN.fullmatch(hospital_id):
        issues.add(MALFORMED, "hospital.hospital_id must be 1-64 characters of A-Z a-z 0-9 _ . -")
        hospital_id = None
    fields.hospital_id = hospital_id
    fields.region = region_field(hospital, "region", "hospital.", issues)
    fields.level = _level(hospital, issues)
    return fields


def _level(hospital: dict[str, Any], issues: Issues) -> int | None:
    if "level" not in hospital:
        issues.add(MALFORMED, "hospital.level is required but missing")
        return None
    raw_level = hospital["level"]
    level = json_integer(raw_level)
    if level is None:
        if isinstance(raw_level, JsonNumber):
            issues.add(INVALID_HOSPITAL_LEVEL, f"hospital.level {raw_level} is not 1, 2 or 3")
        else:
            issues.add(MALFORMED, f"hospital.level must be a number, got {kind_of(raw_level)}")
        return None
    if level not in (1, 2, 3):
        issues.add(INVALID_HOSPITAL_LEVEL, f"hospital.level {level} is not 1, 2 or 3")
        return None
    return level


def _diagnosis(obj: dict[str, Any], issues: Issues) -> str | None:
    diagnosis = text_field(obj, "diagnosis", "", issues)
    if diagnosis is not None and not 1 <= len(diagnosis) <= 16:
        issues.add(MALFORMED, "diagnosis must be an ICD-10 code of 1 to 16 characters")
        return None
    return diagnosis


def _ltc(
    obj: dict[str, Any], claim_type: str | None, issues: Issues
) -> tuple[str | None, int | None]:
    """``(ltc.setting, ltc.days)`` of an ltc claim; another claim's ``ltc`` is ignored (spec 2)."""
    if claim_type != "ltc":
        return None, None
    ltc = obj.get("ltc")
    if not isinstance(ltc, dict):
        issues.add(
            MALFORMED,
            "ltc is required for an ltc claim but missing"
            if "ltc" not in obj
            else f"ltc must be an object, got {kind_of(ltc)}",
        )
        return None, None
    setting = choice_field(ltc, "setting", "ltc.", LTC_SETTING_NAMES, issues)
    if "days" not in ltc:
        issues.add(MALFORMED, "ltc.days is required but missing")
        return setting, None
    days = json_integer(ltc["days"])
    if days is None:
        issues.add(MALFORMED, f"ltc.days must be a whole number, got {shown_value(ltc['days'])}")
    elif days < 1:
        issues.add(INVALID_DATES, f"ltc.days {days} is less than 1")
        days = None
    return setting, days


def _coding(obj: dict[str, Any], diagnosis: str | None, issues: Issues) -> _CodingFields:
    """The optional coding of the stay (dip.md section 1) and the training labels."""
    fields = _CodingFields()
    fields.diagnoses = code_list(obj, "diagnoses", issues, None)
    if diagnosis is not None and diagnosis in fields.diagnoses:
        # dip.md section 1: the secondary diagnoses never repeat the principal one.
        issues.add(MALFORMED, f"diagnoses lists the principal diagnosis {shown_value(diagnosis)}")
    fields.procedures = code_list(obj, "procedures", issues, PROCEDURE_PATTERN)
    if "discharge_way" in obj:
        # json_integer: true is not 1 (a boolean), while 1.0 equals 1 as in JSON Schema.
        discharge_way = json_integer(obj["discharge_way"])
        if discharge_way in DISCHARGE_WAYS:
            fields.discharge_way = discharge_way
        else:
            issues.add(
                MALFORMED,
                f"discharge_way {shown_value(obj['discharge_way'])} is not 1, 2, 3, 4, 5 or 9",
            )
    # labels: optional, ignored by settlement, but typed by the schema
    if "is_fraud" in obj:
        is_fraud = obj["is_fraud"]
        if isinstance(is_fraud, bool):
            fields.is_fraud = is_fraud
        else:
            issues.add(MALFORMED, f"is_fraud must be true or false, got {kind_of(is_fraud)}")
    fraud_type = obj.get("fraud_type")
    if type(fraud_type) is str:
        fields.fraud_type = fraud_type
    elif fraud_type is not None:
        issues.add(MALFORMED, f"fraud_type must be a string or null, got {kind_of(fraud_type)}")
    return fields
