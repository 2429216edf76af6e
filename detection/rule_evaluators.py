"""The rule evaluators and :class:`RuleEngine`: a claim in, its rule hits out.

Each evaluator reads one knowledge row in force and the claim (and, for
windows longer than the claim, the person's :class:`~detection.rule_state.RuleState`),
and returns hits that name the rule, the bill line, the evidence (the row as
written and what was observed) and the amount at stake in fen. Pure and
deterministic: the same claims in the same order give the same hits.

(:class:`RuleHit` lives in :mod:`detection.rulebook`; it is imported from here too.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from detection.rule_state import PersonWindow, RuleState, state_key
from detection.rulebook import (
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
from settlement.money import format_fen

__all__ = ["RuleEngine", "RuleHit"]


#: What an evaluator returns when nothing fires: shared, never changed.
_NO_HITS: list[RuleHit] = []


@dataclass(slots=True)
class _Visit:
    """What the evaluators read of one claim, computed once."""

    claim: Claim
    day: int  # service date (discharge) as an ordinal
    admission: int
    lines: dict[str, list[int]]  # code -> line indices, in bill order
    amounts: list[int]
    quantities: list[int]  # missing quantity counts 1
    person: PersonWindow | None
    course_starts: dict[str, int]
    sex: str = ""  # M / F, read from the identity number when a restriction needs it
    age: int = -1  # whole years at admission, likewise

    def quantity(self, code: str) -> int:
        total = 0
        for i in self.lines[code]:
            total += self.quantities[i]
        return total

    def amount(self, code: str) -> int:
        total = 0
        for i in self.lines[code]:
            total += self.amounts[i]
        return total

    def diagnoses(self) -> list[str]:
        claim = self.claim
        return [claim.diagnosis.upper(), *(d.upper() for d in claim.diagnoses)]

    def read_person(self) -> None:
        if not self.sex:
            self.sex, self.age = sex_and_age(self.claim.person_id, self.claim.admission_date)


def _hit(rule: Rule, row: KnowledgeRow, index: int, code: str, fen: int, **seen: Any) -> RuleHit:
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
    broken: dict[str, Any] = {}
    if row.sex:
        v.read_person()
        if v.sex != row.sex:
            broken["sex"] = v.sex
    if row.age_min is not None or row.age_max is not None:
        v.read_person()
        if (row.age_min is not None and v.age < row.age_min) or (
            row.age_max is not None and v.age > row.age_max
        ):
            broken["age"] = v.age
    if row.indications:
        diagnoses = v.diagnoses()
        if not any(dx.startswith(prefix) for dx in diagnoses for prefix in row.indications):
            broken["diagnoses"] = diagnoses
    if row.settings and claim.claim_type not in row.settings:
        broken["setting"] = claim.claim_type
    if row.levels and claim.hospital_level not in row.levels:
        broken["hospital_level"] = claim.hospital_level
    if row.schemes and claim.scheme not in row.schemes:
        broken["scheme"] = claim.scheme
    if not broken:
        return _NO_HITS
    return [
        _hit(rule, row, i, row.item_code, v.amounts[i], **broken) for i in v.lines[row.item_code]
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
        _hit(rule, row, v.lines[code][0], code, fen, quantity=quantity, days=days, allowed=allowed)
    ]


def _course(rule: Rule, row: KnowledgeRow, v: _Visit) -> list[RuleHit]:
    code = row.item_code
    start = v.course_starts[code]
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
            course_start=date.fromordinal(start).isoformat(),
            days_of_use=used_days,
        )
    ]


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
        first, last = window_bounds(rule, v.day)
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
            count_in_window=count,
            earlier_in_window=before,
            allowed=allowed,
            window=str(rule.window),
        )
    ]


def _price_ceiling(rule: Rule, row: KnowledgeRow, v: _Visit) -> list[RuleHit]:
    levels = row.levels
    if levels and v.claim.hospital_level not in levels:
        return _NO_HITS
    ceiling = row.ceiling_fen
    hits = []
    for i in v.lines[row.item_code]:
        allowed = ceiling * v.quantities[i]
        if v.amounts[i] > allowed:
            hits.append(
                _hit(
                    rule,
                    row,
                    i,
                    row.item_code,
                    v.amounts[i] - allowed,
                    amount=format_fen(v.amounts[i]),
                    quantity=v.quantities[i],
                    allowed=format_fen(allowed),
                )
            )
    return hits


def _mutual_exclusion(rule: Rule, row: KnowledgeRow, v: _Visit) -> list[RuleHit]:
    excluded = row.other_code
    if excluded not in v.lines:
        return _NO_HITS
    including = v.lines[row.item_code][0]
    return [
        _hit(rule, row, i, excluded, v.amounts[i], billed_with_line=including)
        for i in v.lines[excluded]
    ]


def _unbundling(rule: Rule, row: KnowledgeRow, v: _Visit) -> list[RuleHit]:
    if row.item_code in v.lines:
        return []  # the package billed with its parts is a mutual-exclusion matter
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
            _code_at(v, first),
            max(0, total - row.package_fen),
            parts_billed={part: v.lines[part] for part in billed},
            parts_amount=format_fen(total),
        )
    ]


def _code_at(v: _Visit, index: int) -> str:
    for code, indices in v.lines.items():
        if index in indices:
            return code
    return ""


def _prerequisite(rule: Rule, row: KnowledgeRow, v: _Visit) -> list[RuleHit]:
    required = row.other_code
    if required in v.lines:
        return _NO_HITS
    if rule.window.kind == "days" and v.person is not None:
        # The prerequisite comes before the first use: look back N days from admission.
        first = v.admission - rule.window.days
        if v.person.quantity_between(required, first, v.day) > 0:
            return _NO_HITS
    return [
        _hit(rule, row, i, row.item_code, v.amounts[i], missing=required, window=str(rule.window))
        for i in v.lines[row.item_code]
    ]


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
        book = self.book
        by_item = book.by_item
        tracked_codes = book.tracked_codes
        lines: dict[str, list[int]] = {}
        amounts: list[int] = []
        quantities: list[int] = []
        candidates: list[list[KnowledgeEntry]] = []
        tracked: list[str] = []
        for index, item in enumerate(claim.items):
            code = item.code
            indices = lines.get(code)
            if indices is None:
                lines[code] = [index]
                entries = by_item.get(code)
                if entries is not None:
                    candidates.append(entries)
                if code in tracked_codes:
                    tracked.append(code)
            else:
                indices.append(index)
            amounts.append(item.amount_fen)
            quantity = item.quantity
            quantities.append(quantity if quantity is not None else 1)
        if not candidates and not tracked:
            return []

        day = claim.discharge_date.toordinal()
        admission = claim.admission_date.toordinal()
        key = state_key(claim.person_id) if state is not None and tracked else ""
        person = state.persons.get(key) if state is not None and tracked else None
        course_starts = self._course_starts(admission, person, tracked) if tracked else {}
        hits: list[RuleHit] = []
        if candidates:
            visit = _Visit(claim, day, admission, lines, amounts, quantities, person, course_starts)
            bit = 1 << claim_context(
                claim.claim_type, claim.scheme, claim.insured_region != claim.hospital_region
            )
            done: set[str] | None = None
            region = claim.hospital_region
            for entries in candidates:
                for entry in entries:
                    rule = entry.rule
                    if not entry.contexts & bit or not rule.from_day <= day <= rule.to_day:
                        continue
                    logic = rule.logic
                    if logic == "unbundling":  # reached from each of its parts: once
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
                    elif not row.from_day <= day <= row.to_day:
                        continue
                    found = _evaluate(logic, rule, row, visit)
                    if found:
                        hits.extend(found)
            if len(hits) > 1:
                hits.sort(key=_hit_order)
        if state is not None and tracked:
            self._fold(state, key, day, lines, quantities, tracked, course_starts)
        return hits

    def _course_starts(
        self, admission: int, person: PersonWindow | None, tracked: list[str]
    ) -> dict[str, int]:
        """Where each course-limited item's course began: on this claim, or carried on."""
        starts: dict[str, int] = {}
        breaks = self._course_breaks
        for code in tracked:
            gap = breaks.get(code)
            if gap is None:
                continue
            earlier = person.courses.get(code) if person is not None else None
            if (
                earlier is not None
                and admission - earlier[1] <= gap + 1
                and earlier[0] <= admission
            ):
                starts[code] = earlier[0]
            else:
                starts[code] = admission
        return starts

    def _fold(
        self,
        state: RuleState,
        key: str,
        day: int,
        lines: dict[str, list[int]],
        quantities: list[int],
        tracked: list[str],
        course_starts: dict[str, int],
    ) -> None:
        person = state.persons.get(key)
        if person is None:
            person = PersonWindow()
            state.persons[key] = person
        uses: dict[str, int] = {}
        for code in tracked:
            total = 0
            for i in lines[code]:
                total += quantities[i]
            uses[code] = total
        courses: dict[str, tuple[int, int]] = {}
        for code, start in course_starts.items():
            earlier = person.courses.get(code)
            last = max(day, earlier[1]) if earlier is not None and earlier[0] == start else day
            courses[code] = (start, last)
        person.fold(day, uses, courses, self.book.horizon_days)


def _hit_order(hit: RuleHit) -> tuple[int, str, str]:
    return (hit.item_index, hit.rule_code, hit.item_code)


def _evaluate(logic: str, rule: Rule, row: KnowledgeRow, visit: _Visit) -> list[RuleHit]:
    # A chain of comparisons, not a table of functions: compiled, these are direct calls.
    if logic == "restriction":
        return _restriction(rule, row, visit)
    if logic == "price_ceiling":
        return _price_ceiling(rule, row, visit)
    if logic == "quantity":
        return _quantity(rule, row, visit)
    if logic == "frequency":
        return _frequency(rule, row, visit)
    if logic == "course":
        return _course(rule, row, visit)
    if logic == "mutual_exclusion":
        return _mutual_exclusion(rule, row, visit)
    if logic == "unbundling":
        return _unbundling(rule, row, visit)
    return _prerequisite(rule, row, visit)
