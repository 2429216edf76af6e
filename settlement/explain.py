"""Why each settled amount is what it is: the rule, parameter and policy version.

Built from a section-6 record and the policy book, for the review app and for
clerks answering a hospital's question. Not on the settlement hot path.
"""

from __future__ import annotations

from typing import Any

from settlement.money import format_fen, format_ratio, parse_fen_text, parse_ratio_text
from settlement.policy import PolicyBook


def explain_settlement(
    record: dict[str, Any], book: PolicyBook, scheme: str | None = None, level: int | None = None
) -> list[dict[str, Any]]:
    """Explain a settled record step by step (spec section 4).

    Args:
        record: a ``settled`` or ``duplicate`` section-6 record.
        book: the policies the record was settled under.
        scheme: the patient's scheme, to name the deductible and cap rules.
        level: the hospital level, to name the deductible parameter.

    Returns:
        One dict per amount: ``amount`` (name), ``value`` (yuan text), ``rule``
        (plain words), ``parameter`` (policy field and value, or None) and
        ``policy_version``.
    """
    if record.get("status") not in ("settled", "duplicate"):
        return []
    label = record["policy_version"]
    version = book.version_by_label(label)
    claim_type = record["claim_type"]
    steps: list[dict[str, Any]] = []

    def step(amount: str, rule: str, parameter: str | None = None) -> None:
        steps.append(
            {
                "amount": amount,
                "value": record[amount],
                "rule": rule,
                "parameter": parameter,
                "policy_version": label,
            }
        )

    step("total", "sum of all item amounts")
    b_share = format_ratio(version.category_b_self_pay) if version else "?"
    step(
        "category_self_pay",
        "category C items in full, plus the patient's share of category B items (rounded half-up)",
        f"category_b_self_pay = {b_share}",
    )
    step("eligible", "total minus category self-pay")
    if claim_type == "ltc":
        setting_rates = (
            ", ".join(f"{k} {format_fen(v)} yuan/day" for k, v in version.ltc_per_diem_fen.items())
            if version
            else "?"
        )
        step("deductible", "no deductible for long-term care")
        step("ratio", "long-term care is paid per diem, not by ratio")
        step(
            "fund_pay",
            "the smaller of eligible and care days x per-diem",
            f"ltc_per_diem: {setting_rates}",
        )
        step("over_cap", "long-term care does not count toward the annual cap")
    else:
        rule = None
        if version and scheme:
            rule = version.schemes[scheme].rule_for(claim_type)
        deductible_param = (
            f"{scheme}.{claim_type}.deductible[level {level}] = "
            f"{format_fen(rule.deductible_fen[level])} yuan"
            if rule and level in (1, 2, 3)
            else None
        )
        step(
            "deductible",
            "the smaller of eligible and the deductible for the hospital level",
            deductible_param,
        )
        ratio_rule = "the scheme's ratio for this claim type"
        ratio_param = f"{scheme}.{claim_type}.ratio = {format_ratio(rule.ratio)}" if rule else None
        if record["intercity"] and rule and parse_ratio_text(record["ratio"]) != rule.ratio:
            ratio_rule += ", reduced: treated in another region without inter-city registration"
            if version:
                ratio_param = (
                    f"{ratio_param}; intercity_unregistered_reduction = "
                    f"{format_ratio(version.intercity_unregistered_reduction)}"
                )
        step("ratio", ratio_rule, ratio_param)
        cap_param = (
            f"{scheme}.annual_cap = {format_fen(version.schemes[scheme].annual_cap_fen)} yuan"
            if version and scheme
            else None
        )
        over = parse_fen_text(record["over_cap"])
        step(
            "fund_pay",
            "(eligible - deductible) x ratio, rounded half-up,"
            " limited by what is left of the annual cap"
            + (": the cap was reached by this claim" if over else ""),
            cap_param,
        )
        step("over_cap", "payable amount the fund did not pay because of the annual cap", cap_param)
    step(
        "patient_pay",
        "total minus fund pay, critical-illness pay and assistance pay",
    )
    return steps
