"""Plain-language texts for features, written for a claims clerk.

:func:`feature_text` says what one feature's value means for one claim, e.g.
"total cost 3.2x the typical cost of level-2 hospitals for J18.9". The model's
top contributions and the red-flag rules both speak through these texts.
"""

from __future__ import annotations

from collections.abc import Callable

from detection.feature_names import PERIOD_BASES, PERIOD_PREFIX
from detection.features import NO_EVENT_DAYS, Features


def _yuan(fen: float) -> str:
    return f"{fen / 100:,.2f}"


def _times(x: float) -> str:
    return f"{x:.1f}x"


def _days(n: float) -> str:
    days = round(n)
    return f"{days} day" if days == 1 else f"{days} days"


def _peers(f: Features) -> str:
    return f"level-{f.level} hospitals for {f.diagnosis} ({f.claim_type})"


def _gap(f: Features, name: str, same_dx: bool) -> str:
    gap = f[name]
    if gap >= NO_EVENT_DAYS:
        return "no earlier in-patient stay of this patient"
    dx = ", same diagnosis" if same_dx else ""
    return f"re-admitted {_days(gap)} after discharge{dx}"


def _group(f: Features) -> str:
    return f"{f.diagnosis}+{f.principal_procedure or 'none'}"


def _ratio_text(what: str) -> Callable[[Features, str], str]:
    def text(f: Features, name: str) -> str:
        return f"hospital's {what} {_times(f[name])} that of its peers (past claims)"

    return text


