"""Regional policy as dated data: the parameters a claim is settled under.

A :class:`PolicyBook` holds every pooling area's versions; a claim uses the
version of its insured region in force on its discharge date (spec section 3).
Loading and validation of the YAML files is in :mod:`settlement.policy_loader`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date

CLAIM_TYPES_WITH_RATIO = ("inpatient", "outpatient")
SCHEMES = ("employee", "resident")
LTC_SETTINGS = ("institutional", "home")
HOSPITAL_LEVELS = (1, 2, 3)


@dataclass(frozen=True, slots=True)
class ClaimTypeRule:
    """Ratio and deductible of one scheme for one claim type."""

    ratio: int  # ten-thousandths
    deductible_fen: dict[int, int]  # hospital level -> fen


@dataclass(frozen=True, slots=True)
class SchemePolicy:
    """One scheme's annual cap and its in-patient and out-patient rules."""

    annual_cap_fen: int
    inpatient: ClaimTypeRule
    outpatient: ClaimTypeRule

    def rule_for(self, claim_type: str) -> ClaimTypeRule:
        return self.inpatient if claim_type == "inpatient" else self.outpatient


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
