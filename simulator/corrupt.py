"""Deliberately invalid claims, one kind per settlement error code, for bad-input tests.

Each corruption breaks exactly one rule of the claim contract
(``shared/spec/settlement.md`` section 5) so that the rejection code it should
cause is known; ``unparseable`` produces a line that is not JSON at all.
"""

from __future__ import annotations

import random
from typing import Any

# Corruption kind -> the settlement error code it is built to cause.
KINDS: dict[str, str] = {
    "missing_field": "malformed",
    "bad_claim_type": "malformed",
    "bad_check_char": "invalid_person_id",
    "born_after_admission": "invalid_person_id",
    "short_region": "invalid_region",
    "unknown_region": "no_policy",
    "before_policy": "no_policy",
    "discharge_before_admission": "invalid_dates",
    "outpatient_spans_days": "invalid_dates",
    "bad_date": "invalid_dates",
    "negative_amount": "invalid_amount",
    "three_decimals": "invalid_amount",
    "no_items": "invalid_items",
    "bad_category": "invalid_items",
    "zero_quantity": "invalid_items",
    "bad_level": "invalid_hospital_level",
    "ltc_elsewhere": "ltc_out_of_region",
    "unparseable": "malformed",
}
KIND_NAMES: tuple[str, ...] = tuple(KINDS)

_CHECK = "10X98765432"


def corrupt(claim: dict[str, Any], kind: str, r: random.Random) -> dict[str, Any]:
    """Break ``claim`` in place the way ``kind`` says and return it.

    ``unparseable`` leaves the dict alone: the caller truncates its JSON text.
    Kinds that need a claim type the claim does not have (``ltc_elsewhere``,
    ``outpatient_spans_days``) first turn it into one.
    """
    patient = claim["patient"]
    hospital = claim["hospital"]
    if kind == "missing_field":
        del claim[("diagnosis", "hospital", "items", "submitted_at")[r.randrange(4)]]
    elif kind == "bad_claim_type":
        claim["claim_type"] = ("emergency", "Inpatient", "dental")[r.randrange(3)]
    elif kind == "bad_check_char":
        pid = patient["person_id"]
        wrong = [c for c in _CHECK if c != pid[17]]
        patient["person_id"] = pid[:17] + wrong[r.randrange(len(wrong))]
    elif kind == "born_after_admission":
        # A birth date one year after admission, with a correct check character.
        year = int(claim["admission_date"][:4]) + 1
        body = patient["person_id"][:6] + f"{year:04d}0101" + patient["person_id"][14:17]
        patient["person_id"] = body + _check_char(body)
    elif kind == "short_region":
        if r.random() < 0.5:
            patient["insured_region"] = patient["insured_region"][:5]
        else:
            hospital["region"] = hospital["region"] + "0"
    elif kind == "unknown_region":
        # Beijing: a valid code with no policy file in the bundled set.
        patient["insured_region"] = "110000"
        hospital["region"] = "110000"
    elif kind == "before_policy":
        claim["admission_date"] = "2016-06-01"
        claim["discharge_date"] = (
            "2016-06-01" if claim["claim_type"] == "outpatient" else "2016-06-09"
        )
        if "ltc" in claim:
            claim["ltc"]["days"] = 1
        _keep_birth_before(claim, "2016-06-01")
    elif kind == "discharge_before_admission":
        claim["claim_type"] = "inpatient"
        claim.pop("ltc", None)
        claim["admission_date"], claim["discharge_date"] = "2026-05-10", "2026-05-02"
        _keep_birth_before(claim, "2026-05-10")
    elif kind == "outpatient_spans_days":
        claim["claim_type"] = "outpatient"
        claim.pop("ltc", None)
        claim["discharge_date"] = _next_day(claim["admission_date"])
    elif kind == "bad_date":
        claim["discharge_date"] = claim["discharge_date"][:5] + "02-30"
    elif kind == "negative_amount":
        item = claim["items"][r.randrange(len(claim["items"]))]
        item["amount"] = "-" + str(item["amount"])
    elif kind == "three_decimals":
        item = claim["items"][r.randrange(len(claim["items"]))]
        item["amount"] = str(item["amount"]).split(".")[0] + ".125"
    elif kind == "no_items":
        claim["items"] = []
    elif kind == "bad_category":
        claim["items"][r.randrange(len(claim["items"]))]["category"] = ("D", "a", "Z")[
            r.randrange(3)
        ]
    elif kind == "zero_quantity":
        claim["items"][r.randrange(len(claim["items"]))]["quantity"] = 0
    elif kind == "bad_level":
        hospital["level"] = (0, 4, 5)[r.randrange(3)]
    elif kind == "ltc_elsewhere":
        claim["claim_type"] = "ltc"
        if "ltc" not in claim:
            span = _days_between(claim["admission_date"], claim["discharge_date"]) + 1
            claim["ltc"] = {"setting": "home", "days": span}
        others = [c for c in ("441800", "440100", "440300", "440600", "441900")]
        others = [c for c in others if c != patient["insured_region"]]
        hospital["region"] = others[r.randrange(len(others))]
    elif kind != "unparseable":
        raise ValueError(f"unknown corruption kind {kind!r}; known: {', '.join(KIND_NAMES)}")
    return claim


def truncate(text: str, r: random.Random) -> str:
    """A JSON text cut short so that it no longer parses."""
    cut = max(1, len(text) - 1 - r.randrange(min(40, len(text) - 1)))
    return text[:cut]


def _check_char(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return _CHECK[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def _next_day(iso: str) -> str:
    import datetime as dt

    return (dt.date.fromisoformat(iso) + dt.timedelta(days=1)).isoformat()


def _days_between(a: str, b: str) -> int:
    import datetime as dt

    return max(0, (dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days)


def _keep_birth_before(claim: dict[str, Any], admission: str) -> None:
    # The corrupted dates must not also make the birth date invalid.
    pid = claim["patient"]["person_id"]
    if pid[6:14] >= admission.replace("-", ""):
        body = pid[:6] + "19800101" + pid[14:17]
        claim["patient"]["person_id"] = body + _check_char(body)
