"""The rule engine: a claim in, its rule hits out, the person's windows folded.

For each bill line it finds the catalogue's entries of the line's code (flat,
as :class:`~detection.rule_checks.Check`), keeps the rows in force for the
claim's context, region and discharge day, and hands each to its evaluator
(:mod:`detection.rule_evaluators`). Pure and
deterministic: the same claims in the same order give the same hits.

(:class:`RuleHit` lives in :mod:`detection.rulebook`; it is imported from here too.)
"""

from __future__ import annotations

from typing import Final

from detection.rule_checks import Check, checks_of
from detection.rule_evaluators import NO_COURSES, UNBUNDLING, Visit, evaluate, units
from detection.rule_state import PersonWindow, RuleState
from detection.rulebook import RuleBook, RuleHit, claim_context
from settlement.claim import Claim
from settlement.claim_items import Item

__all__ = ["RuleEngine", "RuleHit"]


class _Code:
    """What the engine knows of one item code: its entries, whether its uses are kept,
    and the break that ends a course of it."""

    def __init__(self, code: str, first: Check | None, tracked: bool, course_break: int) -> None:
        # Every table's entries, flat, chained in the book's order (None: none).
        self.first = first
        self.code = code
        self.tracked = tracked  # remembered across claims (RuleBook.tracked_codes)
        self.course_break = course_break  # the longest break_days of its rows; -1: no course


#: A code the catalogue does not list: no entries, not tracked.
_NOT_LISTED: Final = _Code("", None, False, -1)
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
        names: dict[str, str] = {}  # one string object per code (rule_checks.Check)
        for code, entries in book.by_item.items():
            tracked = code in book.tracked_codes
            name = names.setdefault(code, code)
            first = checks_of(entries, names)
            self._codes[name] = _Code(name, first, tracked, breaks.get(code, -1))
        for code in book.tracked_codes:
            if code not in self._codes:
                name = names.setdefault(code, code)
                self._codes[name] = _Code(name, None, True, breaks.get(code, -1))
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
        candidates: list[_Code] = []
        places: list[list[int]] = []  # each candidate's lines
        tracked: list[_Code] = []
        for index, item in enumerate(items):
            code = item.code
            indices = lines.get(code)
            if indices is None:
                indices = lines[code] = [index]
                rules = lately.get(code)
                if rules is None:
                    rules = known.get(code, _NOT_LISTED)
                    if len(lately) >= _BILLED_LATELY:
                        lately.clear()  # bounded: start again
                    lately[code] = rules
                if rules.first is not None:
                    candidates.append(rules)
                    places.append(indices)
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
        courses = _courses(day, admission, person, tracked) if tracked else NO_COURSES
        hits: list[RuleHit] = []
        if candidates:
            visit = Visit(claim, items, day, admission, lines, person, courses)
            bit = 1 << claim_context(
                claim.claim_type, claim.scheme, claim.insured_region != claim.hospital_region
            )
            done: set[str] | None = None
            region = claim.hospital_region
            for k, rules in enumerate(candidates):
                at = places[k]
                following = rules.first
                while following is not None:
                    check = following
                    following = check.next
                    # The rule's dates, narrowed to its row's when there is one version.
                    if not check.contexts & bit or not check.from_day <= day <= check.to_day:
                        continue
                    if check.kind == UNBUNDLING:  # reached from each of its parts: once
                        name = f"{check.rule.rule_code} {check.code}"
                        if done is None:
                            done = set()
                        elif name in done:
                            continue
                        done.add(name)
                    if check.several:
                        version = check.version(region, day)
                        if version is None:
                            continue
                        check = version
                    found = evaluate(check, visit, at)
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
                total += units(items[i])
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
    courses = NO_COURSES
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
