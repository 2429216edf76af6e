"""Exceptions and claim error codes of the settlement core.

Exception tree::

    SettlementError
    ├── PolicyError        a policy file or directory is broken (file, field, problem)
    └── InputError         an input file cannot be read at all

A claim that fails validation is not an exception: it is answered ``rejected``
with a list of :class:`ClaimIssue` whose codes are those of spec section 5.
``internal_error`` is yibao's own code for a fault of ours, never expected.
"""

from __future__ import annotations

import re
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
#: Not a spec code: a line whose settling raised an unexpected exception (a bug
#: of ours) is answered ``rejected`` with this code and the run goes on.
INTERNAL_ERROR = "internal_error"

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


# Identity-number-like runs, so no person id reaches a record through an
# exception's message.
_PERSON_ID_LIKE = re.compile(r"[0-9]{15,17}[0-9Xx]?")
_MAX_INTERNAL_MESSAGE = 200


def internal_issue(exc: BaseException) -> ClaimIssue:
    """The ``internal_error`` issue for an unexpected exception: type and short message.

    No traceback (that goes to the log) and no person id: digit runs that
    look like identity numbers are masked, and the message is cut short.
    """
    text = _PERSON_ID_LIKE.sub("<id>", str(exc))
    if len(text) > _MAX_INTERNAL_MESSAGE:
        text = text[:_MAX_INTERNAL_MESSAGE] + "..."
    detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return ClaimIssue(INTERNAL_ERROR, f"internal error, not a fault of the claim ({detail})")


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
