"""Amounts in exponent form are read exactly, and no literal can be slow or crash."""

from __future__ import annotations

import time

import pytest

from settlement.claim import json_integer
from settlement.money import MAX_NUMBER_CHARS, AmountError, JsonNumber, parse_amount

# literal (a JSON number's text) -> fen, or the words of the AmountError
AMOUNTS: list[tuple[str, int | str]] = [
    ("12.5e1", 12_500),
    ("1.25E+2", 12_500),
    ("1.25e2", 12_500),
    ("125000e-3", 12_500),
    ("0e-1000000000", 0),
    ("0.000e999999999", 0),
    ("-0", 0),
    ("-0.0e5", 0),
    ("1e7", 1_000_000_000),
    ("9.999999999E7", 9_999_999_999),
    ("99999999.99", 9_999_999_999),
    ("1e-2", 1),
    ("1.23e-2", "more than 2 decimal places"),
    ("12.3400000000000000000000000000e0", 1234),
    ("1e999999", "over the maximum"),
    ("1E999999999999", "over the maximum"),
    ("1e8", "over the maximum"),
    ("1.0000000001e8", "over the maximum"),
    ("99999999.991", "more than 2 decimal places"),
    ("1E-1000000000", "more than 2 decimal places"),
    ("12.3400000000000000000000000001e0", "more than 2 decimal places"),
    ("1.2345e1", "more than 2 decimal places"),
    ("1.234e1", 1234),
    ("1e-3", "more than 2 decimal places"),
    ("-1e2", "is negative"),
    ("-0.5", "is negative"),
    ("1" + "0" * MAX_NUMBER_CHARS, "longer than 100 characters"),
    ("1e", "is not a number"),
]


@pytest.mark.parametrize(("literal", "expected"), AMOUNTS)
def test_json_number_amounts(literal: str, expected: int | str) -> None:
    if isinstance(expected, int):
        assert parse_amount(JsonNumber(literal)) == expected
    else:
        with pytest.raises(AmountError, match=expected):
            parse_amount(JsonNumber(literal))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00012.500", 1250),
        ("0" * 90 + "1.5", 150),
        ("1e3", "not a decimal number"),  # strings have no exponent form
        ("9" * 5000, "longer than 100 characters"),  # int() would raise beyond 4300 digits
        ("1" * 5000 + ".5", "longer than 100 characters"),
    ],
)
def test_string_amounts_are_bounded(text: str, expected: int | str) -> None:
    if isinstance(expected, int):
        assert parse_amount(text) == expected
    else:
        with pytest.raises(AmountError, match=expected) as caught:
            parse_amount(text)
        assert len(str(caught.value)) < 200  # the input is not echoed whole


def test_huge_exponents_cost_nothing() -> None:
    start = time.perf_counter()
    for literal in ("1e999999999", "1E-999999999", "9.9e" + "9" * 97):
        with pytest.raises(AmountError):
            parse_amount(JsonNumber(literal))
        assert json_integer(JsonNumber(literal)) is None
    assert time.perf_counter() - start < 0.1


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("2.0", 2),
        ("5e1", 50),
        ("2.5", None),
        ("-3.0", -3),
        ("1e99", 10**99),
        # Bounded as JSON Schema validators read numbers (binary64): 1e308 is an
        # integer to them, so a claim's quantity of 1e308 is not malformed;
        # 1e309 is infinity to them, not an integer.
        ("1e100", 10**100),
        ("1e308", 10**308),
        ("-1.7976931348623157e308", -(17976931348623157 * 10**292)),
        ("1.7976931348623158e308", None),
        ("1e309", None),
    ],
)
def test_json_integer_is_exact_and_bounded(literal: str, expected: int | None) -> None:
    assert json_integer(JsonNumber(literal)) == expected
