"""Fixed-point numbers of DIP (spec section 2): ten-thousandths, fen, half-up rounding.

Points, scores, ratios and coefficients are integers in ten-thousandths
(``812.5`` -> ``8125000``); money is integer fen. An exact intermediate value
is an integer fraction ``numerator / denominator`` and is rounded only where
the spec says so, half-up and symmetric for negative values.
"""

from __future__ import annotations

import re

FOUR = 10_000  # ten-thousandths in one
_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
_MAX_CHARS = 40
# Lookup tables, not ``:04d`` format specs: compiled by mypyc, a format spec goes
# through the generic formatter and costs several times as much (as in settlement.money).
_FOUR_DIGITS = tuple(f"{n:04d}" for n in range(FOUR))
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up (away from zero at .5) to an integer.

    Args:
        numerator: any integer.
        denominator: a positive integer.
    """
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((2 * -numerator + denominator) // (2 * denominator))


def parse_fixed(text: str, decimals: int) -> int:
    """A non-negative decimal literal (``"2.5"``, ``"3"``) in units of ``10**-decimals``.

    Raises:
        ValueError: not a plain non-negative decimal, or more decimals than allowed
            (trailing zeros do not count: ``"0.50000"`` is ``0.5``).
    """
    if len(text) > _MAX_CHARS:
        raise ValueError(f"{text[:_MAX_CHARS]!r}... is longer than {_MAX_CHARS} characters")
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a plain non-negative decimal number")
    frac = (match[2] or "").rstrip("0")
    if len(frac) > decimals:
        raise ValueError(f"{text!r} has more than {decimals} decimal places")
    scale = int("1" + "0" * decimals)
    return int(match[1]) * scale + int(frac.ljust(decimals, "0") or "0")


def format_four(value: int) -> str:
    """Ten-thousandths as text with exactly 4 decimals: ``8125000 -> "812.5000"``."""
    if value < 0:
        return "-" + format_four(-value)
    whole, frac = divmod(value, FOUR)
    return f"{whole}.{_FOUR_DIGITS[frac]}"


def format_fen(value: int) -> str:
    """Fen as yuan with exactly 2 decimals: ``-2700 -> "-27.00"``."""
    if value < 0:
        return "-" + format_fen(-value)
    whole, frac = divmod(value, 100)
    return f"{whole}.{_TWO_DIGITS[frac]}"


def parse_fen_text(text: str) -> int:
    """A settlement record's amount (``"1234.50"``) in fen.

    Raises:
        ValueError: not a non-negative decimal with at most 2 places.
    """
    whole, _, cents = text.partition(".")
    if len(cents) == 2 and text.isascii() and whole.isdigit() and cents.isdigit():
        return int(whole) * 100 + int(cents)  # the usual "1234.50", without the regex
    return parse_fixed(text, 2)
