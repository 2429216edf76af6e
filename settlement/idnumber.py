"""PRC resident identity numbers: check character, birth date, masking.

The check character is ISO 7064 MOD 11-2 over the first 17 digits (spec
section 5). Masking keeps the first 6 and last 4 characters, as clerks are used to.
"""

from __future__ import annotations

import operator
import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_DIGITS17 = re.compile(r"[0-9]{17}")
IDENTITY_NUMBER_PATTERN = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


_ASCII_ZERO_WEIGHT = ord("0") * sum(_WEIGHTS)


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for 17 ASCII digits."""
    # Weighted sum over the character codes, less the codes of "0": the same
    # sum as over the digit values, without a Python-level loop.
    total = sum(map(operator.mul, first17.encode("ascii"), _WEIGHTS)) - _ASCII_ZERO_WEIGHT
    return _CHECK_CHARS[total % 11]


def identity_number_problem(person_id: str, admission: date | None) -> str | None:
    """Why ``person_id`` is not a valid identity number, or None when it is.

    Args:
        person_id: the 18-character identity number.
        admission: the claim's admission date when it parsed; the birth date may
            not be after it.
    """
    if len(person_id) != 18:
        return f"person_id must be 18 characters, got {len(person_id)}"
    first17 = person_id[:17]
    if not _DIGITS17.fullmatch(first17):
        return "person_id: the first 17 characters must be digits"
    expected = check_character(first17)
    if person_id[17] != expected:
        return f"person_id: check character is {person_id[17]!r}, expected {expected!r}"
    try:
        born = date(int(person_id[6:10]), int(person_id[10:12]), int(person_id[12:14]))
    except ValueError:
        return f"person_id: birth date {person_id[6:14]} is not a real date"
    if admission is not None and born > admission:
        return (
            f"person_id: birth date {born.isoformat()} is after admission {admission.isoformat()}"
        )
    return None


def birth_date(person_id: str) -> date | None:
    """The birth date encoded in a valid identity number (chars 7-14), else None."""
    try:
        return date(int(person_id[6:10]), int(person_id[10:12]), int(person_id[12:14]))
    except (ValueError, IndexError):
        return None


def mask_person_id(person_id: str) -> str:
    """Mask an identity number for display: ``440103********1234``."""
    if len(person_id) <= 10:
        return "*" * len(person_id)
    return person_id[:6] + "*" * (len(person_id) - 10) + person_id[-4:]


def mask_identity_numbers(text: str) -> str:
    """Mask every identity number found in free text (log lines, messages)."""
    return IDENTITY_NUMBER_PATTERN.sub(lambda m: mask_person_id(m.group(0)), text)
