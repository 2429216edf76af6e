"""Hand-made claims that break each bundled rule, and honest look-alikes that must not.

Every case is one person's claims in order; each claim carries ``labels``, the
rule codes it must raise (empty for a look-alike). The codes and limits are the
bundled illustrative catalogue's (``detection/rule_tables``). Until the
simulator bills national codes, this is the labelled data the rules are
measured on (tests/unit/test_rule_catalogue.py).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from settlement.idnumber import check_character

MALE, FEMALE = "M", "F"
# Codes of the bundled tables, by what they are.
PROGESTERONE = "XG03DAH001B0"
TAMSULOSIN = "XG04CAT001E0"
AMOXICILLIN = "XJ01CAA001A0"  # used by both sexes: no row anywhere
GYN_EXAM = "311201001000000"
PROSTATE_MASSAGE = "311000013000000"
CHILD_GRANULES = "ZA01AAX0120"  # age 0-17
CHILD_AMBROXOL = "XR05CAA012C0"  # age 0-14
NEWBORN_CARE = "120100011000000"  # age 0
MEROPENEM = "XJ01DHM046B0"  # indication, 14-day course, test within 7 days
SUSCEPTIBILITY_TEST = "250501023000000"
LENALIDOMIDE = "XL04AXL001E0"  # levels 2 and 3
PCI_STENT = "331003006000000"  # inpatient only
TRAMADOL = "XN02AXT001A0"  # 4 a day
ALBUMIN = "XB05AAR001B0"  # 2 a day, 10 a stay; ceiling 380.00, 350.00 from 2026
HEAD_CT = "210300001000000"  # once a day
CONSULTATION = "110200001000000"  # three times a day; ceiling 25.00 (level 3), 15.00 (1-2)
HBA1C = "250302001000000"  # once a natural month
BLOOD_COUNT = "250101015000000"  # 3 in 7 days
GENERAL_ANAESTHESIA = "330100005000000"
LOCAL_ANAESTHESIA = "330100001000000"  # included in general anaesthesia
LIVER_PARTS = ("250305002000000", "250305003000000", "250305004000000")  # 3 of the panel
TRANSFUSION = "260000005000000"
ABO_TYPING = "260000001000000"


@dataclass
class Case:
    """One person's claims, the last usually the one that matters."""

    name: str
    claims: list[dict[str, Any]] = field(default_factory=list)

    @property
    def lookalike(self) -> bool:
        return not any(c["labels"] for c in self.claims)


_serial = itertools.count(1)


def person_id(sex: str, born: date) -> str:
    """A valid identity number (region 441802) with this sex and birth date."""
    order = next(_serial) % 500
    sequence = f"{order:02d}{1 if sex == MALE else 2}"[-3:]
    first17 = f"441802{born:%Y%m%d}{sequence}"
    return first17 + check_character(first17)


