"""The rule evaluators and :class:`RuleEngine`: a claim in, its rule hits out.

Each evaluator reads one knowledge row in force and the claim (and, for
windows longer than the claim, the person's :class:`~detection.rule_state.RuleState`),
and returns hits that name the rule, the bill line, the evidence (the row as
written and what was observed) and the amount at stake in fen. Pure and
deterministic: the same claims in the same order give the same hits.

(:class:`RuleHit` lives in :mod:`detection.rulebook`; it is imported from here too.)
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from detection.rule_state import PersonWindow, RuleState
from detection.rulebook import (
    KIND,
    LOGICS,
    KnowledgeEntry,
    KnowledgeRow,
    Rule,
    RuleBook,
    RuleHit,
    claim_context,
    sex_and_age,
    window_bounds,
)
from settlement.claim import Claim
from settlement.claim_items import Item
from settlement.money import format_fen

__all__ = ["RuleEngine", "RuleHit"]


# The module's shared objects are Final: compiled, a Final is read from a C
# static, any other module-level name from the module's dict at every use.

#: What an evaluator returns when nothing fires: shared, never changed.
_NO_HITS: Final[list[RuleHit]] = []
#: The courses of a claim without course-limited items: shared, never changed.
_NO_COURSES: Final[dict[str, tuple[int, int]]] = {}

# The logics' numbers (rulebook.KIND), which the engine dispatches on.
_RESTRICTION: Final = 0
_QUANTITY: Final = 1
_COURSE: Final = 2
_FREQUENCY: Final = 3
_PRICE_CEILING: Final = 4
_MUTUAL_EXCLUSION: Final = 5
_UNBUNDLING: Final = 6
_PREREQUISITE: Final = 7
assert [KIND[logic] for logic in LOGICS] == [
    _RESTRICTION,
    _QUANTITY,
    _COURSE,
    _FREQUENCY,
    _PRICE_CEILING,
    _MUTUAL_EXCLUSION,
    _UNBUNDLING,
    _PREREQUISITE,
]


def _units(item: Item) -> int:
    """A line's quantity; a missing one counts 1."""
    quantity = item.quantity
    return quantity if quantity is not None else 1


class _Visit:
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
            total += _units(items[i])
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


def _restriction(rule: Rule, row: KnowledgeRow, v: _Visit) -> list[RuleHit]:
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


def _quantity(rule: Rule, row: KnowledgeRow, v: _Visit) -> list[RuleHit]:
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


def _course(rule: Rule, row: KnowledgeRow, v: _Visit) -> list[RuleHit]:
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


def _frequency(rule: Rule, row: KnowledgeRow, v: _Visit) -> list[RuleHit]:
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


def _price_ceiling(rule: Rule, row: KnowledgeRow, v: _Visit) -> list[RuleHit]:
    levels = row.levels
    if levels and v.claim.hospital_level not in levels:
        return _NO_HITS
    ceiling = row.ceiling_fen
    items = v.items
    hits = _NO_HITS
    for i in v.lines[row.item_code]:
        item = items[i]
        quantity = _units(item)
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


def _mutual_exclusion(rule: Rule, row: KnowledgeRow, v: _Visit) -> list[RuleHit]:
    excluded = row.other_code
    if excluded not in v.lines:
        return _NO_HITS
    including = v.lines[row.item_code][0]
    items = v.items
    return [
        _hit(rule, row, i, excluded, items[i].amount_fen, {"billed_with_line": including})
        for i in v.lines[excluded]
    ]


def _unbundling(rule: Rule, row: KnowledgeRow, v: _Visit) -> list[RuleHit]:
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


def _prerequisite(rule: Rule, row: KnowledgeRow, v: _Visit) -> list[RuleHit]:
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


class _Code:
    """What the engine knows of one item code: its entries, whether its uses are kept,
    and the break that ends a course of it."""

    def __init__(
        self, code: str, entries: list[KnowledgeEntry], tracked: bool, course_break: int
    ) -> None:
        self.code = code
        # Every table's, in a fixed order (empty: none). A tuple holds its items
        # inline: one memory read fewer per bill line than a list.
        self.entries = tuple(entries)
        self.tracked = tracked  # remembered across claims (RuleBook.tracked_codes)
        self.course_break = course_break  # the longest break_days of its rows; -1: no course


#: A code the catalogue does not list: no entries, not tracked.
_NOT_LISTED: Final = _Code("", [], False, -1)
#: How many codes RuleEngine remembers as billed lately (each a few dozen bytes).
_BILLED_LATELY: Final = 1 << 14


