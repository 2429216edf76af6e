"""The rule evaluators: one knowledge row in force and a claim in, the row's hits out.

Each evaluator reads one row in force (as a :class:`~detection.rule_checks.Check`)
and the claim (and, for windows longer than the claim, the person's
:class:`~detection.rule_state.RuleState`), and returns hits that name the rule,
the bill line, the evidence (the row as written and what was observed) and the
amount at stake in fen. Pure and deterministic: the same claims in the same
order give the same hits.

:class:`~detection.rule_engine.RuleEngine` finds the rows in force for each
bill line and calls :func:`evaluate` on them.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from detection.rule_checks import (
    WINDOW_CLAIM,
    WINDOW_DAY,
    WINDOW_DAYS,
    WINDOW_MONTH,
    Check,
    level_bit,
    scheme_bit,
    setting_bit,
)
from detection.rule_state import PersonWindow
from detection.rulebook import (
    KIND,
    LOGICS,
    RuleHit,
    sex_and_age,
    window_bounds,
)
from settlement.claim import Claim
from settlement.claim_items import Item
from settlement.money import format_fen

__all__ = ["NO_COURSES", "UNBUNDLING", "Visit", "evaluate", "units"]


# The module's shared objects are Final: compiled, a Final is read from a C
# static, any other module-level name from the module's dict at every use.

#: What an evaluator returns when nothing fires: shared, never changed.
_NO_HITS: Final[list[RuleHit]] = []
#: The courses of a claim without course-limited items: shared, never changed.
NO_COURSES: Final[dict[str, tuple[int, int]]] = {}

# The logics' numbers (rulebook.KIND), which the engine dispatches on.
_RESTRICTION: Final = 0
_QUANTITY: Final = 1
_COURSE: Final = 2
_FREQUENCY: Final = 3
_PRICE_CEILING: Final = 4
_MUTUAL_EXCLUSION: Final = 5
UNBUNDLING: Final = 6
_PREREQUISITE: Final = 7
assert [KIND[logic] for logic in LOGICS] == [
    _RESTRICTION,
    _QUANTITY,
    _COURSE,
    _FREQUENCY,
    _PRICE_CEILING,
    _MUTUAL_EXCLUSION,
    UNBUNDLING,
    _PREREQUISITE,
]


def units(item: Item) -> int:
    """A line's quantity; a missing one counts 1."""
    quantity = item.quantity
    return quantity if quantity is not None else 1


class Visit:
    """What the evaluators read of one claim, computed once (or when first needed).

    A plain class: compiled, its ``__init__`` is native (a dataclass's is not).
    """

    def __init__(
        self,
        claim: Claim,
        items: list[Item],
        day: int,
        admission: int,
        lines: dict[str, list[int]],
        person: PersonWindow | None,
        courses: dict[str, tuple[int, int]],
    ) -> None:
        self.claim = claim
        self.items = items
        self.day = day  # service date (discharge) as an ordinal
        self.admission = admission
        self.lines = lines  # code -> line indices, in bill order
        self.person = person
        # code -> (first, last day) of its course of use once this claim is folded
        self.courses = courses
        # The claim's setting, hospital level and scheme as bits (rule_checks' masks).
        self.setting = setting_bit(claim.claim_type)
        self.level = level_bit(claim.hospital_level)
        self.scheme = scheme_bit(claim.scheme)
        self.sex = ""  # M / F, read from the identity number when a restriction needs it
        self.age = -1  # whole years at admission, likewise
        # Upper-case diagnoses, likewise when an indication needs them.
        self.upper_diagnoses: list[str] | None = None

    def quantity(self, at: list[int]) -> int:
        """The units of the lines ``at``."""
        items = self.items
        total = 0
        for i in at:
            total += units(items[i])
        return total

    def amount(self, at: list[int]) -> int:
        """The fen of the lines ``at``."""
        items = self.items
        total = 0
        for i in at:
            total += items[i].amount_fen
        return total

    def diagnoses(self) -> list[str]:
        """The principal then the secondary diagnoses, upper case (the same list each call)."""
        found = self.upper_diagnoses
        if found is None:
            claim = self.claim
            found = [claim.diagnosis.upper(), *(d.upper() for d in claim.diagnoses)]
            self.upper_diagnoses = found
        return found

    def read_person(self) -> None:
        if not self.sex:
            self.sex, self.age = sex_and_age(self.claim.person_id, self.claim.admission_date)


