"""The typed fast path (settlement.claim_fast) answers exactly as the exact path, or not at all.

``yibao settle`` reads the usual claim line with msgspec into typed Structs
(``settlement.claim_wire``) and validates it in ``claim_from_wire``; anything
it does not take goes through ``decode_claim`` and ``parse_claim``, the
reference. These properties check, on real outputs, that:

1. every amount of the valid range (0 to 99,999,999.99 yuan), as a JSON
   number or a string, with or without trailing zeros, is read to the same
   fen as the exact path reads it, and the claim takes the fast path;
2. near-miss literals (a valid amount followed by more digits, such as
   ``12.3400000000000000000000000001``, which a binary double cannot tell
   from ``12.34``; exponents, ``-0``, ``1e400``, huge integers, over-long
   literals) give the exact path's record, word for word;
3. a valid claim with any field removed or replaced by any JSON value, or by
   a hostile value (deep nesting, NaN, lone surrogates...), gives the same
   record through ``Settler.settle_json`` as through the exact path.
"""

from __future__ import annotations

import json
from typing import Any, Literal, get_args, get_origin, get_type_hints

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlement.claim import (
    CATEGORIES,
    CLAIM_TYPE_NAMES,
    DISCHARGE_WAYS,
    INTERCITY_FILING_NAMES,
    LTC_SETTING_NAMES,
    SCHEME_NAMES,
    parse_claim,
)
from settlement.claim_fast import fast_claim
from settlement.claim_wire import WireClaim, WireHospital, WireItem, WireLtc, WirePatient
from settlement.engine import Settler, rejected_record
from settlement.errors import MALFORMED, ClaimIssue
from settlement.idnumber import check_character
from settlement.jsonio import decode_claim, malformed_message
from settlement.money import MAX_AMOUNT_FEN, MAX_NUMBER_CHARS, format_fen
from settlement.policy_loader import load_policy_dir

from .base_claim import BASE_CLAIM, GOLDEN_POLICIES, merge
from .test_claim_schema_property import FIELD_VALUES, JSON_VALUES, PATHS, VALID_CLAIMS, _mutate
from .test_settle_fuzz import HOSTILE_VALUES

BOOK = load_policy_dir(GOLDEN_POLICIES)
MARKER = '"__AMOUNT__"'


def exact_record(line: bytes) -> dict[str, Any]:
    """The record of ``line`` through the exact decoder and ``parse_claim`` only."""
    try:
        obj = decode_claim(line)
    except ValueError as exc:
        return rejected_record("line:1", [ClaimIssue(MALFORMED, malformed_message(exc))])
    return Settler(BOOK).settle(obj, "line:1")


def assert_agrees(line: bytes) -> dict[str, Any]:
    """``line`` settles as the exact path settles it; the fast claim, if any, is its claim."""
    record = Settler(BOOK).settle_json(line, "line:1")
    assert record == exact_record(line)
    claim = fast_claim(line, BOOK)
    if claim is not None:
        assert claim == parse_claim(decode_claim(line), BOOK).claim
    return record


def amount_line(literal: str, category: str = "B") -> bytes:
    """A two-item claim whose first amount is the raw JSON text ``literal``."""
    claim = merge(
        BASE_CLAIM,
        {
            "claim_id": "AM1",
            "items": [
                {"code": "X1", "category": category, "amount": "__AMOUNT__", "quantity": 1},
                {"code": "X2", "category": "A", "amount": 12.5},
            ],
        },
    )
    return json.dumps(claim).replace(MARKER, literal).encode()


def yuan_text(fen: int, decimals: int, zeros: int) -> str:
    """``fen`` as a decimal with ``decimals`` (0-2, as far as exact) and ``zeros`` more."""
    whole, cents = divmod(fen, 100)
    if decimals == 0 and cents == 0:
        text = str(whole)
        return text + ("." + "0" * zeros if zeros else "")
    if decimals == 1 and cents % 10 == 0:
        return f"{whole}.{cents // 10}" + "0" * zeros
    return f"{whole}.{cents:02d}" + "0" * zeros


