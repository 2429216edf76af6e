"""The basic fund and its layers of an in-patient or out-patient claim, explained (spec 4, 8).

Person category (8.3), deductible (step 7, 8.5), inter-city reduction (step
8, 8.6), ratio or marginal bands (step 9, 8.1, 8.2), the annual cap, then
critical illness (8.8) and medical assistance (8.9): each a step of the
:class:`Trace`, computed with the engine's own functions.
"""

from __future__ import annotations

from settlement.claim import Claim
from settlement.explain_steps import Before, Trace, band_parts, band_words, exact, mismatch, yuan
from settlement.layers import (
    assistance_pay,
    band_sum,
    critical_illness_pay,
    reduced_ratio,
    shown_ratio,
)
from settlement.money import format_ratio, round_ratio
from settlement.policy import Band, ClaimTypeRule, FilingReduction, PolicyVersion, SchemePolicy
from settlement.state import YearTotals


def explain_basic_and_layers(
    t: Trace,
    got: dict[str, int],
    claim: Claim,
    version: PolicyVersion,
    before: Before,
    eligible: int,
) -> tuple[int, int, int]:
    """The steps from the deductible to assistance; returns ``(fund_pay, ci_pay, ma_pay)``."""
    inpatient = claim.claim_type == "inpatient"
    totals = before.totals
    scheme = version.schemes[claim.scheme]
    rule, path, cap, cap_path = _rule_name(claim, version)
    level = claim.hospital_level
    # person category (8.3)
    if claim.category is not None:
        _explain_person_category(t, claim, claim.category, scheme, path, cap_path)
    # step 7 (8.5)
    deductible = _explain_deductible(t, rule, path, level, eligible, inpatient, totals)
    got["deductible"] = deductible
    # step 8 (8.1, 8.6)
    filing, subtract, filing_name, filing_words, filing_param = _filing_words(claim, version)
    if filing_name:
        t.add(
            "intercity",
            "Inter-city",
            filing_name,
            f"treated in {claim.hospital_region}, insured in {claim.insured_region}:"
            f" {filing_words} (basic fund only)",
            filing_param,
        )
    b = eligible - deductible
    if rule.bands is None:
        payable, ratio, payable_words = _explain_ratio(
            t, rule, path, level, b, filing, subtract, filing_name
        )
    else:
        payable, ratio, payable_words = _explain_bands(
            t, rule.bands, path, level, b, filing, subtract, filing_name
        )
    got["ratio"] = ratio
    t.add("payable", "Payable", yuan(payable), payable_words)
    # step 9
    fund_pay = _explain_fund_pay(t, got, payable, cap, cap_path, before)
    ci_pay = _explain_critical_illness(t, claim, scheme, eligible, fund_pay, totals)
    ma_pay = _explain_assistance(t, claim, version, eligible, fund_pay, ci_pay, totals)
    return fund_pay, ci_pay, ma_pay


def _explain_person_category(
    t: Trace, claim: Claim, category: str, scheme: SchemePolicy, path: str, cap_path: str
) -> None:
    """Whether the policy names the patient's category, and what it replaces (8.3)."""
    if category in scheme.categories:
        replaced = [
            what
            for what, used in (
                (f"the {claim.claim_type} rules", path.count(".categories.") > 0),
                ("the annual cap", ".categories." in cap_path),
            )
            if used
        ]
        words = (
            f"the policy names this category: {' and '.join(replaced)} replace the scheme's"
            if replaced
            else "the policy names this category, but it replaces nothing for this claim"
        )
    else:
        words = "the policy does not name this category: the scheme's own rules"
    t.add(
        "person_category",
        "Person category",
        category,
        words,
        f"{claim.scheme}.categories: {', '.join(sorted(scheme.categories)) or 'none'}",
    )


