"""Building a DIP catalogue from history: scores and average costs (spec section 8).

From an area's settled in-patient cases of the three years before the target
year (weights 1 : 2 : 7, oldest first), keys (diagnosis, principal procedure)
with enough cases become core groups; the other cases are pooled by ICD-10
chapter and treatment into comprehensive groups. ``score = m_i / M x 1000``;
``average_cost`` per hospital level is the latest year's mean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from dip.cases import DipCase
from dip.numbers import FOUR, format_fen, format_four, round_half_up
from dip.policy import COMPREHENSIVE, CONSERVATIVE, CORE, LEVELS, OPERATIVE, Group

#: Weights of the years y-3, y-2 and y-1.
YEAR_WEIGHTS = (1, 2, 7)
DEFAULT_CORE_MIN_CASES = 15
_CHAPTER = re.compile(r"[A-Z]")


@dataclass(slots=True)
class _Stats:
    """Counts and total cost (fen) by year and by (year, level)."""

    by_year: dict[int, list[int]] = field(default_factory=dict)  # year -> [n, sum]
    by_year_level: dict[tuple[int, int], list[int]] = field(default_factory=dict)

    def add(self, year: int, level: int, total: int) -> None:
        cell = self.by_year.setdefault(year, [0, 0])
        cell[0] += 1
        cell[1] += total
        cell = self.by_year_level.setdefault((year, level), [0, 0])
        cell[0] += 1
        cell[1] += total

    def merge(self, other: _Stats) -> None:
        for year, (n, total) in other.by_year.items():
            cell = self.by_year.setdefault(year, [0, 0])
            cell[0] += n
            cell[1] += total
        for key, (n, total) in other.by_year_level.items():
            cell = self.by_year_level.setdefault(key, [0, 0])
            cell[0] += n
            cell[1] += total

    @property
    def count(self) -> int:
        return sum(n for n, _ in self.by_year.values())

    def weighted_mean(self, weights: dict[int, int]) -> Fraction:
        """sum of w_t x mean_t over the years with cases, over the sum of those w_t (fen)."""
        years = [year for year in weights if year in self.by_year]
        numerator = sum(
            (Fraction(weights[y] * self.by_year[y][1], self.by_year[y][0]) for y in years),
            Fraction(0),
        )
        return numerator / sum(weights[y] for y in years)

    def average_cost(self) -> dict[int, int]:
        """Per level: the mean of the latest year with cases of that level, rounded to the fen."""
        latest = max(self.by_year)
        n, total = self.by_year[latest]
        fallback = round_half_up(total, n)
        costs: dict[int, int] = {}
        for level in LEVELS:
            years = [year for (year, lv) in self.by_year_level if lv == level]
            if years:
                n, total = self.by_year_level[(max(years), level)]
                costs[level] = round_half_up(total, n)
            else:
                costs[level] = fallback
        return costs


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The built groups (core first, then comprehensive, each by code) and any warnings."""

    groups: list[Group]
    cases: int
    warnings: list[str]