@settings(max_examples=400, deadline=None)
@given(
    fen=st.one_of(
        st.integers(0, MAX_AMOUNT_FEN),
        st.sampled_from([0, 1, 5, 10, 99, 100, 101, 9_999_999_999, 9_999_999_990, 123_456_789]),
    ),
    decimals=st.integers(0, 2),
    zeros=st.integers(0, 20),
    as_string=st.booleans(),
)
def test_every_valid_amount_reads_as_the_exact_path_reads_it(
    fen: int, decimals: int, zeros: int, as_string: bool
) -> None:
    text = yuan_text(fen, decimals, zeros)
    literal = json.dumps(text) if as_string else text
    line = amount_line(literal)
    record = assert_agrees(line)
    assert record["status"] == "settled"
    assert record["total"] == format_fen(fen + 1250)  # read to the fen, plus the 12.50 item
    if len(text.partition(".")[2]) <= 2:  # the usual amount takes the fast path
        claim = fast_claim(line, BOOK)
        assert claim is not None, literal
        assert claim.items[0].amount_fen == fen


@settings(max_examples=400, deadline=None)
@given(
    fen=st.integers(0, MAX_AMOUNT_FEN),
    extra=st.from_regex(r"[0-9]{0,30}[1-9]", fullmatch=True),
    as_string=st.booleans(),
    exponent=st.sampled_from(["", "e0", "E+0", "e-0", "e1", "e-1", "e2", "e-2", "e+15", "e-400"]),
)
def test_a_near_miss_literal_answers_as_the_exact_path(
    fen: int, extra: str, as_string: bool, exponent: str
) -> None:
    """A valid amount with more digits behind it is never read as that amount."""
    text = f"{fen // 100}.{fen % 100:02d}{extra}"
    literal = json.dumps(text) if as_string else text + exponent
    record = assert_agrees(amount_line(literal))
    if not exponent or exponent in ("e0", "E+0", "e-0"):
        # more than 2 decimals, however close to a valid amount
        assert record["status"] == "rejected"
        assert [e["code"] for e in record["errors"]] == ["invalid_amount"]


NEAR_MISSES = [
    "12.3400000000000000000000000001",
    "12.34000000000000000000000000001e0",
    "12.3400000000000000000000000000",
    "12.3399999999999999999999999999",
    "99999999.99",
    "99999999.990000000000000000001",
    "99999999.995",
    "99999999.999999999999999999999",
    "100000000",
    "100000000.00",
    "0.001",
    "0.0000000000000000000000000001",
    "-0",
    "-0.0",
    "-0.00",
    "-0.01",
    "1e400",
    "1E400",
    "-1e400",
    "1e-400",
    "0e-400",
    "1.25e2",
    "125e-2",
    "1234e-2",
    "12345e-3",
    "4.9e-324",
    "1.7976931348623157e308",
    str(2**63),
    str(2**64),
    str(-(2**63) - 1),
    "9" * 20,
    "1" + "0" * MAX_NUMBER_CHARS,
    "1." + "5" * MAX_NUMBER_CHARS,
    "1.5" + "0" * (MAX_NUMBER_CHARS - 3),
    "1.5" + "0" * (MAX_NUMBER_CHARS - 2),
    "9" * 5000,
    '"12.345"',
    '"-0"',
    '"1e2"',
    '" 12.50"',
    '"12.50\\n"',
    '"1\\u0032.50"',
    '"\\u0661\\u0662"',
    '"00012.500"',
    "true",
    "null",
    "[12.5]",
    '{"yuan": 12.5}',
]