def claim(
    pid: str,
    items: list[tuple[str, str, int]],
    *,
    admitted: str = "2026-03-02",
    discharged: str | None = None,
    claim_type: str = "inpatient",
    dx: str = "J18.9",
    secondary: tuple[str, ...] = (),
    level: int = 2,
    hospital_region: str = "441800",
    labels: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A claim dict of the contract, with the rule codes it must raise as ``labels``."""
    discharged = discharged or admitted
    region = hospital_region  # insured where treated unless the test says otherwise
    record: dict[str, Any] = {
        "claim_id": f"RG-{next(_serial):05d}",
        "claim_type": claim_type,
        "submitted_at": f"{discharged}T12:00:00+08:00",
        "patient": {"person_id": pid, "scheme": "employee", "insured_region": region},
        "hospital": {"hospital_id": "RG-H01", "region": hospital_region, "level": level},
        "admission_date": admitted,
        "discharge_date": discharged,
        "diagnosis": dx,
        "items": [
            {"code": code, "category": "B", "amount": amount, "quantity": quantity}
            for code, amount, quantity in items
        ],
        "labels": list(labels),
    }
    if secondary:
        record["diagnoses"] = list(secondary)
    return record


def _aged(years: int, on: date = date(2026, 3, 2)) -> date:
    """A birth date making someone exactly ``years`` old on ``on`` (birthday that day)."""
    return on.replace(year=on.year - years)


def cases() -> list[Case]:
    """Every violation and look-alike, one person each."""
    out: list[Case] = []

    def one(name: str, sex: str, age: int, *claims_args: dict[str, Any]) -> None:
        pid = person_id(sex, _aged(age))
        out.append(Case(name, [claim(pid, **args) for args in claims_args]))

    adult, child = 40, 6
    # Sex (YB-XB-001 drugs, YB-XB-002 services)
    one(
        "man billed progesterone",
        MALE,
        adult,
        {"items": [(PROGESTERONE, "30.00", 1)], "labels": ("YB-XB-001",)},
    )
    one(
        "woman billed tamsulosin",
        FEMALE,
        adult,
        {"items": [(TAMSULOSIN, "45.00", 1)], "labels": ("YB-XB-001",)},
    )
    one("woman billed progesterone", FEMALE, adult, {"items": [(PROGESTERONE, "30.00", 1)]})
    one(
        "man billed amoxicillin, a drug for both sexes",
        MALE,
        adult,
        {"items": [(AMOXICILLIN, "12.00", 2)]},
    )
    one(
        "man billed a gynaecological examination",
        MALE,
        adult,
        {"items": [(GYN_EXAM, "20.00", 1)], "claim_type": "outpatient", "labels": ("YB-XB-002",)},
    )
    one(
        "woman billed a prostate massage",
        FEMALE,
        adult,
        {
            "items": [(PROSTATE_MASSAGE, "20.00", 1)],
            "claim_type": "outpatient",
            "labels": ("YB-XB-002",),
        },
    )
    one(
        "woman billed a gynaecological examination",
        FEMALE,
        adult,
        {"items": [(GYN_EXAM, "20.00", 1)], "claim_type": "outpatient"},
    )
    # Children (YB-ET-001 drugs, YB-ET-002 services)
    one(
        "adult billed children's granules",
        MALE,
        adult,
        {
            "items": [(CHILD_GRANULES, "25.00", 1)],
            "claim_type": "outpatient",
            "labels": ("YB-ET-001",),
        },
    )
    one(
        "15-year-old billed children's ambroxol (limit 14)",
        FEMALE,
        15,
        {
            "items": [(CHILD_AMBROXOL, "18.00", 1)],
            "claim_type": "outpatient",
            "labels": ("YB-ET-001",),
        },
    )
    one(
        "17-year-old billed children's granules (at the limit)",
        MALE,
        17,
        {"items": [(CHILD_GRANULES, "25.00", 1)], "claim_type": "outpatient"},
    )
    one(
        "14-year-old billed children's ambroxol (at the limit)",
        FEMALE,
        14,
        {"items": [(CHILD_AMBROXOL, "18.00", 1)], "claim_type": "outpatient"},
    )
    one(
        "1-year-old billed newborn care",
        FEMALE,
        1,
        {"items": [(NEWBORN_CARE, "80.00", 2)], "labels": ("YB-ET-002",)},
    )
    one("newborn billed newborn care", MALE, 0, {"items": [(NEWBORN_CARE, "80.00", 2)]})
    one(
        "child billed amoxicillin",
        MALE,
        child,
        {"items": [(AMOXICILLIN, "12.00", 1)], "claim_type": "outpatient"},
    )
    # Indication (YB-XD-001, suspicious)
    one(
        "meropenem for hypertension",
        MALE,
        adult,
        {
            "items": [(MEROPENEM, "300.00", 3), (SUSCEPTIBILITY_TEST, "80.00", 1)],
            "dx": "I10",
            "discharged": "2026-03-04",
            "labels": ("YB-XD-001",),
        },
    )
    one(
        "meropenem for pneumonia",
        MALE,
        adult,
        {
            "items": [(MEROPENEM, "300.00", 3), (SUSCEPTIBILITY_TEST, "80.00", 1)],
            "discharged": "2026-03-04",
        },
    )
    one(
        "meropenem with sepsis as a secondary diagnosis",
        FEMALE,
        adult,
        {
            "items": [(MEROPENEM, "300.00", 3), (SUSCEPTIBILITY_TEST, "80.00", 1)],
            "dx": "I10",
            "secondary": ("A41.9",),
            "discharged": "2026-03-04",
        },
    )
    # Care setting and level (YB-JY-001)
    one(
        "lenalidomide at a level-1 hospital",
        MALE,
        60,
        {
            "items": [(LENALIDOMIDE, "900.00", 1)],
            "level": 1,
            "claim_type": "outpatient",
            "dx": "C90.0",
            "labels": ("YB-JY-001",),
        },
    )
    one(
        "lenalidomide at a level-2 hospital",
        MALE,
        60,
        {
            "items": [(LENALIDOMIDE, "900.00", 1)],
            "level": 2,
            "claim_type": "outpatient",
            "dx": "C90.0",
        },
    )
    one(
        "PCI stent billed as outpatient",
        MALE,
        60,
        {
            "items": [(PCI_STENT, "5000.00", 1)],
            "claim_type": "outpatient",
            "dx": "I21.9",
            "labels": ("YB-JY-001",),
        },
    )
    one(
        "PCI stent in a stay",
        MALE,
        60,
        {"items": [(PCI_STENT, "5000.00", 1)], "discharged": "2026-03-06", "dx": "I21.9"},
    )
    # Quantity (YB-SL-001): tramadol 4 a day; albumin 2 a day and 10 a stay
    one(
        "13 tramadol in 3 days",
        FEMALE,
        adult,
        {"items": [(TRAMADOL, "13.00", 13)], "discharged": "2026-03-04", "labels": ("YB-SL-001",)},
    )
    one(
        "12 tramadol in 3 days (at the limit)",
        FEMALE,
        adult,
        {"items": [(TRAMADOL, "12.00", 12)], "discharged": "2026-03-04"},
    )
    one(
        "11 albumin in a 10-day stay",
        MALE,
        adult,
        {"items": [(ALBUMIN, "3850.00", 11)], "discharged": "2026-03-11", "labels": ("YB-SL-001",)},
    )
    one(
        "10 albumin in a 10-day stay, at the ceiling (at both limits)",
        MALE,
        adult,
        {"items": [(ALBUMIN, "3500.00", 10)], "discharged": "2026-03-11"},
    )
    # Course (YB-LC-001, suspicious): meropenem 14 days, a break of 3 days ends a course
    rx = [(MEROPENEM, "300.00", 3), (SUSCEPTIBILITY_TEST, "80.00", 1)]
    one(
        "meropenem for 20 days",
        MALE,
        adult,
        {"items": rx, "discharged": "2026-03-21", "labels": ("YB-LC-001",)},
    )
    one(
        "meropenem for 14 days (at the limit)",
        MALE,
        adult,
        {"items": rx, "discharged": "2026-03-15"},
    )
    one(
        "meropenem over two stays one day apart",
        FEMALE,
        adult,
        {"items": rx, "discharged": "2026-03-11"},
        {
            "items": rx,
            "admitted": "2026-03-13",
            "discharged": "2026-03-19",
            "labels": ("YB-LC-001",),
        },
    )
    one(
        "meropenem in two stays ten days apart",
        FEMALE,
        adult,
        {"items": rx, "discharged": "2026-03-11"},
        {"items": rx, "admitted": "2026-03-22", "discharged": "2026-03-28"},
    )
    # Frequency (YB-PC-001 a day, certain; -002 a month, -003 in 7 days, suspicious)
    one(
        "two head CTs in one visit",
        MALE,
        adult,
        {"items": [(HEAD_CT, "200.00", 2)], "claim_type": "outpatient", "labels": ("YB-PC-001",)},
    )
    one(
        "head CT at two visits the same day",
        MALE,
        adult,
        {"items": [(HEAD_CT, "100.00", 1)], "claim_type": "outpatient"},
        {"items": [(HEAD_CT, "100.00", 1)], "claim_type": "outpatient", "labels": ("YB-PC-001",)},
    )
    one(
        "head CT on two days running",
        FEMALE,
        adult,
        {"items": [(HEAD_CT, "100.00", 1)], "claim_type": "outpatient"},
        {"items": [(HEAD_CT, "100.00", 1)], "claim_type": "outpatient", "admitted": "2026-03-03"},
    )
    one(
        "two head CTs in a 3-day stay",
        FEMALE,
        adult,
        {"items": [(HEAD_CT, "200.00", 2)], "discharged": "2026-03-04"},
    )
    one(
        "three consultations the same day (at the limit)",
        MALE,
        adult,
        {"items": [(CONSULTATION, "10.00", 1)], "claim_type": "outpatient"},
        {"items": [(CONSULTATION, "10.00", 1)], "claim_type": "outpatient"},
        {"items": [(CONSULTATION, "10.00", 1)], "claim_type": "outpatient"},
    )
    one(
        "HbA1c twice in March",
        FEMALE,
        55,
        {"items": [(HBA1C, "60.00", 1)], "claim_type": "outpatient", "dx": "E11.9"},
        {
            "items": [(HBA1C, "60.00", 1)],
            "claim_type": "outpatient",
            "dx": "E11.9",
            "admitted": "2026-03-30",
            "labels": ("YB-PC-002",),
        },
    )
    one(
        "HbA1c on 31 March and 1 April",
        FEMALE,
        55,
        {
            "items": [(HBA1C, "60.00", 1)],
            "claim_type": "outpatient",
            "dx": "E11.9",
            "admitted": "2026-03-31",
        },
        {
            "items": [(HBA1C, "60.00", 1)],
            "claim_type": "outpatient",
            "dx": "E11.9",
            "admitted": "2026-04-01",
        },
    )
    one(
        "4 blood counts in 5 days",
        MALE,
        adult,
        {"items": [(BLOOD_COUNT, "40.00", 2)], "claim_type": "outpatient"},
        {
            "items": [(BLOOD_COUNT, "40.00", 2)],
            "claim_type": "outpatient",
            "admitted": "2026-03-06",
            "labels": ("YB-PC-003",),
        },
    )
    one(
        "blood counts 7 days apart",
        MALE,
        adult,
        {"items": [(BLOOD_COUNT, "40.00", 2)], "claim_type": "outpatient"},
        {
            "items": [(BLOOD_COUNT, "40.00", 2)],
            "claim_type": "outpatient",
            "admitted": "2026-03-09",
        },
    )
    # Price ceiling (YB-BZ-001): national 25.00 at level 3; 441800 lists 30.00 from 2026
    one(
        "consultation at 26.00 in a level-3 hospital",
        MALE,
        adult,
        {
            "items": [(CONSULTATION, "26.00", 1)],
            "claim_type": "outpatient",
            "level": 3,
            "hospital_region": "440100",
            "labels": ("YB-BZ-001",),
        },
    )
    one(
        "consultation at 30.00 where the regional ceiling is 30.00",
        MALE,
        adult,
        {"items": [(CONSULTATION, "30.00", 1)], "claim_type": "outpatient", "level": 3},
    )
    one(
        "consultation at 15.00 in a level-2 hospital (at the ceiling)",
        FEMALE,
        adult,
        {"items": [(CONSULTATION, "15.00", 1)], "claim_type": "outpatient"},
    )
    one(
        "albumin at 360.00 in 2026 (ceiling 350.00)",
        MALE,
        adult,
        {"items": [(ALBUMIN, "360.00", 1)], "labels": ("YB-BZ-001",)},
    )
    one(
        "albumin at 360.00 in 2025 (ceiling 380.00)",
        MALE,
        adult,
        {"items": [(ALBUMIN, "360.00", 1)], "admitted": "2025-11-02"},
    )
    # Duplicate charging (YB-CF-001)
    one(
        "local anaesthesia billed with general",
        FEMALE,
        adult,
        {
            "items": [(GENERAL_ANAESTHESIA, "800.00", 1), (LOCAL_ANAESTHESIA, "60.00", 1)],
            "discharged": "2026-03-05",
            "labels": ("YB-CF-001",),
        },
    )
    one(
        "local anaesthesia alone",
        FEMALE,
        adult,
        {"items": [(LOCAL_ANAESTHESIA, "60.00", 1)], "claim_type": "outpatient"},
    )
    # Unbundling (YB-FJ-001): 3 of the liver panel's parts, the panel is 40.00
    one(
        "liver panel billed as 3 parts",
        MALE,
        adult,
        {
            "items": [(part, "18.00", 1) for part in LIVER_PARTS],
            "claim_type": "outpatient",
            "labels": ("YB-FJ-001",),
        },
    )
    one(
        "2 parts of the liver panel",
        MALE,
        adult,
        {"items": [(part, "18.00", 1) for part in LIVER_PARTS[:2]], "claim_type": "outpatient"},
    )
    # Prerequisites (YB-QZ-002 in the stay, certain; YB-QZ-001 within 7 days, suspicious)
    one(
        "transfusion without typing",
        FEMALE,
        adult,
        {
            "items": [(TRANSFUSION, "400.00", 1)],
            "discharged": "2026-03-04",
            "labels": ("YB-QZ-002",),
        },
    )
    one(
        "transfusion with typing",
        FEMALE,
        adult,
        {
            "items": [(TRANSFUSION, "400.00", 1), (ABO_TYPING, "30.00", 1)],
            "discharged": "2026-03-04",
        },
    )
    one(
        "meropenem without a susceptibility test",
        MALE,
        adult,
        {"items": [(MEROPENEM, "300.00", 3)], "discharged": "2026-03-04", "labels": ("YB-QZ-001",)},
    )
    one(
        "meropenem 5 days after a susceptibility test",
        MALE,
        adult,
        {
            "items": [(SUSCEPTIBILITY_TEST, "80.00", 1)],
            "claim_type": "outpatient",
            "admitted": "2026-02-25",
        },
        {"items": [(MEROPENEM, "300.00", 3)], "discharged": "2026-03-04"},
    )
    return out