def _hit(c: Check, index: int, code: str, fen: int, seen: dict[str, Any]) -> RuleHit:
    # ``seen`` is a dict, not keyword arguments: compiled, a ``**`` call goes
    # through the Python-level wrapper and copies the dict.
    rule = c.rule
    row = c.row
    assert row is not None  # a version in force always has its row
    return RuleHit(
        rule.rule_code,
        rule.result,
        index,
        code,
        fen,
        {"rule": rule.name, "knowledge": row.evidence(), "observed": seen},
    )


def _share(amount: int, part: int, whole: int) -> int:
    """``amount x part / whole`` rounded down: the fen of ``part`` units out of ``whole``."""
    return amount * part // whole if whole else 0


def _restriction(c: Check, v: Visit, at: list[int]) -> list[RuleHit]:
    claim = v.claim
    # Decide first, build the evidence only for a hit: most lines meet their row.
    bad_sex = False
    if c.sex:
        v.read_person()
        bad_sex = v.sex != c.sex
    bad_age = False
    age_min = c.age_min
    age_max = c.age_max
    if age_min >= 0 or age_max >= 0:
        v.read_person()
        bad_age = (age_min >= 0 and v.age < age_min) or (age_max >= 0 and v.age > age_max)
    bad_diagnoses = False
    if c.indications:
        indications = c.indications
        bad_diagnoses = not any(dx.startswith(indications) for dx in v.diagnoses())
    # A mask of 0 allows any; else the claim's bit must be in it.
    bad_setting = c.settings != 0 and c.settings & v.setting == 0
    bad_level = c.levels != 0 and c.levels & v.level == 0
    bad_scheme = c.schemes != 0 and c.schemes & v.scheme == 0
    if not (bad_sex or bad_age or bad_diagnoses or bad_setting or bad_level or bad_scheme):
        return _NO_HITS
    broken: dict[str, Any] = {}
    if bad_sex:
        broken["sex"] = v.sex
    if bad_age:
        broken["age"] = v.age
    if bad_diagnoses:
        broken["diagnoses"] = list(v.diagnoses())
    if bad_setting:
        broken["setting"] = claim.claim_type
    if bad_level:
        broken["hospital_level"] = claim.hospital_level
    if bad_scheme:
        broken["scheme"] = claim.scheme
    items = v.items
    return [_hit(c, i, c.code, items[i].amount_fen, dict(broken)) for i in at]


def _quantity(c: Check, v: Visit, at: list[int]) -> list[RuleHit]:
    quantity = v.quantity(at)
    days = v.day - v.admission + 1  # calendar days of the stay, both ends counted
    per_day = c.max_per_day
    per_stay = c.max_per_stay
    allowed = per_day * days if per_day >= 0 else quantity
    if per_stay >= 0 and (per_day < 0 or per_stay < allowed):
        allowed = per_stay
    if quantity <= allowed:
        return _NO_HITS
    excess = quantity - allowed
    fen = _share(v.amount(at), excess, quantity)
    return [_hit(c, at[0], c.code, fen, {"quantity": quantity, "days": days, "allowed": allowed})]


def _course(c: Check, v: Visit, at: list[int]) -> list[RuleHit]:
    start = v.courses[c.code][0]
    course_days = c.course_days
    used_days = v.day - start + 1
    if used_days <= course_days:
        return _NO_HITS
    this_claim_days = v.day - max(v.admission, start) + 1
    over = min(used_days - course_days, this_claim_days)
    fen = _share(v.amount(at), over, this_claim_days)
    return [
        _hit(
            c,
            at[0],
            c.code,
            fen,
            {"course_start": _iso_day(start), "days_of_use": used_days},
        )
    ]


#: Days (ordinals) written as ISO dates, for evidence: a run covers few days.
_ISO_DAYS: Final[dict[int, str]] = {}


def _iso_day(day: int) -> str:
    text = _ISO_DAYS.get(day)
    if text is None:
        if len(_ISO_DAYS) >= 4096:
            _ISO_DAYS.clear()
        text = _ISO_DAYS[day] = date.fromordinal(day).isoformat()
    return text


#: Natural months by day (ordinal): (first day, last day). A run covers few months.
_MONTHS: Final[dict[int, tuple[int, int]]] = {}


def _bounds(c: Check, day: int) -> tuple[int, int]:
    """:func:`~detection.rulebook.window_bounds`, a natural month's remembered by day."""
    window = c.window
    if window == WINDOW_DAYS:
        return day - c.window_days + 1, day
    if window != WINDOW_MONTH:
        return day, day
    bounds = _MONTHS.get(day)
    if bounds is None:
        if len(_MONTHS) >= 4096:
            _MONTHS.clear()
        bounds = _MONTHS[day] = window_bounds(c.rule, day)
    return bounds


