"""Regional policy as dated data: the parameters a claim is settled under.

A :class:`PolicyBook` holds every pooling area's versions; a claim uses the
version of its insured region in force on its discharge date (spec section 3).
Loading and validation of the YAML files is in :mod:`settlement.policy_loader`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date

# The claim vocabulary, for the policy loader's keys (defined in settlement.kinds).
from settlement.kinds import HOSPITAL_LEVELS as HOSPITAL_LEVELS
from settlement.kinds import LTC_SETTINGS as LTC_SETTINGS
from settlement.kinds import SCHEMES as SCHEMES

CLAIM_TYPES_WITH_RATIO = ("inpatient", "outpatient")
#: Inter-city filing categories of spec 8.6 (``none``: a patient without one).
FILING_CATEGORIES = ("long_term", "referral", "emergency", "temporary", "none")
CATALOGUE_CATEGORIES = ("A", "B", "C")


@dataclass(frozen=True, slots=True)
class Band:
    """One marginal band (spec 8.2, 8.8): the part of the base up to ``up_to_fen``."""

    up_to_fen: int | None  # None: no upper end (the last band)
    ratio: int  # ten-thousandths; used when ``level_ratio`` is None
    level_ratio: dict[int, int] | None = None  # hospital level -> ten-thousandths

    def ratio_at(self, level: int) -> int:
        return self.ratio if self.level_ratio is None else self.level_ratio[level]


@dataclass(frozen=True, slots=True)
class ClaimTypeRule:
    """Ratio (or level ratios, or bands) and deductible of one scheme for one claim type."""

    ratio: int  # ten-thousandths; used when neither ``level_ratio`` nor ``bands``
    deductible_fen: dict[int, int]  # hospital level -> fen
    level_ratio: dict[int, int] | None = None  # spec 8.1
    bands: tuple[Band, ...] | None = None  # spec 8.2
    deductible_repeat_factor: int | None = None  # spec 8.5, ten-thousandths
    deductible_year_max_fen: int | None = None  # spec 8.5

    def ratio_at(self, level: int) -> int:
        return self.ratio if self.level_ratio is None else self.level_ratio[level]

    @property
    def plain(self) -> bool:
        """True when the rule uses none of 8.1, 8.2 and 8.5 (the section-4 fast path)."""
        return (
            self.level_ratio is None
            and self.bands is None
            and self.deductible_repeat_factor is None
            and self.deductible_year_max_fen is None
        )


@dataclass(frozen=True, slots=True)
class CategoryPolicy:
    """A person category's replacements within a scheme (spec 8.3); None keeps the scheme's."""

    inpatient: ClaimTypeRule | None = None
    outpatient: ClaimTypeRule | None = None
    annual_cap_fen: int | None = None


@dataclass(frozen=True, slots=True)
class CriticalIllness:
    """Critical-illness insurance of a scheme (spec 8.8): bands above a threshold, a cap."""

    threshold_fen: int
    bands: tuple[Band, ...]
    annual_cap_fen: int


@dataclass(frozen=True, slots=True)
class Assistance:
    """Medical assistance of one assistance category (spec 8.9)."""

    threshold_fen: int
    ratio: int
    annual_cap_fen: int


@dataclass(frozen=True, slots=True)
class FilingReduction:
    """The inter-city reduction of one filing category (spec 8.6)."""

    subtract: int | None  # ten-thousandths; exactly one of subtract and multiply is set
    multiply: int | None

    def apply(self, ratio: int) -> int:
        if self.multiply is not None:
            return (ratio * self.multiply + 5000) // 10000
        return max(0, ratio - (self.subtract or 0))


@dataclass(frozen=True, slots=True)
class SchemePolicy:
    """One scheme's annual cap, its in-patient and out-patient rules, and section-8 parts."""

    annual_cap_fen: int
    inpatient: ClaimTypeRule
    outpatient: ClaimTypeRule
    categories: dict[str, CategoryPolicy] = field(default_factory=dict)  # spec 8.3
    critical_illness: CriticalIllness | None = None  # spec 8.8

    def rule_for(self, claim_type: str) -> ClaimTypeRule:
        return self.inpatient if claim_type == "inpatient" else self.outpatient


@dataclass(frozen=True, slots=True)
class CatalogueRow:
    """One dated row of a treatment region's catalogue (spec 8.4)."""

    effective_from: date
    category: str
    self_pay: int | None  # ten-thousandths, or None (the version's category_b_self_pay)
    price_ceiling_fen: int | None  # fen per unit, or None


@dataclass(slots=True)
class Catalogue:
    """A treatment region's catalogue: item code -> its rows, sorted by date."""

    region: str
    rows: dict[str, list[CatalogueRow]]
    source: str = ""  # the file it was loaded from

    def row_on(self, code: str, day: date) -> CatalogueRow | None:
        """The row of ``code`` in force on ``day`` (latest ``effective_from`` on or before)."""
        rows = self.rows.get(code)
        if rows is None:
            return None
        found = None
        for row in rows:
            if row.effective_from > day:
                break
            found = row
        return found


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One dated version of a pooling area's policy."""

    region: str
    effective_from: date
    category_b_self_pay: int  # ten-thousandths
    intercity_unregistered_reduction: int  # ten-thousandths
    ltc_per_diem_fen: dict[str, int]
    schemes: dict[str, SchemePolicy]
    source: str = ""  # the file it was loaded from
    provenance: str | None = None  # the version's own ``source`` key (spec 8.0)
    ltc_ratio: dict[str, int] = field(default_factory=dict)  # setting -> ratio (spec 8.7)
    intercity_filing: dict[str, FilingReduction] | None = None  # spec 8.6
    assistance: dict[str, Assistance] = field(default_factory=dict)  # spec 8.9
    #: True when some rule reads the year's section-8 accumulators (8.5, 8.8,
    #: 8.9); otherwise the engine does not look them up (they are still kept)
    reads_year_totals: bool = False

    @property
    def label(self) -> str:
        """The spec's ``policy_version`` string, e.g. ``441800@2017-01-01``."""
        return f"{self.region}@{self.effective_from.isoformat()}"


@dataclass(slots=True)
class RegionPolicy:
    """All versions of one pooling area, sorted by ``effective_from``."""

    region: str
    name: str | None
    versions: list[PolicyVersion]
    _starts: list[date] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.versions.sort(key=lambda v: v.effective_from)
        self._starts = [v.effective_from for v in self.versions]

    def version_on(self, day: date) -> PolicyVersion | None:
        """The version whose ``effective_from`` is the latest on or before ``day``."""
        index = bisect.bisect_right(self._starts, day)
        return self.versions[index - 1] if index else None


@dataclass(slots=True)
class PolicyBook:
    """Every pooling area's policy, looked up by insured region and date."""

    regions: dict[str, RegionPolicy]
    source: str = ""
    catalogues: dict[str, Catalogue] = field(default_factory=dict)  # treatment region (8.4)

    def version_for(self, region: str, day: date) -> PolicyVersion | None:
        """The version in force for ``region`` on ``day``, or None (spec: ``no_policy``)."""
        policy = self.regions.get(region)
        return policy.version_on(day) if policy is not None else None

    def version_by_label(self, label: str) -> PolicyVersion | None:
        """Find a version by its ``policy_version`` label (``441800@2017-01-01``)."""
        region, _, day = label.partition("@")
        policy = self.regions.get(region)
        if policy is None:
            return None
        for version in policy.versions:
            if version.effective_from.isoformat() == day:
                return version
        return None
