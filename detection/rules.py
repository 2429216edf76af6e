"""Explicit red flags: codes, thresholds and plain-language reasons.

Each rule reads a claim's :class:`~detection.features.Features` (so it sees
exactly what the model sees) and fires with a reason a clerk can check. Alone,
:func:`rules_score` ranks claims as the rules-only baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from detection.dip_features import ITEMS_MISSING, ULTRA_LOW_RATIO
from detection.features import FEATURE_READMISSION_WINDOW_DAYS, Features
from detection.reasons import feature_text


@dataclass(frozen=True, slots=True)
class Rule:
    """One red flag: when it fires, how strongly, and which feature explains it."""

    code: str
    weight: float  # used by the rules-only score, in (0, 1)
    fires: Callable[[Features], bool]
    feature: str  # the feature whose text is the reason


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule that fired for a claim."""

    code: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "reason": self.reason}


RULES: tuple[Rule, ...] = (
    Rule("DUPLICATE_BILL", 0.9, lambda f: f["duplicate_bills"] >= 1, "duplicate_bills"),
    Rule("OVERLAPPING_STAY", 0.8, lambda f: f["overlapping_stays"] >= 1, "overlapping_stays"),
    Rule(
        "READMIT_SAME_DX",
        0.6,
        lambda f: f["readmit_same_dx_gap_days"] <= FEATURE_READMISSION_WINDOW_DAYS,
        "readmit_same_dx_gap_days",
    ),
    Rule("IMPLAUSIBLE_DIAGNOSIS", 0.7, lambda f: f["age_dx_implausible"] > 0, "age_dx_implausible"),
    Rule("COST_OUTLIER", 0.5, lambda f: f["cost_vs_peer_ratio"] >= 3.0, "cost_vs_peer_ratio"),
    Rule(
        "LONG_STAY",
        0.4,
        lambda f: f["is_inpatient"] > 0 and f["los_vs_peer_ratio"] >= 2.5,
        "los_vs_peer_ratio",
    ),
    Rule(
        "IDENTICAL_BILL",
        0.5,
        lambda f: (
            f["identical_bill"] > 0
            and f["identical_bill_peer_rate"] < 0.2
            and f["hosp_identical_vs_peer"] >= 3.0
        ),
        "identical_bill",
    ),
    Rule(
        "CATEGORY_A_SHIFT",
        0.4,
        lambda f: f["a_share_vs_peer"] >= 0.4 and f["hosp_a_share_vs_peer"] >= 0.1,
        "a_share_vs_peer",
    ),
    Rule("VOLUME_SPIKE", 0.2, lambda f: f["hosp_volume_spike"] >= 2.5, "hosp_volume_spike"),
    Rule("FREQUENT_CLAIMS", 0.3, lambda f: f["person_claims_30d"] >= 4, "person_claims_30d"),
    Rule(
        "PROCEDURE_NOT_BILLED",
        0.6,
        lambda f: f["procedure_items_missing"] >= ITEMS_MISSING,
        "procedure_items_missing",
    ),
    Rule(
        "OUTPATIENT_CASE_ADMITTED",
        0.3,
        lambda f: (
            f["is_inpatient"] > 0
            and f["dip_cost_ratio"] < ULTRA_LOW_RATIO
            and f["dx_outpatient_share"] >= 0.7
        ),
        "dx_outpatient_share",
    ),
)


def evaluate_rules(features: Features) -> list[RuleHit]:
    """Every red flag the claim raises, in the catalogue's order (``RULES``).

    Args:
        features: the claim's features.

    Returns:
        The hits, each with its code and a plain-language reason.
    """
    return [
        RuleHit(rule.code, feature_text(rule.feature, features))
        for rule in RULES
        if rule.fires(features)
    ]


def rules_score(features: Features) -> float:
    """Rules-only fraud score in [0, 1]: 1 - prod(1 - weight) over the rules that fire."""
    keep = 1.0
    for rule in RULES:
        if rule.fires(features):
            keep *= 1.0 - rule.weight
    return 1.0 - keep
