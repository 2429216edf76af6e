"""Exact money parsing and formatting, identity-number checks and masking."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.claim import fast_amount
from settlement.engine import Settler
from settlement.explain import explain_settlement
from settlement.idnumber import (
    check_character,
    identity_number_problem,
    mask_identity_numbers,
    mask_person_id,
)
from settlement.jsonio import (
    decode_claim,
    decode_claim_fast,
    encode_record,
    encode_record_bytes,
)
from settlement.money import (
    AmountError,
    JsonNumber,
    format_fen,
    format_ratio,
    parse_amount,
    round_ratio,
)
from settlement.policy_loader import load_policy_dir

SAMPLES = Path(__file__).resolve().parents[2] / "settlement" / "samples"


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        (12, 1200),
        (JsonNumber("12.5"), 1250),
        (JsonNumber("12.50"), 1250),
        (JsonNumber("12.500"), 1250),
        (JsonNumber("1.5e2"), 15000),
        (JsonNumber("0.07"), 7),
        ("0.07", 7),
        ("-0", 0),
        ("99999999.99", 9_999_999_999),
        (JsonNumber("-0.00"), 0),
    ],
)
def test_amounts_parse_exactly(value: object, fen: int) -> None:
    assert parse_amount(value) == fen


@pytest.mark.parametrize(
    "value",
    ["12.345", JsonNumber("12.345"), "-1", -1, "1e3", "12.", ".5", "", "100000000", 100_000_000,
     JsonNumber("1e-3"), " 1", "１２"],
)  # fmt: skip
def test_invalid_amounts_are_refused(value: object) -> None:
    with pytest.raises(AmountError):
        parse_amount(value)


@pytest.mark.parametrize("value", [True, None, [1], {"a": 1}])
def test_amounts_of_the_wrong_type_are_type_errors(value: object) -> None:
    with pytest.raises(TypeError):
        parse_amount(value)


@pytest.mark.parametrize(
    "value",
    ["12.5", "12.50", "0", "7", "12.", "1e3", " 1", "12.345", "-1", "99999999.99", "100000000"],
)
def test_fast_path_agrees_with_full_parse(value: str) -> None:
    try:
        expected: int | None = parse_amount(value)
    except AmountError:
        expected = None
    assert fast_amount(value) in (None, expected)
    if expected is None:
        assert fast_amount(value) is None


def test_json_numbers_keep_their_digits() -> None:
    claim = decode_claim('{"amount": 0.1, "n": 3, "big": 12345678.91}')
    assert claim["amount"] == "0.1" and isinstance(claim["amount"], JsonNumber)
    assert claim["n"] == 3
    assert parse_amount(claim["big"]) == 1_234_567_891
    with pytest.raises(ValueError):
        decode_claim('{"amount": NaN}')


def test_rounding_is_half_up_and_formatting_exact() -> None:
    assert round_ratio(2500, 8522) == 2131  # 2130.5 -> 2131
    assert round_ratio(3, 1500) == 0  # 0.45 -> 0
    assert round_ratio(10, 1500) == 2  # 1.5 -> 2
    assert format_fen(0) == "0.00" and format_fen(5) == "0.05" and format_fen(123450) == "1234.50"
    assert format_fen(-5) == "-0.05"
    assert format_ratio(8522) == "0.8522" and format_ratio(10000) == "1.0000"


def test_identity_numbers() -> None:
    assert check_character("11010519491231002") == "X"
    assert identity_number_problem("11010519491231002X", date(2026, 1, 1)) is None
    assert "check character" in (identity_number_problem("110105194912310021", None) or "")
    assert "after admission" in (
        identity_number_problem("11010519491231002X", date(1949, 1, 1)) or ""
    )
    assert mask_person_id("440103199003030035") == "440103********0035"
    line = "claim for 440103199003030035 and 11010519491231002X settled"
    assert (
        mask_identity_numbers(line) == "claim for 440103********0035 and 110105********002X settled"
    )


def test_explanation_names_rule_parameter_and_version() -> None:
    book = load_policy_dir()
    record = {
        "claim_id": "E1", "status": "settled", "claim_type": "inpatient",
        "discharge_date": "2026-03-05", "intercity": True, "insured_region": "441800",
        "treatment_region": "440100", "policy_version": "441800@2026-01-01",
        "total": "12000.00", "category_self_pay": "800.00", "eligible": "11200.00",
        "deductible": "1000.00", "ratio": "0.7722", "fund_pay": "7876.44",
        "over_cap": "0.00", "patient_pay": "4123.56", "errors": [],
    }  # fmt: skip
    steps = {step["amount"]: step for step in explain_settlement(record, book, "employee", 3)}
    assert (
        steps["deductible"]["parameter"] == "employee.inpatient.deductible[level 3] = 1000.00 yuan"
    )
    assert "without inter-city registration" in steps["ratio"]["rule"]
    assert "intercity_unregistered_reduction = 0.0800" in steps["ratio"]["parameter"]
    assert all(step["policy_version"] == "441800@2026-01-01" for step in steps.values())
    assert steps["fund_pay"]["value"] == "7876.44"
    assert explain_settlement({"claim_id": "x", "status": "rejected", "errors": []}, book) == []


@settings(max_examples=500)
@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_character_matches_the_iso_7064_definition(first17: str) -> None:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(digit) * weight for digit, weight in zip(first17, weights, strict=True))
    assert check_character(first17) == "10X98765432"[total % 11]


_text = st.text(st.characters(blacklist_categories=("Cs",)))  # stdlib cannot encode surrogates
_record_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400)
@given(st.dictionaries(_text, _record_values, max_size=6))
def test_fast_record_encoder_writes_the_same_bytes(record: dict[str, object]) -> None:
    # Text, integers, booleans and nesting: everything a settlement record holds.
    assert encode_record_bytes(record) == encode_record(record).encode()


def test_fast_record_encoder_falls_back_on_what_orjson_refuses() -> None:
    for record in ({"message": "bad \udc80 byte"}, {"fen": 2**70}):
        encoded = encode_record_bytes(record)
        assert json.loads(encoded) == record
        encoded.decode("utf-8")  # still valid UTF-8


def test_settlement_records_encode_identically_both_ways() -> None:
    settler = Settler(load_policy_dir(None))
    lines = (SAMPLES / "claims.jsonl").read_bytes().splitlines()
    records = [settler.settle_json(line, f"line:{n}") for n, line in enumerate(lines, 1)]
    assert {r["status"] for r in records} >= {"settled", "rejected"}
    for record in records:
        assert encode_record_bytes(record) == encode_record(record).encode()


def _decoded(raw: bytes) -> tuple[str, object]:
    try:
        return "value", decode_claim(raw)
    except ValueError:
        return "error", None


def _decoded_fast(raw: bytes) -> tuple[str, object]:
    try:
        return "value", decode_claim_fast(raw)
    except ValueError:
        return "error", None


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=400)
@given(_json_values, st.integers(0, 40), st.binary(max_size=3))
def test_fast_claim_decoder_agrees_with_the_exact_one(value: object, at: int, noise: bytes) -> None:
    # Valid documents, and the same documents with a few bytes of noise spliced in.
    text = json.dumps(value, allow_nan=True).encode()
    for raw in (text, text[:at] + noise + text[at:]):
        fast, exact = _decoded_fast(raw), _decoded(raw)
        assert fast == exact
        if fast[0] == "value":  # same types too: literal numbers stay JsonNumber
            assert repr(fast[1]) == repr(exact[1])


def test_fast_claim_decoder_keeps_number_literals_and_errors() -> None:
    doc = b'{"items": [{"amount": 12.50, "quantity": 2}], "n": 123456789012345678901234567890}'
    assert decode_claim_fast(doc) == decode_claim(doc)
    assert isinstance(decode_claim_fast(doc)["items"][0]["amount"], JsonNumber)
    with pytest.raises(ValueError, match="NaN is not valid JSON"):
        decode_claim_fast(b'{"a": NaN}')
