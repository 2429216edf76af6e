"""Exact money and ratio arithmetic: integer fen and ten-thousandths.

Amounts enter as JSON numbers (kept as their literal text by the JSON decoder,
see :mod:`settlement.jsonio`) or numeric strings and never pass through a binary
float. Rounding is half-up and happens only where the spec says "rounded".
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from settlement.jsonnumber import JsonNumber as JsonNumber

MAX_AMOUNT_FEN = 9_999_999_999  # 99,999,999.99 yuan
RATIO_ONE = 10_000  # ratios are held in ten-thousandths: 0.8522 -> 8522

_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))
_NUMERIC_STRING = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?")


class AmountError(ValueError):
    """An amount or ratio that is not a valid exact value; the message says why."""


def _fen_from_parts(negative: bool, whole: str, frac: str, text: str) -> int:
    frac = frac.rstrip("0")
    if len(frac) > 2:
        raise AmountError(f"{text!r} has more than 2 decimal places")
    fen = int(whole) * 100 + int(frac.ljust(2, "0") or "0")
    if negative and fen:
        raise AmountError(f"{text!r} is negative")
    if fen > MAX_AMOUNT_FEN:
        raise AmountError(f"{text!r} is over the maximum of 99999999.99")
    return fen


def _fen_from_decimal(value: Decimal, text: str) -> int:
    if not value.is_finite():
        raise AmountError(f"{text!r} is not a finite number")
    scaled = value * 100
    if scaled != scaled.to_integral_value():
        raise AmountError(f"{text!r} has more than 2 decimal places")
    if scaled < 0:
        raise AmountError(f"{text!r} is negative")
    if scaled > MAX_AMOUNT_FEN:
        raise AmountError(f"{text!r} is over the maximum of 99999999.99")
    return int(scaled)


def parse_amount(value: object) -> int:
    """Parse an input amount in yuan into integer fen.

    Args:
        value: an ``int``, a :class:`JsonNumber` (a JSON number's literal text)
            or a numeric string ``-?digits[.digits]``.

    Returns:
        The amount in fen, 0 to ``MAX_AMOUNT_FEN``.

    Raises:
        AmountError: the value is not numeric, is negative, is over the maximum
            or has more than 2 decimals. ``TypeError`` for other Python types.
    """
    if type(value) is int:
        if value < 0:
            raise AmountError(f"{value} is negative")
        if value > MAX_AMOUNT_FEN // 100:
            raise AmountError(f"{value} is over the maximum of 99999999.99")
        return value * 100
    if isinstance(value, JsonNumber):
        match = _NUMERIC_STRING.fullmatch(value)
        if match:
            return _fen_from_parts(value[0] == "-", match[1], match[2] or "", value)
        try:  # exponent form such as 1.5e2: rare, so Decimal is fine here
            return _fen_from_decimal(Decimal(value), value)
        except InvalidOperation:
            raise AmountError(f"{value!r} is not a number") from None
    if isinstance(value, str):
        match = _NUMERIC_STRING.fullmatch(value)
        if not match:
            raise AmountError(f"{value!r} is not a decimal number like 1234.50")
        return _fen_from_parts(value[0] == "-", match[1], match[2] or "", value)
    raise TypeError(f"an amount must be a JSON number or string, not {type(value).__name__}")


def parse_ratio_text(text: str) -> int:
    """Parse a ratio written as decimal text (``"0.8522"``) into ten-thousandths.

    Raises:
        AmountError: not a plain decimal, more than 4 decimals, or outside 0 to 1.
    """
    match = _NUMERIC_STRING.fullmatch(text)
    if not match or text.startswith("-"):
        raise AmountError(f"{text!r} is not a ratio between 0 and 1")
    frac = (match[2] or "").rstrip("0")
    if len(frac) > 4:
        raise AmountError(f"{text!r} has more than 4 decimal places")
    value = int(match[1]) * RATIO_ONE + int(frac.ljust(4, "0") or "0")
    if value > RATIO_ONE:
        raise AmountError(f"{text!r} is more than 1")
    return value


def parse_yuan_text(text: str) -> int:
    """Parse a non-negative yuan amount written as decimal text into fen (policy files)."""
    match = _NUMERIC_STRING.fullmatch(text)
    if not match or text.startswith("-"):
        raise AmountError(f"{text!r} is not a non-negative amount in yuan")
    return _fen_from_parts(False, match[1], match[2] or "", text)


def round_ratio(amount_fen: int, ratio: int) -> int:
    """``amount x ratio`` rounded half-up to the fen (amount non-negative)."""
    return (amount_fen * ratio + 5000) // 10000


def format_fen(fen: int) -> str:
    """Format fen as yuan with exactly two decimals: ``123450 -> "1234.50"``."""
    # A table lookup, not a ``:02d`` format spec: compiled by mypyc, the spec
    # goes through the generic formatter and costs eight times as much.
    if fen >= 0:
        return f"{fen // 100}.{_TWO_DIGITS[fen % 100]}"
    whole, cents = divmod(-fen, 100)
    return f"-{whole}.{_TWO_DIGITS[cents]}"


def format_ratio(ratio: int) -> str:
    """Format ten-thousandths with exactly four decimals: ``8522 -> "0.8522"``."""
    return f"{ratio // RATIO_ONE}.{str(ratio % RATIO_ONE + RATIO_ONE)[1:]}"


def parse_fen_text(text: str) -> int:
    """Parse an output amount (``"1234.50"``, possibly negative) back into fen."""
    negative = text.startswith("-")
    whole, _, cents = text.lstrip("-").partition(".")
    fen = int(whole) * 100 + int(cents.ljust(2, "0")[:2] or "0")
    return -fen if negative else fen
