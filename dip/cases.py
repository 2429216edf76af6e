"""Grouping a case and scoring its points (spec sections 4 and 5).

:func:`assess` turns one DIP case (a settled in-patient claim of an area with
a DIP version in force) into a :class:`CaseResult`: excluded by length of stay,
unassigned, or grouped with its cost ratio, deviation class, multiplier and
points. :func:`case_record` writes the section-5 record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from dip.numbers import FOUR, format_fen, format_four, round_half_up
from dip.policy import CONSERVATIVE, OPERATIVE, DipVersion, Group

GROUPED = "grouped"
EXCLUDED = "excluded"
UNASSIGNED = "unassigned"
LOW = "low"
NORMAL = "normal"
HIGH = "high"


@dataclass(frozen=True, slots=True)
class DipCase:
    """What DIP needs of one settled in-patient claim and its settlement record."""

    claim_id: str
    hospital_id: str
    region: str  # hospital.region: the pooling area that pays the case
    level: int
    admission_date: date
    discharge_date: date
    diagnosis: str
    procedures: tuple[str, ...]
    total_fen: int
    fund_pay_fen: int


@dataclass(frozen=True, slots=True)
class CaseResult:
    """A case's outcome; the scoring fields are set only when ``status`` is grouped."""

    case: DipCase
    status: str
    reason: str | None = None
    group: Group | None = None
    cost_ratio: int = 0  # ten-thousandths, rounded
    deviation: str = NORMAL
    multiplier: int = FOUR  # ten-thousandths, rounded
    special_review: bool = False
    coefficient: int = 0  # ten-thousandths
    points: int = 0  # ten-thousandths, rounded


def find_group(version: DipVersion, diagnosis: str, procedures: tuple[str, ...]) -> Group | None:
    """The case's group (section 4, steps 2 and 3), or None when no group fits.

    Core: the group of the principal procedure (or none) whose diagnosis key is
    the code itself or, one character shorter, its 3-character category; the
    longer key wins. Otherwise the comprehensive group of the diagnosis chapter
    and the treatment (operative when there is any procedure).
    """
    principal = procedures[0] if procedures else None
    core = version.core
    group = core.get((diagnosis, principal))
    if group is not None:
        return group
    # A 3-character key matches the codes of its category ("K35" matches "K35.8").
    if len(diagnosis) >= 4 and diagnosis[3] == ".":
        group = core.get((diagnosis[:3], principal))
        if group is not None:
            return group
    if not diagnosis:
        return None
    treatment = OPERATIVE if procedures else CONSERVATIVE
    return version.comprehensive.get((diagnosis[0], treatment))


def assess(case: DipCase, version: DipVersion) -> CaseResult:
    """Group one DIP case and compute its points under ``version`` (sections 4 and 5)."""
    los = (case.discharge_date - case.admission_date).days
    if los <= version.los_exclude_at_most or los >= version.los_exclude_at_least:
        return CaseResult(case, EXCLUDED, reason="los")
    group = find_group(version, case.diagnosis, case.procedures)
    if group is None:
        return CaseResult(case, UNASSIGNED, reason="no_group")
    average = group.average_cost_fen[case.level]
    total = case.total_fen
    scaled = total * FOUR  # r compared with a threshold t (ten-thousandths): C*10^4 vs t*A
    # The multiplier k as the exact fraction k_num / k_den.
    if scaled < version.low_ratio * average:
        deviation, k_num, k_den = LOW, total, average
    elif scaled > version.high_ratio * average:
        # k = r - high + 1 = (C*10^4 - (high - 1)*A) / (A*10^4)
        deviation = HIGH
        k_num, k_den = scaled - (version.high_ratio - FOUR) * average, average * FOUR
    else:
        deviation, k_num, k_den = NORMAL, 1, 1
    coefficient = version.coefficient(case.hospital_id, case.level)
    return CaseResult(
        case,
        GROUPED,
        group=group,
        cost_ratio=round_half_up(scaled, average),
        deviation=deviation,
        multiplier=round_half_up(k_num * FOUR, k_den),
        special_review=scaled > version.review_ratio * average,
        coefficient=coefficient,
        # P = S x k x h; S and h in ten-thousandths, P wanted in ten-thousandths.
        points=round_half_up(group.score * coefficient * k_num, k_den * FOUR),
    )


def case_record(result: CaseResult) -> dict[str, Any]:
    """The section-5 case record, fields in the spec's order."""
    case = result.case
    record: dict[str, Any] = {
        "claim_id": case.claim_id,
        "hospital_id": case.hospital_id,
        "region": case.region,
        "level": case.level,
        "discharge_date": case.discharge_date.isoformat(),
        "status": result.status,
    }
    group = result.group
    if group is None:
        record["reason"] = result.reason
        return record
    record["group"] = group.code
    record["kind"] = group.kind
    record["score"] = format_four(group.score)
    record["cost_ratio"] = format_four(result.cost_ratio)
    record["deviation"] = result.deviation
    record["multiplier"] = format_four(result.multiplier)
    record["special_review"] = result.special_review
    record["hospital_coefficient"] = format_four(result.coefficient)
    record["points"] = format_four(result.points)
    record["total"] = format_fen(case.total_fen)
    record["fund_pay"] = format_fen(case.fund_pay_fen)
    return record
