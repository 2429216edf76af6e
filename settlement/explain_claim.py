"""A settled claim retraced step by step with the engine's own functions (spec sections 4 and 8).

:func:`explain_claim` writes the item and category steps (with the treatment
region's catalogue when it has one), long-term care or the basic fund and
its layers (:mod:`settlement.explain_basic`), then settles the claim once
more with :func:`settlement.engine.compute_settlement` and adds a ``check``
step wherever the trace, the engine and the record disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from settlement.claim import Claim, Item
from settlement.engine import compute_settlement
from settlement.explain_basic import explain_basic_and_layers
from settlement.explain_steps import FINAL_AMOUNTS, Before, Trace, exact, mismatch, yuan
from settlement.money import (
    RATIO_ONE,
    format_fen,
    format_ratio,
    parse_fen_text,
    parse_ratio_text,
    round_ratio,
)
from settlement.policy import Catalogue, CatalogueRow, PolicyVersion
from settlement.state import NO_TOTALS


def explain_claim(
    record: dict[str, Any],
    version: PolicyVersion,
    claim: Claim,
    before: Before,
    catalogue: Catalogue | None,
) -> list[dict[str, Any]]:
    """Every step of a settled claim, then the checks against the engine and the record."""
    t = Trace(record, version)
    got: dict[str, int] = {}
    # step 3 and 4 (8.4)
    total = sum(item.amount_fen for item in claim.items)
    got["total"] = total
    t.add("total", "Total", yuan(total), f"sum of the {len(claim.items)} item amounts")
    if catalogue is None:
        self_pay, over_price = _explain_categories(t, claim, version.category_b_self_pay), 0
    else:
        self_pay, over_price = _explain_catalogue(t, claim, version, catalogue, total)
    got["over_price"] = over_price
    got["category_self_pay"] = self_pay
    eligible = total - self_pay
    got["eligible"] = eligible
    t.add("eligible", "Eligible", yuan(eligible), "total minus category self-pay")
    ci_pay = ma_pay = 0
    if claim.claim_type == "ltc":
        fund_pay = _explain_ltc(t, got, claim, version, eligible)
    else:
        fund_pay, ci_pay, ma_pay = explain_basic_and_layers(
            t, got, claim, version, before, eligible
        )
    got["ci_pay"], got["ma_pay"] = ci_pay, ma_pay
    patient_pay = total - fund_pay - ci_pay - ma_pay
    got["patient_pay"] = patient_pay
    t.add(
        "patient_pay",
        "Patient pays",
        yuan(patient_pay),
        f"total {yuan(total)} - fund pay {yuan(fund_pay)} - critical-illness pay"
        f" {yuan(ci_pay)} - assistance pay {yuan(ma_pay)}",
    )
    check_against_engine(t, got, record, claim, version, before, catalogue)
    return t.steps


def _explain_categories(t: Trace, claim: Claim, share: int) -> int:
    """Category self-pay without a catalogue (step 4): C in full, B's share rounded once."""
    b_sum = sum(i.amount_fen for i in claim.items if i.category == "B")
    c_sum = sum(i.amount_fen for i in claim.items if i.category == "C")
    b_part = round_ratio(b_sum, share)
    self_pay = c_sum + b_part
    t.add(
        "category_self_pay",
        "Category self-pay",
        yuan(self_pay),
        f"category C items in full ({yuan(c_sum)}) + category B items {yuan(b_sum)}"
        f" x {format_ratio(share)} = {exact(b_sum * share)}, rounded half-up: {yuan(b_part)}",
        f"category_b_self_pay = {format_ratio(share)}",
    )
    return self_pay


