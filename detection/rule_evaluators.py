"""The rule evaluators: one knowledge row and a claim in, the row's hits out.

Each evaluator reads one knowledge row in force and the claim (and, for
windows longer than the claim, the person's :class:`~detection.rule_state.RuleState`),
and returns hits that name the rule, the bill line, the evidence (the row as
written and what was observed) and the amount at stake in fen. Pure and
deterministic: the same claims in the same order give the same hits.

:class:`~detection.rule_engine.RuleEngine` finds the rows in force for each
bill line and calls :func:`evaluate` on them.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from detection.rule_state import PersonWindow
from detection.rulebook import (
    KIND,
    LOGICS,
    KnowledgeRow,
    Rule,
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
        self.sex = ""  # M / F, read from the identity number when a restriction needs it
        self.age = -1  # whole years at admission, likewise
        # Upper-case diagnoses, likewise when an indication needs them.
        self.upper_diagnoses: list[str] | None = None

    def quantity(self, code: str) -> int:
        items = self.items
        total = 0
        for i in self.lines[code]:
            total += units(items[i])
        return total

    def amount(self, code: str) -> int:
        items = self.items
        total = 0
        for i in self.lines[code]:
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


def _hit(
    rule: Rule, row: KnowledgeRow, index: int, code: str, fen: int, seen: dict[str, Any]
) -> RuleHit:
    # ``seen`` is a dict, not keyword arguments: compiled, a ``**`` call goes
    # through the Python-level wrapper and copies the dict.
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


def _restriction(rule: Rule, row: KnowledgeRow, v: Visit) -> list[RuleHit]:
    claim = v.claim
    # Decide first, build the evidence only for a hit: most lines meet their row.
    bad_sex = False
    if row.sex:
        v.read_person()
        bad_sex = v.sex != row.sex
    bad_age = False
    age_min = row.age_min
    age_max = row.age_max
    if age_min is not None or age_max is not None:
        v.read_person()
        bad_age = (age_min is not None and v.age < age_min) or (
            age_max is not None and v.age > age_max
        )
    bad_diagnoses = False
    if row.indications:
        indications = row.indications
        bad_diagnoses = not any(dx.startswith(indications) for dx in v.diagnoses())
    bad_setting = bool(row.settings) and claim.claim_type not in row.settings
    bad_level = bool(row.levels) and claim.hospital_level not in row.levels
    bad_scheme = bool(row.schemes) and claim.scheme not in row.schemes
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
    return [
        _hit(rule, row, i, row.item_code, items[i].amount_fen, dict(broken))
        for i in v.lines[row.item_code]
    ]


def _quantity(rule: Rule, row: KnowledgeRow, v: Visit) -> list[RuleHit]:
    code = row.item_code
    quantity = v.quantity(code)
    days = v.day - v.admission + 1  # calendar days of the stay, both ends counted
    allowed = row.max_per_day * days if row.max_per_day is not None else quantity
    if row.max_per_stay is not None and (row.max_per_day is None or row.max_per_stay < allowed):
        allowed = row.max_per_stay
    if quantity <= allowed:
        return _NO_HITS
    excess = quantity - allowed
    fen = _share(v.amount(code), excess, quantity)
    return [
        _hit(
            rule,
            row,
            v.lines[code][0],
            code,
            fen,
            {"quantity": quantity, "days": days, "allowed": allowed},
        )
    ]


def _course(rule: Rule, row: KnowledgeRow, v: Visit) -> list[RuleHit]:
    code = row.item_code
    start = v.courses[code][0]
    course_days = row.course_days
    used_days = v.day - start + 1
    if used_days <= course_days:
        return _NO_HITS
    this_claim_days = v.day - max(v.admission, start) + 1
    over = min(used_days - course_days, this_claim_days)
    fen = _share(v.amount(code), over, this_claim_days)
    return [
        _hit(
            rule,
            row,
            v.lines[code][0],
            code,
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


def _bounds(rule: Rule, day: int) -> tuple[int, int]:
    """:func:`~detection.rulebook.window_bounds`, a natural month's remembered by day."""
    if rule.window.kind != "month":
        return window_bounds(rule, day)
    bounds = _MONTHS.get(day)
    if bounds is None:
        if len(_MONTHS) >= 4096:
            _MONTHS.clear()
        bounds = _MONTHS[day] = window_bounds(rule, day)
    return bounds


