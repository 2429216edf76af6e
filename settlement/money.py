"""Exact money and ratio arithmetic: integer fen and ten-thousandths.

Amounts enter as JSON numbers (kept as their literal text by the JSON decoder,
see :mod:`settlement.jsonio`) or numeric strings and never pass through a binary
float nor a Decimal context: exponent forms are read with integer arithmetic.
Rounding is half-up and happens only where the spec says "rounded".
"""

from __future__ import annotations

import re

from settlement.jsonnumber import JsonNumber as JsonNumber

MAX_AMOUNT_FEN = 9_999_999_999  # 99,999,999.99 yuan
RATIO_ONE = 10_000  # ratios are held in ten-thousandths: 0.8522 -> 8522
#: The longest number literal (JSON number or numeric string) that is read at
#: all; every valid amount fits in far fewer, and the bound keeps int() and the
#: exponent arithmetic below cheap whatever the input.
MAX_NUMBER_CHARS = 100

_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))
_NUMERIC_STRING = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?")
_JSON_NUMBER = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([-+]?[0-9]+))?")
# The integer part of an amount has at most 8 digits (99,999,999.99).
_MAX_WHOLE_DIGITS = 8
#: The largest whole number a JSON literal is read as (the largest finite binary64
#: double, about 1.8e308): JSON Schema validators read numbers as doubles, so to
#: them ``1e308`` is an integer and ``1e309`` infinity, not an integer.
MAX_JSON_INTEGER = int(1.7976931348623157e308)
_MAX_JSON_INTEGER_DIGITS = len(str(MAX_JSON_INTEGER))


class AmountError(ValueError):
    """An amount or ratio that is not a valid exact value; the message says why."""


def shown(text: str, limit: int = 40) -> str:
    """``repr(text)``, cut to ``limit`` characters so an error never echoes a huge input."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f"... ({len(text)} characters)"


def exact_decimal(whole: str, frac: str, exponent: str) -> tuple[str, int]:
    """The exact value of a decimal literal as significant digits and a power of ten.

    ``whole.frac e exponent`` equals ``int(digits) x 10**power``, with the leading
    and trailing zeros of ``digits`` removed (``"0"`` and power 0 for zero).
    Only integer arithmetic on the literal's own characters: no Decimal context
    to overflow and no power of ten is ever computed, so ``1e999999999`` costs
    no more than ``1e9``. The caller bounds the literal's length.
    """
    digits = (whole + frac).lstrip("0")
    power = (int(exponent) if exponent else 0) - len(frac)
    significant = digits.rstrip("0")
    if not significant:
        return "0", 0
    return significant, power + len(digits) - len(significant)


def _too_long(text: str) -> AmountError:
    return AmountError(f"{shown(text)} is longer than {MAX_NUMBER_CHARS} characters")


def _fen_from_parts(negative: bool, whole: str, frac: str, exponent: str, text: str) -> int:
    digits, power = exact_decimal(whole, frac, exponent)
    if power < -2:
        raise AmountError(f"{shown(text)} has more than 2 decimal places")
    if negative and digits != "0":
        raise AmountError(f"{shown(text)} is negative")
    # digits has no leading zero: its length plus the power is the number of
    # digits before the point, compared without computing 10**power.
    if len(digits) + power > _MAX_WHOLE_DIGITS:
        raise AmountError(f"{shown(text)} is over the maximum of 99999999.99")
    fen = int(digits + "0" * (power + 2))  # power + 2 is 0 to 10 here
    if fen > MAX_AMOUNT_FEN:
        raise AmountError(f"{shown(text)} is over the maximum of 99999999.99")
    return fen


def json_integer_value(text: str) -> int | None:
    """The integer a non-integer JSON literal denotes (``"2.0"``, ``"5e1"``), or None.

    None when the literal is not a number, not whole, or its magnitude is over
    :data:`MAX_JSON_INTEGER` (checked on the digit count first, so
    ``1e999999999`` is never materialised).
    """
    if len(text) > MAX_NUMBER_CHARS:
        return None
    match = _JSON_NUMBER.fullmatch(text)
    if not match:
        return None
    digits, power = exact_decimal(match[2], match[3] or "", match[4] or "")
    if power < 0 or len(digits) + power > _MAX_JSON_INTEGER_DIGITS:
        return None
    value = int(digits + "0" * power)
    if value > MAX_JSON_INTEGER:
        return None
    return -value if match[1] else value


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
        # A JSON number may be in exponent form (1.25e2): read exactly, see exact_decimal.
        if len(value) > MAX_NUMBER_CHARS:
            raise _too_long(value)
        match = _JSON_NUMBER.fullmatch(value)
        if match is None:
            raise AmountError(f"{shown(value)} is not a number")
        return _fen_from_parts(match[1] == "-", match[2], match[3] or "", match[4] or "", value)
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_CHARS:
            raise _too_long(value)
        match = _NUMERIC_STRING.fullmatch(value)
        if match is None:
            raise AmountError(f"{shown(value)} is not a decimal number like 1234.50")
        return _fen_from_parts(value[0] == "-", match[1], match[2] or "", "", value)
    raise TypeError(f"an amount must be a JSON number or string, not {type(value).__name__}")


def parse_ratio_text(text: str) -> int:
    """Parse a ratio written as decimal text (``"0.8522"``) into ten-thousandths.

    Raises:
        AmountError: not a plain decimal, more than 4 decimals, or outside 0 to 1.
    """
    if len(text) > MAX_NUMBER_CHARS:
        raise _too_long(text)
    match = _NUMERIC_STRING.fullmatch(text)
    if not match or text.startswith("-"):
        raise AmountError(f"{shown(text)} is not a ratio between 0 and 1")
    frac = (match[2] or "").rstrip("0")
    if len(frac) > 4:
        raise AmountError(f"{shown(text)} has more than 4 decimal places")
    value = int(match[1]) * RATIO_ONE + int(frac.ljust(4, "0") or "0")
    if value > RATIO_ONE:
        raise AmountError(f"{shown(text)} is more than 1")
    return value


def parse_yuan_text(text: str) -> int:
    """Parse a non-negative yuan amount written as decimal text into fen (policy files)."""
    if len(text) > MAX_NUMBER_CHARS:
        raise _too_long(text)
    match = _NUMERIC_STRING.fullmatch(text)
    if not match or text.startswith("-"):
        raise AmountError(f"{shown(text)} is not a non-negative amount in yuan")
    return _fen_from_parts(False, match[1], match[2] or "", "", text)


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