def _explain_catalogue(
    t: Trace, claim: Claim, version: PolicyVersion, catalogue: Catalogue, total: int
) -> tuple[int, int]:
    """``(category_self_pay, over_price)`` item by item with the catalogue (spec 8.4)."""
    share = version.category_b_self_pay
    catalogue_source = f"catalogue {Path(catalogue.source).name or catalogue.region}"
    self_pay = over_price = 0
    day = claim.discharge_date
    for number, item in enumerate(claim.items, start=1):
        row = catalogue.row_on(item.code, day)
        item_pay, over = _explain_item(t, number, item, row, share, catalogue, catalogue_source)
        self_pay += item_pay
        over_price += over
    engine_totals = _engine_catalogue_amounts(claim, version, catalogue)
    if engine_totals != (total, self_pay, over_price):
        mismatch(t, "the catalogue steps", engine_totals, (total, self_pay, over_price))
    t.add(
        "over_price",
        "Over the price ceiling",
        yuan(over_price),
        "sum of the category A and B items' amounts over their ceiling x quantity (self-paid)",
        source=catalogue_source,
    )
    t.add(
        "category_self_pay",
        "Category self-pay",
        yuan(self_pay),
        "sum of the items' self-pay above: category C in full, category B share rounded per"
        " item (the treatment region has a catalogue), plus the part over the price",
        f"category_b_self_pay = {format_ratio(share)} (items whose row has no self_pay)",
    )
    return self_pay, over_price


def _explain_item(
    t: Trace,
    number: int,
    item: Item,
    row: CatalogueRow | None,
    share: int,
    catalogue: Catalogue,
    catalogue_source: str,
) -> tuple[int, int]:
    """One item's step under the catalogue: ``(its self-pay, its part over the price)``."""
    over = 0
    item_share = share
    category = item.category
    parameter: str | None
    if row is None:
        words = (
            f"no row for {item.code} in the {catalogue.region} catalogue:"
            f" the hospital's category {category}"
        )
        parameter = None
    else:
        category = row.category
        words = (
            f"catalogue row {item.code} from {row.effective_from.isoformat()}:"
            f" category {category}"
            + (f" (hospital said {item.category})" if category != item.category else "")
        )
        parameter = (
            f"{catalogue.region} catalogue {item.code}@{row.effective_from.isoformat()}:"
            f" category {row.category}, self_pay "
            + ("(empty)" if row.self_pay is None else format_ratio(row.self_pay))
            + ", price_ceiling "
            + ("(empty)" if row.price_ceiling_fen is None else yuan(row.price_ceiling_fen))
        )
        if row.self_pay is not None:
            item_share = row.self_pay
        if row.price_ceiling_fen is not None:
            units = item.quantity if item.quantity is not None else 1
            limit = row.price_ceiling_fen * units
            over = max(0, item.amount_fen - limit)
            words += (
                f"; ceiling {yuan(row.price_ceiling_fen)} x {units} = {yuan(limit)},"
                f" over the price {yuan(over)}"
            )
    over_price = 0
    if category == "C":
        item_pay = item.amount_fen
        words += ": category C, self-paid in full"
    elif category == "B":
        shared = round_ratio(item.amount_fen - over, item_share)
        item_pay = shared + over
        over_price = over
        share_name = (
            "the row's self_pay"
            if row is not None and row.self_pay is not None
            else f"category_b_self_pay = {format_ratio(share)}"
        )
        words += (
            f"; ({yuan(item.amount_fen)} - {yuan(over)}) x {format_ratio(item_share)}"
            f" ({share_name}) = {exact((item.amount_fen - over) * item_share)},"
            f" rounded half-up for this item: {yuan(shared)}"
        )
    else:
        item_pay = over
        over_price = over
        words += "; category A: only the part over the price is self-paid"
    t.add(
        f"item:{number}",
        f"Item {number} {item.code}",
        yuan(item_pay),
        words,
        parameter,
        detail=True,
        source=catalogue_source,
    )
    return item_pay, over_price