@pytest.mark.parametrize("literal", NEAR_MISSES)
def test_named_near_misses_answer_as_the_exact_path(literal: str) -> None:
    assert_agrees(amount_line(literal))
    assert_agrees(amount_line(literal, category="C"))


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    claim=st.sampled_from(VALID_CLAIMS),
    path=st.sampled_from(PATHS),
    value=st.one_of(JSON_VALUES, FIELD_VALUES),
    remove=st.booleans(),
)
def test_a_mutated_claim_answers_as_the_exact_path(
    claim: dict[str, Any], path: tuple[Any, ...], value: Any, remove: bool
) -> None:
    document = _mutate(claim, path, value, remove)
    if document is None:
        return
    assert_agrees(json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("index", range(len(HOSTILE_VALUES)))
@pytest.mark.parametrize("path", [("items", 0, "amount"), ("extra",), ("ltc",), ("patient",)])
def test_hostile_values_answer_as_the_exact_path(index: int, path: tuple[Any, ...]) -> None:
    document = _mutate(VALID_CLAIMS[0], path, "__AMOUNT__", False)
    line = json.dumps(document).replace(MARKER, HOSTILE_VALUES[index]).encode()
    assert_agrees(line)


@pytest.mark.parametrize(
    "line",
    [
        # duplicate keys: the last one counts, in both paths
        b'{"claim_id": "DK1", "claim_id": "DK2"' + json.dumps(BASE_CLAIM).encode()[1:],
        json.dumps(BASE_CLAIM | {"claim_id": "DK3"})
        .encode()
        .replace(b'"amount": "10000.00"', b'"amount": 12.345, "amount": 12.34'),
        json.dumps(BASE_CLAIM | {"claim_id": "DK4"})
        .encode()
        .replace(b'"amount": "10000.00"', b'"amount": 12.34, "amount": 12.345'),
        # an unknown field, broken UTF-8 or a lone surrogate anywhere: the exact path
        json.dumps(BASE_CLAIM | {"claim_id": "U1", "note": 1.5}).encode(),
        json.dumps(BASE_CLAIM | {"claim_id": "U2"}).encode().replace(b'"X1"', b'"X\xff"'),
        json.dumps(BASE_CLAIM | {"claim_id": "U3"}).encode().replace(b'"X1"', b'"\\ud800"'),
        json.dumps(BASE_CLAIM | {"claim_id": "U4"}).encode().replace(b'"X1"', b'"X\xed\xa0\x80"'),
        json.dumps(BASE_CLAIM | {"claim_id": "U5"}).encode().replace(b'"X1"', b'"\\u4e2d"'),
        b"\xef\xbb\xbf" + json.dumps(BASE_CLAIM | {"claim_id": "U6"}).encode(),
        json.dumps(BASE_CLAIM | {"claim_id": "U7"}).encode() + b" x",
        json.dumps(BASE_CLAIM | {"claim_id": "U8", "fraud_type": None, "is_fraud": None}).encode(),
        json.dumps(merge(BASE_CLAIM, {"claim_id": "U9", "patient": {"category": None}})).encode(),
        # a value settlement ignores or overwrites is still bounded by the exact decoder
        json.dumps(BASE_CLAIM | {"claim_id": "B1", "ltc": {"setting": "home", "days": 1}})
        .encode()
        .replace(b'"days": 1', b'"days": 1' + b"0" * 100),
        json.dumps(BASE_CLAIM | {"claim_id": "B2", "ltc": {"setting": "home", "days": 1}})
        .encode()
        .replace(b'"days": 1', b'"days": -1' + b"0" * 30),
        json.dumps(BASE_CLAIM | {"claim_id": "B3"})
        .encode()
        .replace(b'"amount": "10000.00"', b'"amount": 1.' + b"5" * 100 + b', "amount": 1'),
        json.dumps(BASE_CLAIM | {"claim_id": "B4"})
        .encode()
        .replace(b'"amount": "10000.00"', b'"amount": 1' + b"0" * 100 + b', "amount": 1'),
        json.dumps(BASE_CLAIM | {"claim_id": "B5"})
        .encode()
        .replace(b'"amount": "10000.00"', b'"amount": ' + b"[" * 70 + b"]" * 70 + b', "amount": 1'),
        json.dumps(BASE_CLAIM | {"claim_id": "B6"})
        .encode()
        .replace(b'"amount": "10000.00"', b'"amount": 1e999999, "\\u0061mount": 1'),
        json.dumps(BASE_CLAIM | {"claim_id": "B7"})
        .encode()
        .replace(b'"amount": "10000.00"', b'"amount": 1, "quantity": 1' + b"0" * 100),
    ],
)
def test_odd_documents_answer_as_the_exact_path(line: bytes) -> None:
    assert_agrees(line)


def person(first17: str) -> str:
    return first17 + check_character(first17)


# Each valid in every field alone, invalid only across fields or against the policies.
CROSS_FIELD = [
    {"patient": {"person_id": person("44180220260401001")}},  # born after admission
    {"patient": {"person_id": person("44180220260301001")}},  # born on admission: valid
    {"patient": {"person_id": person("44180219800231001")}},  # no 31 February
    {"patient": {"person_id": "441802198001010013"}},  # bad check character
    {"patient": {"person_id": "44180219800101001x"}},  # lower-case x
    {"discharge_date": "2026-02-28"},  # before admission
    {"claim_type": "outpatient"},  # an outpatient visit spanning days
    {"claim_type": "outpatient", "discharge_date": "2026-03-01"},
    {"claim_type": "ltc", "ltc": {"setting": "home", "days": 6}},  # more days than the stay
    {"claim_type": "ltc", "ltc": {"setting": "home", "days": 5}},
    {"claim_type": "ltc", "ltc": {"setting": "home", "days": 0}},
    {"claim_type": "ltc"},  # no ltc object
    {"claim_type": "ltc", "ltc": {"setting": "home", "days": 5}, "hospital": {"region": "440100"}},
    {"claim_type": "outpatient", "ltc": {"setting": "nowhere", "days": 0}},
    {"patient": {"insured_region": "449999"}},  # no policy file
    {"discharge_date": "2001-03-05", "admission_date": "2001-03-01"},  # no version in force
    {"diagnoses": ["J18.9"]},  # the principal diagnosis again
    {"diagnoses": ["E11.9", "E11.9"]},
    {"diagnoses": [str(n) for n in range(16)]},
    {"procedures": ["47.01", "47.01"]},
    {"procedures": ["4701"]},
    {"discharge_way": 6},
    {"discharge_way": 9},
    {"patient": {"category": "Retired"}},
    {"patient": {"assistance": ""}},
    {"patient": {"intercity_filing": "forever"}},
    {"hospital": {"hospital_id": "QY H01"}},
    {"hospital": {"level": 4}},
    {"claim_id": "C" * 65},
    {"submitted_at": "2026-03-06T09:00:00"},
    {"submitted_at": "2026-02-30T09:00:00+08:00"},
    {"admission_date": "2026-3-01"},
    {"diagnosis": "J" * 17},
    {"items": []},
    {"items": [{"code": "", "category": "A", "amount": 1}]},
    {"items": [{"code": "X", "category": "D", "amount": 1}]},
    {"items": [{"code": "X", "category": "A", "amount": 1, "quantity": 0}]},
    {"items": [{"code": "X", "category": "A", "amount": 1, "quantity": 2.0}]},
    {"items": [{"code": "X", "category": "A", "amount": 1, "quantity": 10**30}]},
    {"hospital": {"level": 2.0}},
    {"ltc": {"setting": "home", "days": 1e0}, "claim_type": "ltc"},
]


@pytest.mark.parametrize("override", CROSS_FIELD)
def test_cross_field_checks_answer_as_the_exact_path(override: dict[str, Any]) -> None:
    line = json.dumps(merge(BASE_CLAIM, {"claim_id": "CF1"} | override)).encode()
    assert_agrees(line)


def test_the_usual_claims_take_the_fast_path() -> None:
    """Without this the properties above would hold for a fast path that never answers."""
    for claim in VALID_CLAIMS:
        for amount in (12.5, "12.50", 12, 0, 99999999.99, "99999999.99"):
            document = merge(claim, {"items": [{"code": "X1", "category": "B", "amount": amount}]})
            line = json.dumps(document).encode()
            fast = fast_claim(line, BOOK)
            assert fast is not None, document
            assert fast == parse_claim(decode_claim(line), BOOK).claim


def _literal_values(hint: Any) -> tuple[Any, ...]:
    """The values of a ``Literal[...]`` hint, or of the Literal in ``Literal[...] | UnsetType``."""
    if get_origin(hint) is Literal:
        return get_args(hint)
    (literal,) = [arg for arg in get_args(hint) if get_origin(arg) is Literal]
    return get_args(literal)


def test_the_typed_decoder_lists_the_contracts_values() -> None:
    """The closed lists the typed decoder checks are the ones ``parse_claim`` checks."""
    claim = get_type_hints(WireClaim)
    assert _literal_values(claim["claim_type"]) == CLAIM_TYPE_NAMES
    assert _literal_values(claim["discharge_way"]) == DISCHARGE_WAYS
    patient = get_type_hints(WirePatient)
    assert _literal_values(patient["scheme"]) == SCHEME_NAMES
    assert _literal_values(patient["intercity_filing"]) == INTERCITY_FILING_NAMES
    assert _literal_values(get_type_hints(WireHospital)["level"]) == (1, 2, 3)
    assert _literal_values(get_type_hints(WireItem)["category"]) == CATEGORIES
    assert _literal_values(get_type_hints(WireLtc)["setting"]) == LTC_SETTING_NAMES


@pytest.mark.parametrize(
    "day",
    ["2024-02-29", "2026-02-29", "0000-01-01", "0001-01-01", "9999-12-31", "2026-3-01",
     "20260301", "2026-03-01T00:00", "2026-03-01 ", "+2026-03-01", "\\u0032026-03-01",
     "2026-W09-7", "2026-060", "2026-13-01", "2026-01-00"],
)  # fmt: skip
def test_dates_are_read_as_parse_date_reads_them(day: str) -> None:
    for field, other in (
        ("admission_date", {"discharge_date": "9999-12-31"}),
        ("discharge_date", {"admission_date": "1990-01-01"}),
    ):
        document = merge(BASE_CLAIM, {"claim_id": "DT1", field: "__DAY__"} | other)
        assert_agrees(json.dumps(document).replace("__DAY__", day).encode())