def _frequency(rule: Rule, row: KnowledgeRow, v: Visit) -> list[RuleHit]:
    code = row.item_code
    here = v.quantity(code)
    before = 0
    allowed = row.max_count
    if rule.window.kind == "day":
        # A bill does not say on which day of a stay each unit was used: a stay
        # of D calendar days may hold D days' worth, and counts with earlier
        # claims whose service date falls within it.
        first, last = v.admission, v.day
        allowed *= v.day - v.admission + 1
    else:
        first, last = _bounds(rule, v.day)
    if rule.window.kind != "claim" and v.person is not None:
        before = v.person.quantity_between(code, first, last)
    count = before + here
    if count <= allowed:
        return _NO_HITS
    over = min(count - allowed, here)
    fen = _share(v.amount(code), over, here)
    return [
        _hit(
            rule,
            row,
            v.lines[code][0],
            code,
            fen,
            {
                "count_in_window": count,
                "earlier_in_window": before,
                "allowed": allowed,
                "window": str(rule.window),
            },
        )
    ]


def _price_ceiling(rule: Rule, row: KnowledgeRow, v: Visit) -> list[RuleHit]:
    levels = row.levels
    if levels and v.claim.hospital_level not in levels:
        return _NO_HITS
    ceiling = row.ceiling_fen
    items = v.items
    hits = _NO_HITS
    for i in v.lines[row.item_code]:
        item = items[i]
        quantity = units(item)
        allowed = ceiling * quantity
        amount = item.amount_fen
        if amount > allowed:
            if not hits:
                hits = []
            hits.append(
                _hit(
                    rule,
                    row,
                    i,
                    row.item_code,
                    amount - allowed,
                    {
                        "amount": format_fen(amount),
                        "quantity": quantity,
                        "allowed": format_fen(allowed),
                    },
                )
            )
    return hits


def _mutual_exclusion(rule: Rule, row: KnowledgeRow, v: Visit) -> list[RuleHit]:
    excluded = row.other_code
    if excluded not in v.lines:
        return _NO_HITS
    including = v.lines[row.item_code][0]
    items = v.items
    return [
        _hit(rule, row, i, excluded, items[i].amount_fen, {"billed_with_line": including})
        for i in v.lines[excluded]
    ]


def _unbundling(rule: Rule, row: KnowledgeRow, v: Visit) -> list[RuleHit]:
    if row.item_code in v.lines:
        return _NO_HITS  # the package billed with its parts is a mutual-exclusion matter
    billed = [part for part in row.parts if part in v.lines]
    if len(billed) < row.min_parts:
        return _NO_HITS
    total = sum(v.amount(part) for part in billed)
    first = min(v.lines[part][0] for part in billed)
    return [
        _hit(
            rule,
            row,
            first,
            v.items[first].code,
            max(0, total - row.package_fen),
            {
                "parts_billed": {part: v.lines[part] for part in billed},
                "parts_amount": format_fen(total),
            },
        )
    ]


def _prerequisite(rule: Rule, row: KnowledgeRow, v: Visit) -> list[RuleHit]:
    required = row.other_code
    if required in v.lines:
        return _NO_HITS
    if rule.window.kind == "days" and v.person is not None:
        # The prerequisite comes before the first use: look back N days from admission.
        first = v.admission - rule.window.days
        if v.person.quantity_between(required, first, v.day) > 0:
            return _NO_HITS
    items = v.items
    return [
        _hit(
            rule,
            row,
            i,
            row.item_code,
            items[i].amount_fen,
            {"missing": required, "window": str(rule.window)},
        )
        for i in v.lines[row.item_code]
    ]


def evaluate(kind: int, rule: Rule, row: KnowledgeRow, visit: Visit) -> list[RuleHit]:
    # A chain of comparisons, not a table of functions: compiled, these are direct calls.
    if kind == _RESTRICTION:
        return _restriction(rule, row, visit)
    if kind == _PRICE_CEILING:
        return _price_ceiling(rule, row, visit)
    if kind == _QUANTITY:
        return _quantity(rule, row, visit)
    if kind == _FREQUENCY:
        return _frequency(rule, row, visit)
    if kind == _COURSE:
        return _course(rule, row, visit)
    if kind == _MUTUAL_EXCLUSION:
        return _mutual_exclusion(rule, row, visit)
    if kind == UNBUNDLING:
        return _unbundling(rule, row, visit)
    return _prerequisite(rule, row, visit)