def _explain_ltc(
    t: Trace, got: dict[str, int], claim: Claim, version: PolicyVersion, eligible: int
) -> int:
    """Long-term care (step 6, 8.7): per diem, or a co-payment then the daily cap; fund pay."""
    setting = claim.ltc_setting or ""
    days = claim.ltc_days or 0
    per_diem = version.ltc_per_diem_fen[setting]
    ceiling = days * per_diem
    ltc_ratio = version.ltc_ratio.get(setting)
    got["deductible"] = 0
    t.add("deductible", "Deductible", yuan(0), "no deductible for long-term care")
    if ltc_ratio is None:
        fund_pay, ratio = min(eligible, ceiling), RATIO_ONE
        t.add("ratio", "Ratio", format_ratio(ratio), "long-term care is paid per diem")
        rule = (
            f"the smaller of eligible ({yuan(eligible)}) and {days} care days x"
            f" {yuan(per_diem)} = {yuan(ceiling)}"
        )
        parameter = f"ltc_per_diem.{setting} = {yuan(per_diem)} yuan a day"
    else:
        fund_pay, ratio = min(round_ratio(eligible, ltc_ratio), ceiling), ltc_ratio
        t.add(
            "ratio",
            "Ratio",
            format_ratio(ratio),
            "the long-term-care co-payment ratio of the setting",
            f"ltc_per_diem.{setting}.ratio = {format_ratio(ltc_ratio)}",
        )
        rule = (
            f"the smaller of eligible x ratio = {exact(eligible * ltc_ratio)}, rounded"
            f" half-up: {yuan(round_ratio(eligible, ltc_ratio))}, and {days} care days x"
            f" {yuan(per_diem)} = {yuan(ceiling)}"
        )
        parameter = f"ltc_per_diem.{setting}.per_diem = {yuan(per_diem)} yuan a day"
    got["ratio"], got["fund_pay"], got["over_cap"] = ratio, fund_pay, 0
    t.add("fund_pay", "Fund pays", yuan(fund_pay), rule, parameter)
    t.add("over_cap", "Over the annual cap", yuan(0), "long-term care has no annual cap")
    t.add("ci_pay", "Critical-illness insurance", yuan(0), "not for long-term care")
    t.add("ma_pay", "Medical assistance", yuan(0), "not for long-term care")
    return fund_pay


def _engine_catalogue_amounts(
    claim: Claim, version: PolicyVersion, catalogue: Catalogue
) -> tuple[int, int, int]:
    from settlement.engine import catalogue_amounts

    return catalogue_amounts(claim, version, catalogue)


def check_against_engine(
    t: Trace,
    got: dict[str, int],
    record: dict[str, Any],
    claim: Claim,
    version: PolicyVersion,
    before: Before,
    catalogue: Catalogue | None,
) -> None:
    """Settle the claim again with the engine; say so when the trace or the record differs."""
    if claim.claim_type == "ltc":
        outcome, _ = compute_settlement(claim, version, 0, NO_TOTALS, catalogue)
    else:
        outcome, _ = compute_settlement(claim, version, before.fund_paid, before.totals, catalogue)
    engine = {key: getattr(outcome, key) for key in FINAL_AMOUNTS}
    drift = [key for key in FINAL_AMOUNTS if engine[key] != got[key]]
    if drift:
        mismatch(
            t,
            ", ".join(drift),
            ", ".join(str(engine[k]) for k in drift),
            ", ".join(str(got[k]) for k in drift),
        )
    recorded = {}
    for key in FINAL_AMOUNTS:
        text = str(record.get(key, "0.00"))
        recorded[key] = parse_ratio_text(text) if key == "ratio" else parse_fen_text(text)
    differ = [key for key in FINAL_AMOUNTS if recorded[key] != engine[key]]
    if differ:
        shown = "; ".join(
            f"{key} {record.get(key)} in the record, {_shown(key, engine[key])} here"
            for key in differ
        )
        t.add(
            "check",
            "Check",
            "",
            f"recomputed from this patient's earlier claims loaded here ({before.claims} this"
            f" year), the amounts differ from the record: {shown}. An earlier claim of the"
            " patient's year is probably missing from the review database or was loaded out of"
            " order (or the policies changed); the record's amounts are the ones that count.",
        )
    for note in before.notes:
        t.add("check", "Check", "", note)


def _shown(key: str, value: int) -> str:
    return format_ratio(value) if key == "ratio" else format_fen(value)