def _explain_deductible(
    t: Trace,
    rule: ClaimTypeRule,
    path: str,
    level: int,
    eligible: int,
    inpatient: bool,
    totals: YearTotals,
) -> int:
    """Step 7 with 8.5's repeat factor and yearly maximum; returns the deductible."""
    base = rule.deductible_fen[level]
    words = f"the level-{level} deductible {yuan(base)}"
    parameter = f"{path}.deductible[level {level}] = {yuan(base)} yuan"
    if inpatient and rule.deductible_repeat_factor is not None:
        parameter += f"; deductible_repeat_factor = {format_ratio(rule.deductible_repeat_factor)}"
        if totals.admissions:
            repeat = round_ratio(base, rule.deductible_repeat_factor)
            words += (
                f", admission {totals.admissions + 1} this year (an earlier one settled): x"
                f" {format_ratio(rule.deductible_repeat_factor)} = "
                f"{exact(base * rule.deductible_repeat_factor)}, rounded: {yuan(repeat)}"
            )
            base = repeat
        else:
            words += ", first admission this year: no repeat factor"
    deductible = min(eligible, base)
    pieces = [f"eligible {yuan(eligible)}", f"the deductible {yuan(base)}"]
    if inpatient and rule.deductible_year_max_fen is not None:
        left = max(0, rule.deductible_year_max_fen - totals.deductibles)
        deductible = min(deductible, left)
        parameter += f"; deductible_year_max = {yuan(rule.deductible_year_max_fen)} yuan"
        pieces.append(
            f"what is left of the yearly maximum ({yuan(rule.deductible_year_max_fen)} -"
            f" {yuan(totals.deductibles)} already deducted this year = {yuan(left)})"
        )
    t.add(
        "deductible",
        "Deductible",
        yuan(deductible),
        words + "; the smaller of " + " and ".join(pieces)
        if len(pieces) == 2
        else words + "; the smallest of " + ", ".join(pieces[:-1]) + " and " + pieces[-1],
        parameter,
    )
    return deductible


def _explain_ratio(
    t: Trace,
    rule: ClaimTypeRule,
    path: str,
    level: int,
    b: int,
    filing: FilingReduction | None,
    subtract: int,
    filing_name: str,
) -> tuple[int, int, str]:
    """One ratio (by level, 8.1), reduced for inter-city: ``(payable, ratio, words)``."""
    plain = rule.ratio_at(level)
    ratio = reduced_ratio(plain, filing, subtract)
    name = f"{path}.ratio[level {level}]" if rule.level_ratio is not None else f"{path}.ratio"
    t.add(
        "ratio",
        "Ratio",
        format_ratio(ratio),
        (
            f"the ratio for a level-{level} hospital"
            if rule.level_ratio
            else "the ratio for this claim type"
        )
        + (
            f" {format_ratio(plain)}, after the inter-city reduction above {format_ratio(ratio)}"
            if filing_name and ratio != plain
            else ""
        ),
        f"{name} = {format_ratio(plain)}",
    )
    payable = round_ratio(b, ratio)
    payable_words = (
        f"(eligible - deductible) {yuan(b)} x {format_ratio(ratio)} = {exact(b * ratio)},"
        f" rounded half-up"
    )
    return payable, ratio, payable_words


def _explain_bands(
    t: Trace,
    bands: tuple[Band, ...],
    path: str,
    level: int,
    b: int,
    filing: FilingReduction | None,
    subtract: int,
    filing_name: str,
) -> tuple[int, int, str]:
    """Marginal bands (8.2), one detail step each: ``(payable, effective ratio, words)``."""
    parts = band_parts(bands, 0, b, level, filing, subtract)
    for index, bottom, top, part, band_ratio, product in parts:
        plain = bands[index].ratio_at(level)
        reduced = (
            f" ({format_ratio(plain)} before the inter-city reduction above)"
            if filing_name and band_ratio != plain
            else ""
        )
        name = f"{path}.bands[{index + 1}].ratio" + (
            f"[level {level}]" if bands[index].level_ratio is not None else ""
        )
        t.add(
            f"band:{index + 1}",
            f"Band {index + 1}",
            exact(product),
            f"{band_words(index, bottom, top)}: {yuan(part)} of the {yuan(b)} after the"
            f" deductible x {format_ratio(band_ratio)}{reduced}",
            f"{name} = {format_ratio(plain)}",
            detail=True,
        )
    summed = sum(p[5] for p in parts)
    engine_sum = band_sum(bands, 0, b, level, filing, subtract)
    if summed != engine_sum:
        mismatch(t, "the band parts", engine_sum, summed)
    payable = (summed + 5000) // 10000
    ratio = shown_ratio(payable, b)
    t.add(
        "ratio",
        "Ratio (effective)",
        format_ratio(ratio),
        f"marginal bands: the payable {yuan(payable)} / {yuan(b)}, rounded to 4 decimals"
        " (shown only; the bands above decide the amount)",
        f"{path}.bands ({len(bands)} bands)",
    )
    payable_words = f"sum of the band parts {exact(summed)}, rounded half-up"
    return payable, ratio, payable_words


