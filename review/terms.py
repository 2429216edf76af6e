"""What the interface calls each stored code: statuses, decisions, fraud types, kinds.

The database, the exports and the URLs keep the codes (``documents_requested``,
``upcoding``); pages show these names, in English as written here and in the
session's language through the gettext catalogue (:mod:`review.i18n`). A code
without a name is shown as it is.
"""

from __future__ import annotations

from review.i18n import N_

TERMS: dict[str, dict[str, str]] = {
    # a claim's review status (review.models.STATUSES)
    "status": {
        "open": N_("open"),
        "documents_requested": N_("documents requested"),
        "confirmed": N_("confirmed"),
        "cleared": N_("cleared"),
    },
    # a decision (review.models.ACTIONS)
    "action": {
        "confirm_fraud": N_("confirm fraud"),
        "clear": N_("clear"),
        "request_documents": N_("request documents"),
    },
    # detection.fraud_types: the simulator's schemes and "other"
    "fraud_type": {
        "decomposed_admission": N_("decomposed admission"),
        "hanging_bed": N_("hanging bed (phantom stay)"),
        "upcoding": N_("upcoding"),
        "item_substitution": N_("item substitution"),
        "template_billing": N_("template billing"),
        "ghost_patient": N_("ghost patient"),
        "duplicate_billing": N_("duplicate billing"),
        "high_coding": N_("high coding (DIP)"),
        "low_threshold_admission": N_("low-threshold admission"),
        "other": N_("other"),
    },
    # settlement.kinds
    "claim_type": {
        "inpatient": N_("inpatient"),
        "outpatient": N_("outpatient"),
        "ltc": N_("long-term care"),
    },
    "scheme": {
        "employee": N_("employee"),
        "resident": N_("resident"),
    },
    # review.models.ROLES
    "role": {
        "clerk": N_("clerk"),
        "supervisor": N_("supervisor"),
        "data_scientist": N_("data scientist"),
    },
    # a settlement record's status
    "settlement": {
        "settled": N_("settled"),
        "rejected": N_("rejected"),
        "duplicate": N_("duplicate"),
    },
    # audit_log.action
    "audit": {
        "login": N_("log in"),
        "login_failed": N_("failed log-in"),
        "login_locked": N_("locked out"),
        "unlock": N_("unlock"),
        "assign": N_("assign"),
        "take": N_("take"),
        "decide": N_("decide"),
        "override": N_("override"),
        "labels_export": N_("labels export"),
    },
    # indicator tables' columns (the CSV downloads keep the keys)
    "column": {
        "scheme": N_("scheme"),
        "claim_type": N_("claim type"),
        "hospital_level": N_("hospital level"),
        "claims": N_("claims"),
        "total": N_("total"),
        "fund_pay": N_("fund pay"),
        "effective_rate": N_("effective rate"),
        "policy_ratio": N_("policy ratio"),
        "month": N_("month"),
        "median_hours": N_("median hours"),
        "p90_hours": N_("p90 hours"),
        "region": N_("region"),
        "period": N_("period"),
        "debtor": N_("debtor"),
        "creditor": N_("creditor"),
        "amount": N_("amount"),
        "flagged": N_("flagged"),
        "flag_rate": N_("flag rate"),
        "decided": N_("decided"),
        "confirmed": N_("confirmed"),
        "confirmation_rate": N_("confirmation rate"),
    },
    # the settlement breakdown's step names (settlement.explain); the
    # explanations beside them come from the settlement core in English
    "step": {
        "Total": N_("Total"),
        "Inter-city": N_("Inter-city"),
        "Payable": N_("Payable"),
        "Person category": N_("Person category"),
        "Deductible": N_("Deductible"),
        "Ratio": N_("Ratio"),
        "Ratio (effective)": N_("Ratio (effective)"),
        "Fund pays": N_("Fund pays"),
        "Over the annual cap": N_("Over the annual cap"),
        "Critical-illness insurance": N_("Critical-illness insurance"),
        "Critical-illness base": N_("Critical-illness base"),
        "Medical assistance": N_("Medical assistance"),
        "Assistance base": N_("Assistance base"),
        "Eligible": N_("Eligible"),
        "Patient pays": N_("Patient pays"),
        "Category self-pay": N_("Category self-pay"),
        "Over the price ceiling": N_("Over the price ceiling"),
        "Check": N_("Check"),
    },
}


def term_name(kind: str, code: object) -> str | None:
    """The English name of ``code`` of ``kind`` (a msgid), or None when it has none."""
    if not isinstance(code, str):
        return None
    return TERMS.get(kind, {}).get(code)
