"""A settlement record explained without its claim: the amounts with the rules that could apply.

Used when only the record is known (the claim body was not stored): each
amount is the record's, with the rule and, where the record says enough, the
policy parameter; nothing is retraced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from settlement.explain_steps import Trace
from settlement.money import format_fen, format_ratio, parse_fen_text, parse_ratio_text
from settlement.policy import ClaimTypeRule, PolicyVersion

_Step = Callable[..., None]


def record_only(
    record: dict[str, Any], version: PolicyVersion | None, scheme: str | None, level: int | None
) -> list[dict[str, Any]]:
    """The record's amounts with the rules that could apply (the claim is not known)."""
    t = Trace(record, version)
    claim_type = record["claim_type"]

    def step(amount: str, label: str, rule: str, parameter: str | None = None) -> None:
        t.add(amount, label, str(record.get(amount, "0.00")), rule, parameter)

    step("total", "Total", "sum of all item amounts")
    if parse_fen_text(str(record.get("over_price", "0.00"))):
        step("over_price", "Over the price ceiling", "item amounts over the catalogue's ceiling")
    b_share = format_ratio(version.category_b_self_pay) if version else "?"
    step(
        "category_self_pay",
        "Category self-pay",
        "category C items in full, plus the patient's share of category B items (rounded"
        " half-up), plus any amount over a catalogue price ceiling",
        f"category_b_self_pay = {b_share}",
    )
    step("eligible", "Eligible", "total minus category self-pay")
    if claim_type == "ltc":
        _ltc_steps(step, version)
    else:
        _basic_steps(step, record, version, scheme, level, claim_type)
    step(
        "patient_pay",
        "Patient pays",
        "total minus fund pay, critical-illness pay and assistance pay",
    )
    t.add(
        "check",
        "Check",
        "",
        "the claim itself is not loaded: these are the record's amounts, not retraced step by step",
    )
    return t.steps


def _ltc_steps(step: _Step, version: PolicyVersion | None) -> None:
    rates = (
        ", ".join(f"{k} {format_fen(v)} yuan/day" for k, v in version.ltc_per_diem_fen.items())
        if version
        else "?"
    )
    step("deductible", "Deductible", "no deductible for long-term care")
    step("ratio", "Ratio", "long-term care: 1, or the co-payment ratio of the setting")
    step(
        "fund_pay",
        "Fund pays",
        "the smaller of eligible (x the co-payment ratio, if any) and care days x per-diem",
        f"ltc_per_diem: {rates}",
    )
    step("over_cap", "Over the annual cap", "long-term care has no annual cap")


def _basic_steps(
    step: _Step,
    record: dict[str, Any],
    version: PolicyVersion | None,
    scheme: str | None,
    level: int | None,
    claim_type: str,
) -> None:
    """Deductible, ratio, fund pay and the layers of an in-patient or out-patient record."""
    rule = None
    if version and scheme in version.schemes:
        rule = version.schemes[scheme].rule_for(claim_type)
    step(
        "deductible",
        "Deductible",
        "the smaller of eligible and the deductible for the hospital level (a person"
        " category, or a later admission of the year, may change it)",
        f"{scheme}.{claim_type}.deductible[level {level}] ="
        f" {format_fen(rule.deductible_fen[level])} yuan"
        if rule and level in (1, 2, 3)
        else None,
    )
    ratio_rule, ratio_param = _ratio_words(record, version, rule, scheme, level, claim_type)
    step("ratio", "Ratio", ratio_rule, ratio_param)
    cap_param = (
        f"{scheme}.annual_cap = {format_fen(version.schemes[scheme].annual_cap_fen)} yuan"
        if version and scheme in version.schemes
        else None
    )
    over = parse_fen_text(str(record.get("over_cap", "0.00")))
    step(
        "fund_pay",
        "Fund pays",
        "(eligible - deductible) x ratio, rounded half-up,"
        " limited by what is left of the annual cap"
        + (": the cap was reached by this claim" if over else ""),
        cap_param,
    )
    step(
        "over_cap",
        "Over the annual cap",
        "payable amount the fund did not pay because of the annual cap",
        cap_param,
    )
    step("ci_pay", "Critical-illness insurance", "critical-illness insurance (大病保险)")
    step("ma_pay", "Medical assistance", "medical assistance (医疗救助)")


def _ratio_words(
    record: dict[str, Any],
    version: PolicyVersion | None,
    rule: ClaimTypeRule | None,
    scheme: str | None,
    level: int | None,
    claim_type: str,
) -> tuple[str, str | None]:
    """The ratio step's rule and parameter, with the inter-city reduction the record shows."""
    if rule is None:
        ratio_param = None
    elif rule.bands is not None:
        ratio_param = f"{scheme}.{claim_type}.bands ({len(rule.bands)} bands)"
    elif rule.level_ratio is not None and level in (1, 2, 3):
        ratio_param = (
            f"{scheme}.{claim_type}.ratio[level {level}] = {format_ratio(rule.ratio_at(level))}"
        )
    else:
        ratio_param = f"{scheme}.{claim_type}.ratio = {format_ratio(rule.ratio)}"
    ratio_rule = (
        "the ratio for this claim type (by hospital level, or effective over marginal bands)"
    )
    if (
        record.get("intercity")
        and version
        and rule
        and rule.bands is None
        and version.intercity_filing is None
        and level in (1, 2, 3)
        and parse_ratio_text(str(record["ratio"])) != rule.ratio_at(level)
    ):
        ratio_rule += ", reduced: treated in another region without inter-city registration"
        ratio_param = (
            f"{ratio_param}; intercity_unregistered_reduction = "
            f"{format_ratio(version.intercity_unregistered_reduction)}"
        )
    elif record.get("intercity"):
        ratio_rule += ", reduced for an inter-city claim as the policy says"
    return ratio_rule, ratio_param