def _explain_fund_pay(
    t: Trace, got: dict[str, int], payable: int, cap: int, cap_path: str, before: Before
) -> int:
    """Step 9: the payable limited by what is left of the annual cap."""
    left = max(0, cap - before.fund_paid)
    fund_pay = min(payable, left)
    over_cap = payable - fund_pay
    got["fund_pay"], got["over_cap"] = fund_pay, over_cap
    t.add(
        "fund_pay",
        "Fund pays",
        yuan(fund_pay),
        f"the smaller of the payable {yuan(payable)} and what is left of the annual cap:"
        f" {yuan(cap)} - {yuan(before.fund_paid)} paid earlier this year = {yuan(left)}",
        f"{cap_path} = {yuan(cap)} yuan",
    )
    t.add(
        "over_cap",
        "Over the annual cap",
        yuan(over_cap),
        "payable amount the fund did not pay because of the annual cap",
        f"{cap_path} = {yuan(cap)} yuan",
    )
    return fund_pay


def _explain_critical_illness(
    t: Trace, claim: Claim, scheme: SchemePolicy, eligible: int, fund_pay: int, totals: YearTotals
) -> int:
    """Critical-illness insurance (8.8) by bands above the year's threshold; returns ci_pay."""
    ci_pay = 0
    critical = scheme.critical_illness
    ci_path = f"{claim.scheme}.critical_illness"
    if critical is None:
        t.add("ci_pay", "Critical-illness insurance", yuan(0), "the scheme has none (ci_pay 0)")
    else:
        q = eligible - fund_pay
        x0 = max(0, totals.ci_base - critical.threshold_fen)
        x1 = max(0, totals.ci_base + q - critical.threshold_fen)
        t.add(
            "ci_base",
            "Critical-illness base",
            yuan(q),
            f"eligible minus fund pay; this year's base before this claim {yuan(totals.ci_base)},"
            f" after {yuan(totals.ci_base + q)}; above the threshold: {yuan(x0)} before,"
            f" {yuan(x1)} after",
            f"{ci_path}.threshold = {yuan(critical.threshold_fen)} yuan",
        )
        parts = band_parts(critical.bands, x0, x1, 1, None, 0) if x1 > 0 else []
        for index, bottom, top, part, band_ratio, product in parts:
            t.add(
                f"ci_band:{index + 1}",
                f"Critical-illness band {index + 1}",
                exact(product),
                f"{band_words(index, bottom, top)} above the threshold: of this claim's"
                f" {yuan(x0)} to {yuan(x1)}, {yuan(part)} lie in it,"
                f" x {format_ratio(band_ratio)}",
                f"{ci_path}.bands[{index + 1}].ratio = {format_ratio(band_ratio)}",
                detail=True,
            )
        summed = sum(p[5] for p in parts)
        cap_left = max(0, critical.annual_cap_fen - totals.ci_paid)
        ci_pay = min((summed + 5000) // 10000, cap_left)
        engine_ci = critical_illness_pay(critical, q, totals.ci_base, totals.ci_paid)
        if engine_ci != ci_pay:
            mismatch(t, "the critical-illness bands", engine_ci, ci_pay)
        t.add(
            "ci_pay",
            "Critical-illness insurance",
            yuan(ci_pay),
            (
                f"the band parts {exact(summed)}, rounded half-up, limited by what is left of"
                f" its annual cap: {yuan(critical.annual_cap_fen)} - {yuan(totals.ci_paid)}"
                f" paid earlier this year = {yuan(cap_left)}"
                if x1 > 0
                else "the year's base has not reached the threshold: nothing"
            ),
            f"{ci_path}.annual_cap = {yuan(critical.annual_cap_fen)} yuan",
        )
    return ci_pay


def _explain_assistance(
    t: Trace,
    claim: Claim,
    version: PolicyVersion,
    eligible: int,
    fund_pay: int,
    ci_pay: int,
    totals: YearTotals,
) -> int:
    """Medical assistance (8.9) above the year's threshold; returns ma_pay."""
    ma_pay = 0
    entry = (
        version.assistance.get(claim.assistance)
        if claim.assistance is not None and version.assistance
        else None
    )
    if entry is None:
        why = (
            "the patient has no assistance category"
            if claim.assistance is None
            else f"the policy has no assistance for category {claim.assistance}"
        )
        t.add("ma_pay", "Medical assistance", yuan(0), f"{why} (ma_pay 0)")
    else:
        a = eligible - fund_pay - ci_pay
        threshold = entry.threshold_fen
        part = max(0, totals.ma_base + a - threshold) - max(0, totals.ma_base - threshold)
        cap_left = max(0, entry.annual_cap_fen - totals.ma_paid)
        ma_pay = min(round_ratio(part, entry.ratio), cap_left)
        engine_ma = assistance_pay(entry, a, totals.ma_base, totals.ma_paid)
        if engine_ma != ma_pay:
            mismatch(t, "the assistance step", engine_ma, ma_pay)
        ma_path = f"assistance.{claim.assistance}"
        t.add(
            "ma_base",
            "Assistance base",
            yuan(a),
            f"category {claim.assistance}: eligible minus fund pay minus critical-illness pay;"
            f" this year's base before this claim {yuan(totals.ma_base)}, after"
            f" {yuan(totals.ma_base + a)}; the part above the threshold: {yuan(part)}",
            f"{ma_path}.threshold = {yuan(threshold)} yuan",
        )
        t.add(
            "ma_pay",
            "Medical assistance",
            yuan(ma_pay),
            f"{yuan(part)} x {format_ratio(entry.ratio)} = {exact(part * entry.ratio)},"
            f" rounded half-up, limited by what is left of its annual cap:"
            f" {yuan(entry.annual_cap_fen)} - {yuan(totals.ma_paid)} paid earlier this year ="
            f" {yuan(cap_left)}",
            f"{ma_path}.ratio = {format_ratio(entry.ratio)};"
            f" {ma_path}.annual_cap = {yuan(entry.annual_cap_fen)} yuan",
        )
    return ma_pay


def _rule_name(claim: Claim, version: PolicyVersion) -> tuple[ClaimTypeRule, str, int, str]:
    """The claim-type block, its parameter path, the annual cap and its path (spec 8.3)."""
    scheme = version.schemes[claim.scheme]
    rule = scheme.rule_for(claim.claim_type)
    path = f"{claim.scheme}.{claim.claim_type}"
    cap, cap_path = scheme.annual_cap_fen, f"{claim.scheme}.annual_cap"
    if claim.category is not None and scheme.categories:
        person_category = scheme.categories.get(claim.category)
        if person_category is not None:
            block = (
                person_category.inpatient
                if claim.claim_type == "inpatient"
                else person_category.outpatient
            )
            if block is not None:
                rule, path = block, f"{claim.scheme}.categories.{claim.category}.{claim.claim_type}"
            if person_category.annual_cap_fen is not None:
                cap = person_category.annual_cap_fen
                cap_path = f"{claim.scheme}.categories.{claim.category}.annual_cap"
    return rule, path, cap, cap_path


def _filing_words(
    claim: Claim, version: PolicyVersion
) -> tuple[FilingReduction | None, int, str, str, str | None]:
    """The inter-city reduction of step 8 / 8.6.

    Returns (filing entry, subtract, the category shown, plain words, parameter).
    """
    if not claim.intercity:
        return None, 0, "", "", None
    if version.intercity_filing is None:
        if claim.intercity_registered:
            return None, 0, "registered", "registered (备案): no reduction", None
        reduction = version.intercity_unregistered_reduction
        return (
            None,
            reduction,
            "not registered",
            "not registered (备案): the ratio minus the reduction, never below 0",
            f"intercity_unregistered_reduction = {format_ratio(reduction)}",
        )
    name = claim.intercity_filing
    how = f"filing category {name}"
    if name is None:
        name = "long_term" if claim.intercity_registered else "none"
        how = (
            "no filing category, registered: counts as long_term"
            if claim.intercity_registered
            else "no filing category and not registered: counts as none"
        )
    entry = version.intercity_filing.get(name)
    if entry is None:
        return None, 0, name, f"{how}; the policy lists no reduction for it", "intercity_filing"
    if entry.multiply is not None:
        words = f"{how}: the ratio times the factor, rounded to 4 decimals"
        parameter = f"intercity_filing.{name}.multiply = {format_ratio(entry.multiply)}"
    else:
        words = f"{how}: the ratio minus the reduction, never below 0"
        parameter = f"intercity_filing.{name}.subtract = {format_ratio(entry.subtract or 0)}"
    return entry, 0, name, words, parameter
