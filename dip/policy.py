"""A pooling area's DIP policy as data (spec section 3): dated versions and budget years.

A version applies to cases whose ``discharge_date`` is on or after its
``effective_from`` and before the next version's; ``years`` holds the budget
parameters of each budget year. Loading and validation are in :mod:`dip.loader`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date

from settlement.kinds import HOSPITAL_LEVELS

#: Hospital levels, each with its own level factor and average costs.
LEVELS = HOSPITAL_LEVELS
CORE = "core"
COMPREHENSIVE = "comprehensive"
OPERATIVE = "operative"
CONSERVATIVE = "conservative"


@dataclass(frozen=True, slots=True)
class Group:
    """One disease group of a catalogue.

    ``diagnosis`` and ``procedure`` are set for a core group (``procedure``
    None means "no procedure"); ``chapter`` and ``treatment`` for a
    comprehensive one.
    """

    code: str
    kind: str
    score: int  # ten-thousandths of a point
    average_cost_fen: dict[int, int]  # hospital level -> fen
    diagnosis: str | None = None
    procedure: str | None = None
    chapter: str | None = None
    treatment: str | None = None


@dataclass(slots=True)
class DipVersion:
    """One dated version: exclusions, deviation thresholds, coefficients and catalogue."""

    region: str
    effective_from: date
    los_exclude_at_most: int  # days
    los_exclude_at_least: int  # days
    low_ratio: int  # ten-thousandths
    high_ratio: int
    review_ratio: int
    hospital_coefficients: dict[int, int]  # level -> ten-thousandths
    hospital_overrides: dict[str, int]  # hospital_id -> ten-thousandths
    groups: list[Group]
    source: str | None = None  # provenance: a document, or "illustrative"
    # Lookups built once: (diagnosis key, procedure) -> core group; (chapter, treatment) -> group.
    core: dict[tuple[str, str | None], Group] = field(default_factory=dict, repr=False)
    comprehensive: dict[tuple[str, str], Group] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for group in self.groups:
            if group.kind == CORE:
                self.core[(group.diagnosis or "", group.procedure)] = group
            else:
                self.comprehensive[(group.chapter or "", group.treatment or "")] = group

    def coefficient(self, hospital_id: str, level: int) -> int:
        """The hospital coefficient ``h``: the hospital's override, else its level's."""
        override = self.hospital_overrides.get(hospital_id)
        return override if override is not None else self.hospital_coefficients[level]


@dataclass(frozen=True, slots=True)
class BudgetYear:
    """The parameters of one budget year; rates in ten-thousandths, budget in fen."""

    budget_fen: int
    reserve_rate: int
    advance_rate: int
    share_rate: int
    share_band: int


@dataclass(slots=True)
class DipPolicy:
    """All versions and budget years of one pooling area."""

    region: str
    name: str | None
    versions: list[DipVersion]
    years: dict[int, BudgetYear]
    source: str = ""  # the file it was loaded from
    _starts: list[date] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.versions.sort(key=lambda v: v.effective_from)
        self._starts = [v.effective_from for v in self.versions]

    def version_on(self, day: date) -> DipVersion | None:
        """The version in force on ``day`` (the latest ``effective_from`` on or before it)."""
        index = bisect.bisect_right(self._starts, day)
        return self.versions[index - 1] if index else None


@dataclass(slots=True)
class DipBook:
    """Every pooling area's DIP policy, by region code."""

    regions: dict[str, DipPolicy]
    source: str = ""

    def version_for(self, region: str, day: date) -> DipVersion | None:
        """The version of ``region`` in force on ``day``, or None."""
        policy = self.regions.get(region)
        return policy.version_on(day) if policy is not None else None