def _frequency(c: Check, v: Visit, at: list[int]) -> list[RuleHit]:
    code = c.code
    here = v.quantity(at)
    before = 0
    allowed = c.max_count
    window = c.window
    if window == WINDOW_DAY:
        # A bill does not say on which day of a stay each unit was used: a stay
        # of D calendar days may hold D days' worth, and counts with earlier
        # claims whose service date falls within it.
        first, last = v.admission, v.day
        allowed *= v.day - v.admission + 1
    else:
        first, last = _bounds(c, v.day)
    if window != WINDOW_CLAIM and v.person is not None:
        before = v.person.quantity_between(code, first, last)
    count = before + here
    if count <= allowed:
        return _NO_HITS
    over = min(count - allowed, here)
    fen = _share(v.amount(at), over, here)
    return [
        _hit(
            c,
            at[0],
            code,
            fen,
            {
                "count_in_window": count,
                "earlier_in_window": before,
                "allowed": allowed,
                "window": str(c.rule.window),
            },
        )
    ]


def _price_ceiling(c: Check, v: Visit, at: list[int]) -> list[RuleHit]:
    levels = c.levels
    if levels != 0 and levels & v.level == 0:
        return _NO_HITS
    ceiling = c.ceiling_fen
    items = v.items
    hits = _NO_HITS
    for i in at:
        item = items[i]
        quantity = units(item)
        allowed = ceiling * quantity
        amount = item.amount_fen
        if amount > allowed:
            if not hits:
                hits = []
            hits.append(
                _hit(
                    c,
                    i,
                    c.code,
                    amount - allowed,
                    {
                        "amount": format_fen(amount),
                        "quantity": quantity,
                        "allowed": format_fen(allowed),
                    },
                )
            )
    return hits


def _mutual_exclusion(c: Check, v: Visit, at: list[int]) -> list[RuleHit]:
    excluded = c.other_code
    if excluded not in v.lines:
        return _NO_HITS
    including = at[0]
    items = v.items
    return [
        _hit(c, i, excluded, items[i].amount_fen, {"billed_with_line": including})
        for i in v.lines[excluded]
    ]


def _unbundling(c: Check, v: Visit) -> list[RuleHit]:
    lines = v.lines
    if c.code in lines:
        return _NO_HITS  # the package billed with its parts is a mutual-exclusion matter
    billed = [part for part in c.parts if part in lines]
    if len(billed) < c.min_parts:
        return _NO_HITS
    total = sum(v.amount(lines[part]) for part in billed)
    first = min(lines[part][0] for part in billed)
    return [
        _hit(
            c,
            first,
            v.items[first].code,
            max(0, total - c.package_fen),
            {
                "parts_billed": {part: lines[part] for part in billed},
                "parts_amount": format_fen(total),
            },
        )
    ]


def _prerequisite(c: Check, v: Visit, at: list[int]) -> list[RuleHit]:
    required = c.other_code
    if required in v.lines:
        return _NO_HITS
    if c.window == WINDOW_DAYS and v.person is not None:
        # The prerequisite comes before the first use: look back N days from admission.
        first = v.admission - c.window_days
        if v.person.quantity_between(required, first, v.day) > 0:
            return _NO_HITS
    items = v.items
    return [
        _hit(
            c,
            i,
            c.code,
            items[i].amount_fen,
            {"missing": required, "window": str(c.rule.window)},
        )
        for i in at
    ]


def evaluate(c: Check, visit: Visit, at: list[int]) -> list[RuleHit]:
    """The hits of the row in force ``c`` on the claim's lines ``at`` (its item code's)."""
    # A chain of comparisons, not a table of functions: compiled, these are direct calls.
    kind = c.kind
    if kind == _RESTRICTION:
        return _restriction(c, visit, at)
    if kind == _PRICE_CEILING:
        return _price_ceiling(c, visit, at)
    if kind == _QUANTITY:
        return _quantity(c, visit, at)
    if kind == _FREQUENCY:
        return _frequency(c, visit, at)
    if kind == _COURSE:
        return _course(c, visit, at)
    if kind == _MUTUAL_EXCLUSION:
        return _mutual_exclusion(c, visit, at)
    if kind == UNBUNDLING:
        return _unbundling(c, visit)
    return _prerequisite(c, visit, at)