def build_catalogue(
    cases: Iterable[DipCase],
    region: str,
    year: int,
    core_min_cases: int = DEFAULT_CORE_MIN_CASES,
    los_exclude_at_most: int = 0,
    los_exclude_at_least: int = 60,
) -> Catalogue:
    """Build the catalogue of ``region`` for budget year ``year`` from past cases.

    Args:
        cases: settled in-patient cases (any area, any year; the others are skipped).
        region: the pooling area (the hospital's region).
        year: the budget year; cases of ``year - 3`` to ``year - 1`` are used.
        core_min_cases: the least number of cases that makes a key a core group.
        los_exclude_at_most: stays of at most this many days are left out.
        los_exclude_at_least: stays of at least this many days are left out.
    """
    weights = {year - 3 + index: weight for index, weight in enumerate(YEAR_WEIGHTS)}
    keys, area = _tally_keys(cases, region, weights, los_exclude_at_most, los_exclude_at_least)
    warnings: list[str] = []
    if not area.by_year:
        return Catalogue(
            [], 0, [f"area {region}: no settled in-patient case in {year - 3}-{year - 1}"]
        )
    mean_all = area.weighted_mean(weights)
    if mean_all == 0:
        return Catalogue(
            [], area.count, [f"area {region}: every case costs 0; no score can be built"]
        )
    core: list[Group] = []
    pooled: dict[tuple[str, str], _Stats] = {}
    for (diagnosis, principal), stats in keys.items():
        if stats.count >= core_min_cases:
            core.append(
                Group(
                    code=f"{diagnosis}+{principal if principal is not None else 'none'}",
                    kind=CORE,
                    score=_score(stats.weighted_mean(weights), mean_all),
                    average_cost_fen=stats.average_cost(),
                    diagnosis=diagnosis,
                    procedure=principal,
                )
            )
            continue
        chapter = diagnosis[:1]
        treatment = OPERATIVE if principal is not None else CONSERVATIVE
        pooled.setdefault((chapter, treatment), _Stats()).merge(stats)
    comprehensive: list[Group] = []
    for (chapter, treatment), stats in pooled.items():
        if not _CHAPTER.fullmatch(chapter):
            warnings.append(
                f"{stats.count} cases whose diagnosis starts with {chapter!r} (not an ICD-10"
                " chapter letter) form no comprehensive group"
            )
            continue
        comprehensive.append(
            Group(
                code=f"{chapter}-{treatment}",
                kind=COMPREHENSIVE,
                score=_score(stats.weighted_mean(weights), mean_all),
                average_cost_fen=stats.average_cost(),
                chapter=chapter,
                treatment=treatment,
            )
        )
    core.sort(key=lambda g: g.code)
    comprehensive.sort(key=lambda g: g.code)
    for group in core + comprehensive:
        if group.score == 0 or 0 in group.average_cost_fen.values():
            warnings.append(
                f"group {group.code}: its cases cost (almost) nothing, so its score or an"
                " average cost is 0, which a DIP policy refuses; edit it before use"
            )
    return Catalogue(core + comprehensive, area.count, warnings)


def _tally_keys(
    cases: Iterable[DipCase],
    region: str,
    weights: dict[int, int],
    los_exclude_at_most: int,
    los_exclude_at_least: int,
) -> tuple[dict[tuple[str, str | None], _Stats], _Stats]:
    """The area's cases of the weighted years by key (diagnosis, principal procedure), and all."""
    keys: dict[tuple[str, str | None], _Stats] = {}
    area = _Stats()
    for case in cases:
        discharged = case.discharge_date.year
        if case.region != region or discharged not in weights:
            continue
        los = (case.discharge_date - case.admission_date).days
        if los <= los_exclude_at_most or los >= los_exclude_at_least:
            continue
        principal = case.procedures[0] if case.procedures else None
        key = (case.diagnosis, principal)
        stats = keys.get(key)
        if stats is None:
            stats = keys[key] = _Stats()
        stats.add(discharged, case.level, case.total_fen)
        area.add(discharged, case.level, case.total_fen)
    return keys, area


def _score(mean: Fraction, mean_all: Fraction) -> int:
    ratio = mean / mean_all * 1000 * FOUR
    return round_half_up(ratio.numerator, ratio.denominator)


def catalogue_yaml(groups: list[Group]) -> str:
    """The groups as the YAML list a DIP policy's ``groups`` takes, one flow mapping a line."""
    lines = []
    for group in groups:
        costs = ", ".join(
            f"{level}: {format_fen(group.average_cost_fen[level])}" for level in LEVELS
        )
        if group.kind == CORE:
            procedure = json.dumps(group.procedure) if group.procedure is not None else "null"
            what = f"diagnosis: {json.dumps(group.diagnosis)}, procedure: {procedure}"
        else:
            what = f"chapter: {json.dumps(group.chapter)}, treatment: {group.treatment}"
        lines.append(
            f"- {{code: {json.dumps(group.code)}, kind: {group.kind}, {what},"
            f" score: {format_four(group.score)}, average_cost: {{{costs}}}}}\n"
        )
    return "".join(lines)
