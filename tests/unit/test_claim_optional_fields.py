"""The schema's optional claim fields are validated exactly as claim.schema.json says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from settlement.claim import parse_claim
from settlement.engine import Settler
from settlement.money import JsonNumber
from settlement.policy_loader import load_policy_dir

from .base_claim import BASE_CLAIM, GOLDEN_POLICIES, merge

BOOK = load_policy_dir(GOLDEN_POLICIES)
CLAIM = merge(BASE_CLAIM, {"claim_id": "F1"})

VALID: list[tuple[dict[str, Any], str, Any]] = [
    ({"patient": {"category": "retired"}}, "category", "retired"),
    ({"patient": {"category": "a" * 32}}, "category", "a" * 32),
    ({"patient": {"assistance": "dibao_2"}}, "assistance", "dibao_2"),
    ({"patient": {"intercity_filing": "referral"}}, "intercity_filing", "referral"),
    ({"diagnoses": ["E11.9", "I10"]}, "diagnoses", ("E11.9", "I10")),
    ({"diagnoses": []}, "diagnoses", ()),
    ({"diagnoses": ["x" * 16] + [f"D{n}" for n in range(14)]}, "diagnoses", None),
    ({"procedures": ["36.0A", "00.12345678"]}, "procedures", ("36.0A", "00.12345678")),
    ({"discharge_way": 9}, "discharge_way", 9),
    ({"discharge_way": JsonNumber("1.0")}, "discharge_way", 1),  # JSON Schema: 1.0 is 1
    ({}, "category", None),
    ({}, "procedures", ()),
    ({}, "discharge_way", None),
]

INVALID: list[dict[str, Any]] = [
    {"patient": {"category": None}},  # spec 8.11: null included
    {"patient": {"category": "Retired"}},
    {"patient": {"category": ""}},
    {"patient": {"category": "a" * 33}},
    {"patient": {"category": 1}},
    {"patient": {"assistance": "di bao"}},
    {"patient": {"assistance": ["dibao"]}},
    {"patient": {"intercity_filing": "long-term"}},
    {"patient": {"intercity_filing": None}},
    {"diagnoses": "E11.9"},
    {"diagnoses": None},
    {"diagnoses": ["E11.9", "E11.9"]},
    {"diagnoses": ["E11.9", "J18.9"]},  # the principal diagnosis (dip.md section 1)
    {"diagnoses": [""]},
    {"diagnoses": ["x" * 17]},
    {"diagnoses": [1]},
    {"diagnoses": [f"D{n}" for n in range(16)]},
    {"procedures": ["36.0A", "36.0A"]},
    {"procedures": ["360A"]},
    {"procedures": ["36.123456789"]},
    {"procedures": ["36."]},
    {"procedures": ["3a.0"]},
    {"procedures": ["36.0A\n"]},
    {"procedures": [f"{n:02d}.1" for n in range(16)]},
    {"discharge_way": True},  # a boolean is not 1
    {"discharge_way": 6},
    {"discharge_way": 0},
    {"discharge_way": "1"},
    {"discharge_way": JsonNumber("1.5")},
    {"discharge_way": None},
    {"discharge_way": JsonNumber("1e999999999")},
]


@pytest.mark.parametrize(("override", "attribute", "expected"), VALID)
def test_valid_optional_fields_are_kept_on_the_claim(
    override: dict[str, Any], attribute: str, expected: Any
) -> None:
    check = parse_claim(merge(CLAIM, override), BOOK)
    assert check.claim is not None, check.issues
    if expected is not None or attribute in ("category", "discharge_way"):
        assert getattr(check.claim, attribute) == expected


@pytest.mark.parametrize("override", INVALID, ids=repr)
def test_invalid_optional_fields_are_malformed(override: dict[str, Any]) -> None:
    check = parse_claim(merge(CLAIM, override), BOOK)
    assert check.claim is None
    assert [issue.code for issue in check.issues] == ["malformed"]


def test_a_huge_exponent_discharge_way_is_malformed_not_built() -> None:
    line = json.dumps(CLAIM)[:-1] + ', "discharge_way": 1e999999999}'
    record = Settler(BOOK).settle_json(line, "line:1")
    assert record["status"] == "rejected"
    assert [e["code"] for e in record["errors"]] == ["malformed"]
    assert "discharge_way" in record["errors"][0]["message"]


def test_optional_fields_do_not_change_amounts() -> None:
    plain = Settler(BOOK).settle(CLAIM, "line:1")
    coded = Settler(BOOK).settle(
        merge(
            CLAIM,
            {
                "patient": {"category": "retired", "assistance": "dibao"},
                "diagnoses": ["I10"],
                "procedures": ["36.0A"],
                "discharge_way": 1,
            },
        ),
        "line:1",
    )
    assert coded == plain