class RuleEngine:
    """Evaluates a rule book against claims, one claim at a time.

    Args:
        book: the loaded catalogue (:func:`detection.rulebook_loader.load_rule_dir`).
    """

    def __init__(self, book: RuleBook) -> None:
        self.book = book
        self._course_breaks: dict[str, int] = {}
        for entries in book.by_item.values():
            for entry in entries:
                if entry.rule.logic == "course":
                    rows = [*entry.national, *(r for vs in entry.regional.values() for r in vs)]
                    longest = max(r.break_days for r in rows)
                    code = entry.item_code
                    self._course_breaks[code] = max(self._course_breaks.get(code, 0), longest)
        # One look-up per bill line: the code's entries, whether it is tracked, its course.
        self._codes: dict[str, _Code] = {}
        breaks = self._course_breaks
        for code, entries in book.by_item.items():
            tracked = code in book.tracked_codes
            self._codes[code] = _Code(code, entries, tracked, breaks.get(code, -1))
        for code in book.tracked_codes:
            if code not in self._codes:
                self._codes[code] = _Code(code, [], True, breaks.get(code, -1))
        # The codes billed lately, found in _codes (or not: _NOT_LISTED). A catalogue
        # of 10,000 rows is a large dict that the processor's caches do not keep,
        # while claims bill a few hundred codes again and again: this small one stays.
        self._billed_lately: dict[str, _Code] = {}

    def check(self, claim: Claim, state: RuleState | None = None) -> list[RuleHit]:
        """Every hit of a validated claim, then fold the claim into ``state``.

        Args:
            claim: a validated claim. Typed as settlement's own class, not a
                protocol: compiled together, its fields are read directly.
            state: the per-person windows; None evaluates the claim alone
                (windows longer than the claim then see only this claim).

        Returns:
            The hits ordered by bill line, then rule code.
        """
        known = self._codes
        lately = self._billed_lately
        items = claim.items
        lines: dict[str, list[int]] = {}
        candidates: list[tuple[KnowledgeEntry, ...]] = []
        tracked: list[_Code] = []
        for index, item in enumerate(items):
            code = item.code
            indices = lines.get(code)
            if indices is None:
                lines[code] = [index]
                rules = lately.get(code)
                if rules is None:
                    rules = known.get(code, _NOT_LISTED)
                    if len(lately) >= _BILLED_LATELY:
                        lately.clear()  # bounded: start again
                    lately[code] = rules
                if rules.entries:
                    candidates.append(rules.entries)
                if rules.tracked:
                    tracked.append(rules)
            else:
                indices.append(index)
        if not candidates and not tracked:
            return []

        day = claim.discharge_date.toordinal()
        admission = claim.admission_date.toordinal()
        keep = state is not None and bool(tracked)
        person = state.recent(claim.person_id) if state is not None and keep else None
        courses = _courses(day, admission, person, tracked) if tracked else _NO_COURSES
        hits: list[RuleHit] = []
        if candidates:
            visit = _Visit(claim, items, day, admission, lines, person, courses)
            bit = 1 << claim_context(
                claim.claim_type, claim.scheme, claim.insured_region != claim.hospital_region
            )
            done: set[str] | None = None
            region = claim.hospital_region
            for entries in candidates:
                for entry in entries:
                    # The rule's dates, narrowed to its row's when there is one version.
                    if not entry.contexts & bit or not entry.from_day <= day <= entry.to_day:
                        continue
                    kind = entry.kind
                    rule = entry.rule
                    if kind == _UNBUNDLING:  # reached from each of its parts: once
                        name = f"{rule.rule_code} {entry.item_code}"
                        if done is None:
                            done = set()
                        elif name in done:
                            continue
                        done.add(name)
                    row = entry.only
                    if row is None:
                        row = entry.row_for(region, day)
                        if row is None:
                            continue
                    found = _evaluate(kind, rule, row, visit)
                    if found:
                        hits.extend(found)
            if len(hits) > 1:
                hits.sort(key=_hit_order)
        if state is not None and keep:
            if person is None:
                person = state.add(claim.person_id)
            self._fold(person, day, lines, items, tracked, courses)
        return hits

    def _fold(
        self,
        person: PersonWindow,
        day: int,
        lines: dict[str, list[int]],
        items: list[Item],
        tracked: list[_Code],
        courses: dict[str, tuple[int, int]],
    ) -> None:
        for rules in tracked:
            code = rules.code
            total = 0
            for i in lines[code]:
                total += _units(items[i])
            person.add_use(code, day, total)
        for code, course in courses.items():
            person.courses[code] = course
        person.close_day(day, self.book.horizon_days)


def _courses(
    day: int, admission: int, person: PersonWindow | None, tracked: list[_Code]
) -> dict[str, tuple[int, int]]:
    """Each course-limited item's course once this claim is folded: (first day, last day).

    The course began on this claim's admission, or carries on the person's
    current one when this claim starts at most its break (plus a day) after it.
    """
    courses = _NO_COURSES
    for rules in tracked:
        gap = rules.course_break
        if gap < 0:
            continue
        if not courses:
            courses = {}
        code = rules.code
        earlier = person.courses.get(code) if person is not None else None
        if earlier is not None and admission - earlier[1] <= gap + 1 and earlier[0] <= admission:
            courses[code] = (earlier[0], max(day, earlier[1]))
        else:
            courses[code] = (admission, day)
    return courses


def _hit_order(hit: RuleHit) -> tuple[int, str, str]:
    return (hit.item_index, hit.rule_code, hit.item_code)


def _evaluate(kind: int, rule: Rule, row: KnowledgeRow, visit: _Visit) -> list[RuleHit]:
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
    if kind == _UNBUNDLING:
        return _unbundling(rule, row, visit)
    return _prerequisite(rule, row, visit)
