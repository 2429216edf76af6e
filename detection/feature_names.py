"""The feature vector's layout: every feature's name, in vector order, and its slot.

This is the one place that maps a feature's name to its position. Each family
of features (``detection/features_*.py`` and ``detection/dip_features.py``)
claims the slots of the values it computes, by name, when it is imported;
:func:`check_claims` then insists that every name in :data:`FEATURE_NAMES` is
claimed by exactly one family. A family writes a value into its slot, so the
order of this tuple is the only order there is.
"""

from __future__ import annotations

from detection.errors import FeatureLayoutError

# Bumped whenever a feature's meaning changes; stored with every model.
FEATURE_VERSION = "7"

# The claim's own features, each computed from past claims (the order below is
# the vector's; models are trained on it, never reorder it).
CLAIM_FEATURE_NAMES: tuple[str, ...] = (
    "is_inpatient",
    "is_outpatient",
    "is_ltc",
    "hospital_level",
    "cost_vs_peer_ratio",
    "cost_peer_z",
    "los_vs_peer_ratio",
    "items_vs_peer_ratio",
    "share_a",
    "share_c",
    "a_share_vs_peer",
    "readmit_gap_days",
    "readmit_same_dx_gap_days",
    "overlapping_stays",
    "person_claims_30d",
    "person_claims_365d",
    "person_hospital_claims_30d",
    "duplicate_bills",
    "identical_bill",
    "identical_bill_peer_rate",
    "age_years",
    "age_dx_z",
    "age_dx_implausible",
    "hosp_cost_ratio",
    "hosp_los_ratio",
    "hosp_readmit_vs_peer",
    "hosp_identical_vs_peer",
    "hosp_duplicate_rate",
    "hosp_a_share_vs_peer",
    "hosp_a_share_shift",
    "hosp_volume_spike",
    "hosp_implausible_rate",
    "price_vs_code_max",
    "price_vs_code_mean",
    "quantity_vs_code",
    "bill_lines",
    "identical_bill_share",
    "person_hospital_claims_365d",
    "dx_share_vs_peer",
    "cost_vs_own_hospital",
    "los_vs_own_hospital",
    "readmit_same_hospital_gap_days",
    "hosp_quick_readmit_vs_peer",
    "identical_other_patient",
    "hosp_dx_template_vs_peer",
    "same_day_admissions_vs_usual",
    "hosp_repeat_patients_vs_peer",
    "price_vs_own_hospital_max",
    "hosp_c_share_vs_peer",
    "hosp_price_ratio",
    "hosp_quantity_ratio",
    "dx_code_share_vs_peer",
    "items_unusual_for_dx",
    "dip_cost_ratio",
    "dip_group_vs_dx",
    "secondary_dx_count",
    "secondary_dx_vs_peer",
    "procedures_vs_peer",
    "procedure_items_missing",
    "dx_outpatient_share",
    "hosp_cmi_vs_peer",
    "hosp_top_group_vs_peer",
    "hosp_ultra_low_vs_peer",
    "hosp_secondary_dx_vs_peer",
    "hosp_procedures_vs_peer",
    "hosp_items_missing_vs_peer",
    "hosp_mild_admission_vs_peer",
)
# Facts of the claim's kind or its hospital's place, not of how it bills: they have
# no period mean (a mean of the claim type is the hospital's case mix, already
# in the hospital features).
_NOT_AVERAGED: frozenset[str] = frozenset(
    {"is_inpatient", "is_outpatient", "is_ltc", "hospital_level"}
)
#: The claim features whose mean over the hospital's claims of the period is a
#: feature too (detection/features_period.py): every claim-level one. The
#: ``hosp_*`` features are already the hospital's running rates.
PERIOD_BASES: tuple[str, ...] = tuple(
    name
    for name in CLAIM_FEATURE_NAMES
    if not name.startswith("hosp_") and name not in _NOT_AVERAGED
)
PERIOD_PREFIX = "period_"
PERIOD_NAMES: tuple[str, ...] = tuple(PERIOD_PREFIX + name for name in PERIOD_BASES)

FEATURE_NAMES: tuple[str, ...] = CLAIM_FEATURE_NAMES + PERIOD_NAMES
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}

# name -> the families that claimed it (a list, so that a second claim is seen)
_CLAIMS: dict[str, list[str]] = {}


def slot(name: str, family: str) -> int:
    """The position of feature ``name`` in the vector, claimed for ``family``.

    Called once per feature at the import of the family that computes it.

    Raises:
        FeatureLayoutError: ``name`` is not in :data:`FEATURE_NAMES`.
    """
    index = FEATURE_INDEX.get(name)
    if index is None:
        raise FeatureLayoutError(
            f"family {family} computes {name!r}, which is not in FEATURE_NAMES"
        )
    _CLAIMS.setdefault(name, []).append(family)
    return index


def claimed_by() -> dict[str, list[str]]:
    """Each feature name and the families that claimed its slot so far."""
    return {name: list(families) for name, families in _CLAIMS.items()}


def check_claims() -> None:
    """Every feature is computed by exactly one family (call once all families are imported).

    Raises:
        FeatureLayoutError: a name no family computes, or one that several claim.
    """
    missing = [name for name in FEATURE_NAMES if name not in _CLAIMS]
    twice = {name: fams for name, fams in _CLAIMS.items() if len(fams) > 1}
    if missing or twice:
        raise FeatureLayoutError(
            f"every feature must be computed by exactly one family; "
            f"computed by none: {missing}; claimed more than once: {twice}"
        )
