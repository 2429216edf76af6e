"""Exceptions and claim error codes of the settlement core.

Exception tree::

    SettlementError
    ├── PolicyError        a policy file or directory is broken (file, field, problem)
    └── InputError         an input file cannot be read at all

A claim that fails validation is not an exception: it is answered ``rejected``
with a list of :class:`ClaimIssue` whose codes are those of spec section 5.
"""

from __future__ import annotations

from dataclasses import dataclass

MALFORMED = "malformed"
INVALID_PERSON_ID = "invalid_person_id"
INVALID_REGION = "invalid_region"
NO_POLICY = "no_policy"
INVALID_DATES = "invalid_dates"
INVALID_AMOUNT = "invalid_amount"
INVALID_ITEMS = "invalid_items"
INVALID_HOSPITAL_LEVEL = "invalid_hospital_level"
LTC_OUT_OF_REGION = "ltc_out_of_region"

#: Every error code, in the order the spec's table lists them; rejected
#: records list their errors in this order.
ERROR_CODES: tuple[str, ...] = (
    MALFORMED,
    INVALID_PERSON_ID,
    INVALID_REGION,
    NO_POLICY,
    INVALID_DATES,
    INVALID_AMOUNT,
    INVALID_ITEMS,
    INVALID_HOSPITAL_LEVEL,
    LTC_OUT_OF_REGION,
)


@dataclass(frozen=True, slots=True)
class ClaimIssue:
    """One reason a claim was rejected: a spec error code and a readable message."""

    code: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class SettlementError(Exception):
    """Base of the settlement core's exceptions."""


class PolicyError(SettlementError):
    """A policy file or directory that the engine refuses to start on.

    Attributes:
        path: the file (or directory) at fault.
        field: dotted path of the field at fault, e.g. ``versions[0].schemes.employee``.
        problem: what is wrong and what would be right.
    """

    def __init__(self, path: str, field: str, problem: str) -> None:
        self.path = path
        self.field = field
        self.problem = problem
        where = f"{path}: {field}: " if field else f"{path}: "
        super().__init__(where + problem)


class InputError(SettlementError):
    """An input file that cannot be opened or decoded at all."""