_TEXTS: dict[str, Callable[[Features, str], str]] = {
    "is_inpatient": lambda f, n: f"claim type {f.claim_type}",
    "is_outpatient": lambda f, n: f"claim type {f.claim_type}",
    "is_ltc": lambda f, n: f"claim type {f.claim_type}",
    "hospital_level": lambda f, n: f"level-{f.level} hospital",
    "cost_vs_peer_ratio": lambda f, n: (
        f"total cost {_times(f[n])} the typical cost of {_peers(f)} ({_yuan(f.peer_cost_fen)} yuan)"
    ),
    "cost_peer_z": lambda f, n: f"total cost {f[n]:+.1f} standard deviations from {_peers(f)}",
    "los_vs_peer_ratio": lambda f, n: (
        f"length of stay {_times(f[n])} the typical stay at {_peers(f)}"
        f" ({f.peer_los_days:.1f} days)"
    ),
    "items_vs_peer_ratio": lambda f, n: f"{_times(f[n])} as many bill lines as {_peers(f)}",
    "share_a": lambda f, n: f"category-A items are {f[n]:.0%} of the bill",
    "share_c": lambda f, n: f"self-pay (category-C) items are {f[n]:.0%} of the bill",
    "a_share_vs_peer": lambda f, n: (
        f"category-A share {f['share_a']:.0%}, {f[n] * 100:+.0f} points against {_peers(f)}"
    ),
    "readmit_gap_days": lambda f, n: _gap(f, n, same_dx=False),
    "readmit_same_dx_gap_days": lambda f, n: _gap(f, n, same_dx=True),
    "overlapping_stays": lambda f, n: (
        f"in-patient stay overlaps {int(f[n])} other stay(s) of the same patient"
    ),
    "person_claims_30d": lambda f, n: f"patient had {int(f[n])} earlier claim(s) in 30 days",
    "person_claims_365d": lambda f, n: f"patient had {int(f[n])} earlier claim(s) in a year",
    "person_hospital_claims_30d": lambda f, n: (
        f"patient had {int(f[n])} earlier claim(s) at this hospital in 30 days"
    ),
    "duplicate_bills": lambda f, n: (
        f"same patient, hospital, dates and amount as {int(f[n])} earlier claim(s)"
    ),
    "identical_bill": lambda f, n: (
        "bill identical (items and amounts) to an earlier bill at this hospital"
        if f[n] > 0
        else "bill not identical to an earlier one"
    ),
    "identical_bill_peer_rate": lambda f, n: (
        f"{f[n]:.0%} of bills of {_peers(f)} repeat an earlier bill"
    ),
    "age_years": lambda f, n: f"patient aged {int(f[n])}",
    "age_dx_z": lambda f, n: (
        f"patient's age {int(f['age_years'])} is {f[n]:+.1f} standard deviations"
        f" from patients with {f.diagnosis}"
    ),
    "age_dx_implausible": lambda f, n: (
        f"diagnosis {f.diagnosis} is implausible: {f.implausible}"
        if f.implausible
        else f"diagnosis {f.diagnosis} plausible for age and sex"
    ),
    "hosp_cost_ratio": _ratio_text("typical cost"),
    "hosp_los_ratio": _ratio_text("typical length of stay"),
    "hosp_readmit_vs_peer": _ratio_text("re-admission rate"),
    "hosp_identical_vs_peer": _ratio_text("share of identical bills"),
    "hosp_duplicate_rate": lambda f, n: f"{f[n]:.1%} of the hospital's claims are duplicates",
    "hosp_a_share_vs_peer": lambda f, n: (
        f"hospital bills category A {f[n] * 100:+.0f} points more than its peers"
    ),
    "hosp_a_share_shift": lambda f, n: (
        f"hospital's category-A share moved {f[n] * 100:+.0f} points recently"
    ),
    "hosp_volume_spike": lambda f, n: (
        f"hospital's claims in the last 4 weeks {_times(f[n])} its usual volume"
    ),
    "hosp_implausible_rate": lambda f, n: (
        f"{f[n]:.1%} of the hospital's claims have an implausible age/sex diagnosis"
    ),
    "price_vs_code_max": lambda f, n: (
        f"an item priced {_times(f[n])} what level-{f.level} hospitals charge for the same code"
    ),
    "price_vs_code_mean": lambda f, n: (
        f"items priced {_times(f[n])} the usual price of the same codes (amount-weighted)"
    ),
    "quantity_vs_code": lambda f, n: (
        f"quantities {_times(f[n])} those usually billed for the same items"
    ),
    "bill_lines": lambda f, n: f"{int(f[n])} bill lines",
    "identical_bill_share": lambda f, n: (
        f"the same bill as {f[n]:.0%} of this hospital's earlier {f.diagnosis} claims"
    ),
    "person_hospital_claims_365d": lambda f, n: (
        f"patient had {int(f[n])} earlier claim(s) at this hospital in a year"
    ),
    "dx_share_vs_peer": lambda f, n: (
        f"hospital bills {f.diagnosis} {_times(f[n])} as often as its peers do"
    ),
    "cost_vs_own_hospital": lambda f, n: (
        f"total cost {_times(f[n])} this hospital's usual cost for {f.diagnosis} ({f.claim_type})"
    ),
    "los_vs_own_hospital": lambda f, n: (
        f"stay {_times(f[n])} this hospital's usual stay for {f.diagnosis}"
    ),
    "readmit_same_hospital_gap_days": lambda f, n: (
        "no earlier stay of this patient at this hospital"
        if f[n] >= NO_EVENT_DAYS
        else f"re-admitted to the same hospital {_days(f[n])} after discharge"
    ),
    "hosp_quick_readmit_vs_peer": _ratio_text("rate of re-admissions within 3 days"),
    "identical_other_patient": lambda f, n: (
        "bill identical, item for item, to another patient's earlier bill at this hospital"
        if f[n] > 0
        else "bill not identical to another patient's"
    ),
    "hosp_dx_template_vs_peer": lambda f, n: (
        f"hospital's {f.diagnosis} bills copy other patients' bills {_times(f[n])}"
        " as often as at other hospitals"
    ),
    "same_day_admissions_vs_usual": lambda f, n: (
        f"admitted on a day with {_times(f[n])} the hospital's usual admissions"
    ),
    "hosp_repeat_patients_vs_peer": _ratio_text("share of patients staying again and again"),
    "price_vs_own_hospital_max": lambda f, n: (
        f"an item priced {_times(f[n])} what this hospital usually charges for the same code"
    ),
    "hosp_c_share_vs_peer": lambda f, n: (
        f"hospital bills self-pay (category C) {f[n] * 100:+.0f} points against its peers"
    ),
    "hosp_price_ratio": _ratio_text("item prices"),
    "hosp_quantity_ratio": _ratio_text("item quantities"),
    "dx_code_share_vs_peer": lambda f, n: (
        f"hospital codes {f.diagnosis} {_times(f[n])} as often as its peers do"
    ),
    "items_unusual_for_dx": lambda f, n: (
        f"{f[n]:.0%} of the bill is items rarely billed for {f.diagnosis}"
    ),
    "dip_cost_ratio": lambda f, n: (
        f"total cost {_times(f[n])} the typical cost of its DIP group {_group(f)} at"
        f" level-{f.level} hospitals ({_yuan(f.dip_group_cost_fen)} yuan)"
        + ("; below half: an ultra-low case" if f[n] < 0.5 else "")
    ),
    "dip_group_vs_dx": lambda f, n: (
        f"coded into DIP group {_group(f)}, whose cases cost {_times(f[n])} the typical"
        f" {f.diagnosis} case"
    ),
    "secondary_dx_count": lambda f, n: f"{int(f[n])} secondary diagnoses coded",
    "secondary_dx_vs_peer": lambda f, n: (
        f"{_times(f[n])} as many secondary diagnoses as usual for {_peers(f)} (counting one more)"
    ),
    "procedures_vs_peer": lambda f, n: (
        f"{_times(f[n])} as many procedures as usual for {_peers(f)} (counting one more)"
    ),
    "procedure_items_missing": lambda f, n: (
        f"procedure {f.principal_procedure or '(none)'} coded, but an item billed with"
        f" {f[n]:.0%} of other cases with it is not on the bill"
        if f[n] > 0
        else "the bill has the items usually billed with the coded procedure"
    ),
    "dx_outpatient_share": lambda f, n: (
        f"{f[n]:.0%} of claims for {f.diagnosis} are outpatient visits,"
        " yet this patient was admitted"
    ),
    "hosp_cmi_vs_peer": lambda f, n: (
        f"hospital's cases are coded into DIP groups {_times(f[n])} as costly as peers'"
        " groups for the same diagnoses (case-mix index)"
    ),
    "hosp_top_group_vs_peer": _ratio_text(
        "share of cases in the highest-scoring DIP group of their diagnosis"
    ),
    "hosp_ultra_low_vs_peer": _ratio_text(
        "share of ultra-low cases (under half their DIP group's typical cost)"
    ),
    "hosp_secondary_dx_vs_peer": _ratio_text("number of secondary diagnoses per case"),
    "hosp_procedures_vs_peer": _ratio_text("number of procedures per case"),
    "hosp_items_missing_vs_peer": _ratio_text(
        "share of cases coding a procedure whose usual items are not billed"
    ),
    "hosp_mild_admission_vs_peer": _ratio_text(
        "admissions for diagnoses usually treated as outpatients"
    ),
}


def _period_text(base: str) -> Callable[[Features, str], str]:
    label = FEATURE_LABELS[base]

    def text(f: Features, name: str) -> str:
        return (
            f"hospital's claims of the period on average: {label}"
            f" ({f[name]:.2f}; this claim {f[base]:.2f})"
        )

    return text


def feature_text(name: str, features: Features) -> str:
    """What one feature's value means for this claim, in plain words.

    Args:
        name: a name from ``FEATURE_NAMES``.
        features: the claim's features.

    Returns:
        A short sentence fragment without a final full stop.
    """
    return _TEXTS[name](features, name)


# Facts about the claim a clerk cannot act on: they shift the score (a level-3
# hospital bills more) but are not a reason to look at a claim, so they are
# never shown as one.
STRUCTURAL: frozenset[str] = frozenset(
    {"is_inpatient", "is_outpatient", "is_ltc", "hospital_level", "age_years"}
    | {PERIOD_PREFIX + "age_years"}  # the hospital's patients' mean age
)


def is_actionable(name: str) -> bool:
    """Whether a feature may be shown to clerks as a reason (not a structural fact)."""
    return name not in STRUCTURAL


# Short labels for summaries such as a hospital's main reasons.
FEATURE_LABELS: dict[str, str] = {
    "is_inpatient": "claim type",
    "is_outpatient": "claim type",
    "is_ltc": "claim type",
    "hospital_level": "hospital level",
    "cost_vs_peer_ratio": "cost far above peer hospitals",
    "cost_peer_z": "cost far above peer hospitals",
    "los_vs_peer_ratio": "stays longer than at peer hospitals",
    "items_vs_peer_ratio": "more bill lines than peers",
    "share_a": "category-A share of the bill",
    "share_c": "self-pay share of the bill",
    "a_share_vs_peer": "category-A share above peers",
    "readmit_gap_days": "re-admission soon after discharge",
    "readmit_same_dx_gap_days": "re-admission with the same diagnosis",
    "overlapping_stays": "overlapping in-patient stays",
    "person_claims_30d": "patients with frequent claims",
    "person_claims_365d": "patients with frequent claims",
    "person_hospital_claims_30d": "patients returning to the hospital often",
    "duplicate_bills": "duplicate bills",
    "identical_bill": "identical bills",
    "identical_bill_peer_rate": "identical bills",
    "age_years": "patient age",
    "age_dx_z": "unusual age for the diagnosis",
    "age_dx_implausible": "diagnosis implausible for age or sex",
    "hosp_cost_ratio": "hospital's costs above peers",
    "hosp_los_ratio": "hospital's stays longer than peers",
    "hosp_readmit_vs_peer": "hospital's re-admission rate above peers",
    "hosp_identical_vs_peer": "hospital's identical bills above peers",
    "hosp_duplicate_rate": "hospital's duplicate bills",
    "hosp_a_share_vs_peer": "hospital bills category A more than peers",
    "hosp_a_share_shift": "hospital's category mix shifted",
    "hosp_volume_spike": "hospital's claim volume spiked",
    "hosp_implausible_rate": "hospital's implausible diagnoses",
    "price_vs_code_max": "item prices above other hospitals",
    "price_vs_code_mean": "item prices above other hospitals",
    "quantity_vs_code": "item quantities above usual",
    "bill_lines": "number of bill lines",
    "identical_bill_share": "template bills (same bill for many patients)",
    "person_hospital_claims_365d": "patients returning to the hospital often",
    "dx_share_vs_peer": "diagnosis mix unlike peers (up-coding)",
    "cost_vs_own_hospital": "cost above the hospital's own usual",
    "los_vs_own_hospital": "stay longer than the hospital's own usual",
    "readmit_same_hospital_gap_days": "quick re-admission at the same hospital (split stays)",
    "hosp_quick_readmit_vs_peer": "hospital re-admits quickly more than peers",
    "identical_other_patient": "identical bills for different patients",
    "hosp_dx_template_vs_peer": "template bills (same bill for many patients)",
    "same_day_admissions_vs_usual": "group admissions",
    "hosp_repeat_patients_vs_peer": "the same patients admitted again and again",
    "price_vs_own_hospital_max": "item priced above the hospital's own usual price",
    "hosp_c_share_vs_peer": "self-pay share unlike peers",
    "hosp_price_ratio": "hospital's item prices above peers",
    "hosp_quantity_ratio": "hospital's item quantities above peers",
    "dx_code_share_vs_peer": "diagnosis codes unlike peers (up-coding)",
    "items_unusual_for_dx": "items that do not fit the diagnosis",
    "dip_cost_ratio": "cost far from its DIP group's (ultra-low cases)",
    "dip_group_vs_dx": "coded into a costly DIP group for the diagnosis",
    "secondary_dx_count": "many secondary diagnoses",
    "secondary_dx_vs_peer": "more secondary diagnoses than peers",
    "procedures_vs_peer": "more procedures than peers",
    "procedure_items_missing": "procedure coded but not billed (high coding)",
    "dx_outpatient_share": "admitted for an outpatient condition",
    "hosp_cmi_vs_peer": "case-mix index above peers for the same diagnoses (high coding)",
    "hosp_top_group_vs_peer": "cases in the highest-scoring DIP groups (high coding)",
    "hosp_ultra_low_vs_peer": "many ultra-low DIP cases (low-threshold admissions)",
    "hosp_secondary_dx_vs_peer": "hospital codes more secondary diagnoses than peers",
    "hosp_procedures_vs_peer": "hospital codes more procedures than peers",
    "hosp_items_missing_vs_peer": "procedures coded but not billed (high coding)",
    "hosp_mild_admission_vs_peer": "admissions for outpatient conditions (low-threshold)",
}

for _base in PERIOD_BASES:
    FEATURE_LABELS[PERIOD_PREFIX + _base] = f"hospital-wide: {FEATURE_LABELS[_base]}"
    _TEXTS[PERIOD_PREFIX + _base] = _period_text(_base)
