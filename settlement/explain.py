"""Why each settled amount is what it is: the step, parameter, policy version and source.

Built for the review app and for clerks answering a hospital's question. Not
on the settlement hot path (and not compiled).

With the claim itself and the person's year totals before it
(:class:`Before`), :func:`explain_settlement` retraces every step the engine
took (spec sections 4 and 8): the catalogue row of each item, the person
category, the deductible by admission number, the ratio by level or each
band's part, the inter-city filing reduction, the ltc co-payment, the
critical-illness and assistance layers, and ``patient_pay``. Every
intermediate number is computed with the engine's own functions
(:mod:`settlement.layers`, :func:`settlement.money.round_ratio`,
:meth:`Catalogue.row_on`), and the whole claim is then settled once more with
:func:`settlement.engine.compute_settlement`: a trace that disagrees with the
engine, or an engine result that disagrees with the record (an earlier claim
of the person-year missing from the accumulators), is reported as a
``check`` step instead of being hidden.

Without the claim (only its record) the explanation is the record's amounts
with the rules and parameters that could apply (:func:`_record_only`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from settlement.claim import Claim, parse_claim
from settlement.engine import compute_settlement
from settlement.idnumber import check_character
from settlement.layers import (
    assistance_pay,
    band_sum,
    critical_illness_pay,
    reduced_ratio,
    shown_ratio,
)
from settlement.money import (
    RATIO_ONE,
    format_fen,
    format_ratio,
    parse_fen_text,
    parse_ratio_text,
    round_ratio,
)
from settlement.policy import (
    Band,
    Catalogue,
    ClaimTypeRule,
    FilingReduction,
    PolicyBook,
    PolicyVersion,
)
from settlement.state import NO_TOTALS, YearTotals

#: The final amounts a breakdown must reproduce to the fen (section 6 and 8).
FINAL_AMOUNTS = (
    "total",
    "over_price",
    "category_self_pay",
    "eligible",
    "deductible",
    "ratio",
    "fund_pay",
    "over_cap",
    "ci_pay",
    "ma_pay",
    "patient_pay",
)
NO_SOURCE = "no source given"

_FIRST17 = "11010519000101001"
#: A valid identity number put in place of a masked one so a stored claim body
#: parses again; settlement never reads the number itself.
PLACEHOLDER_PERSON_ID = _FIRST17 + check_character(_FIRST17)


@dataclass(frozen=True)
class Before:
    """A person's accumulators for the claim's year before the claim was settled.

    ``claims`` counts the earlier settled claims they were summed from;
    ``notes`` says what could not be read (an earlier claim without its body,
    a policy version no longer in the book).
    """

    fund_paid: int = 0
    totals: YearTotals = NO_TOTALS
    claims: int = 0
    notes: tuple[str, ...] = ()


def claim_from_body(body: Any, book: PolicyBook) -> Claim | None:
    """A stored claim body (person id masked) as a validated :class:`Claim`, or None.

    The masked identity number is replaced by :data:`PLACEHOLDER_PERSON_ID`:
    settlement never uses it, and validation would refuse the masked one.
    """
    if not isinstance(body, dict) or not isinstance(body.get("patient"), dict):
        return None
    patient = {**body["patient"], "person_id": PLACEHOLDER_PERSON_ID}
    check = parse_claim({**body, "patient": patient}, book)
    return check.claim


def year_totals_from_records(
    earlier: Iterable[tuple[dict[str, Any], Claim | None]], book: PolicyBook
) -> Before:
    """The accumulators before a claim, summed from the person-year's earlier settled claims.

    Args:
        earlier: the ``settled`` records of the person's earlier claims with the
            same discharge year, in settlement order, each with its claim (or
            None when only the record is known).
        book: the policies they were settled under.

    The sums are the spec's definitions: fund paid counts ``fund_pay`` of every
    in-patient and out-patient claim; ``n`` and ``d`` (8.5) the in-patient
    claims and their ``deductible``; ``Q`` (8.8) ``eligible - fund_pay`` of the
    claims whose scheme has critical-illness insurance and ``CI`` their
    ``ci_pay``; ``Aq`` (8.9) ``eligible - fund_pay - ci_pay`` of the claims whose
    assistance category the version names and ``MA`` their ``ma_pay``.
    """
    fund_paid = admissions = deductibles = ci_base = ci_paid = ma_base = ma_paid = 0
    count = 0
    notes: list[str] = []
    for record, claim in earlier:
        if record.get("status") != "settled" or record.get("claim_type") == "ltc":
            continue
        count += 1
        cid = record.get("claim_id")
        eligible = parse_fen_text(record["eligible"])
        fund_pay = parse_fen_text(record["fund_pay"])
        ci_pay = parse_fen_text(record.get("ci_pay", "0.00"))
        ma_pay = parse_fen_text(record.get("ma_pay", "0.00"))
        fund_paid += fund_pay
        if record["claim_type"] == "inpatient":
            admissions += 1
            deductibles += parse_fen_text(record["deductible"])
        ci_paid += ci_pay
        ma_paid += ma_pay
        version = book.version_by_label(str(record.get("policy_version")))
        if version is None:
            notes.append(f"claim {cid}: policy version {record.get('policy_version')} not found")
            continue
        if claim is None:
            if any(s.critical_illness is not None for s in version.schemes.values()) or (
                version.assistance
            ):
                notes.append(
                    f"claim {cid}: its claim is not loaded, so its critical-illness and"
                    " assistance bases are not counted"
                )
            continue
        if version.schemes[claim.scheme].critical_illness is not None:
            ci_base += eligible - fund_pay
        if claim.assistance is not None and claim.assistance in version.assistance:
            ma_base += eligible - fund_pay - ci_pay
    totals = YearTotals(admissions, deductibles, ci_base, ci_paid, ma_base, ma_paid)
    return Before(fund_paid, totals, count, tuple(notes))


def _yuan(fen: int) -> str:
    return format_fen(fen)


def _exact(scaled: int) -> str:
    """A fen x ten-thousandths product as exact yuan (``1234.567850`` -> ``1234.56785``)."""
    sign = "-" if scaled < 0 else ""
    scaled = abs(scaled)
    text = f"{scaled // 1_000_000}.{scaled % 1_000_000:06d}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{sign}{whole}.{decimals.ljust(2, '0')}"


def _source_of(version: PolicyVersion | None) -> str:
    if version is None:
        return "?"
    return version.provenance or NO_SOURCE


@dataclass
class _Trace:
    """The steps being written for one record."""

    record: dict[str, Any]
    version: PolicyVersion | None
    steps: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        amount: str,
        label: str,
        value: str,
        rule: str,
        parameter: str | None = None,
        *,
        detail: bool = False,
        source: str | None = None,
    ) -> None:
        label_version = self.record.get("policy_version", "")
        self.steps.append(
            {
                "amount": amount,
                "label": label,
                "value": value,
                "rule": rule,
                "parameter": parameter,
                "policy_version": label_version,
                "source": _source_of(self.version) if source is None else source,
                "detail": detail,
            }
        )


def explain_settlement(
    record: dict[str, Any],
    book: PolicyBook,
    scheme: str | None = None,
    level: int | None = None,
    *,
    claim: Claim | None = None,
    before: Before | None = None,
) -> list[dict[str, Any]]:
    """Explain a settled record step by step (spec sections 4 and 8).

    Args:
        record: a ``settled`` or ``duplicate`` section-6 record.
        book: the policies the record was settled under.
        scheme: the patient's scheme (used when ``claim`` is not given).
        level: the hospital level (used when ``claim`` is not given).
        claim: the claim itself; with it every step is retraced.
        before: the person's year totals before this claim (default: none).

    Returns:
        One dict per step: ``amount`` (a key: a record field such as
        ``fund_pay``, or a step such as ``band:2``), ``label`` (plain words),
        ``value`` (yuan or ratio text), ``rule`` (plain words), ``parameter``
        (policy field and value, or None), ``policy_version``, ``source`` (the
        version's ``source``, spec 8.0) and ``detail`` (True for a line that
        details the step above it). A step with amount ``check`` says the
        breakdown could not reproduce the record.
    """
    if record.get("status") not in ("settled", "duplicate"):
        return []
    version = book.version_by_label(str(record.get("policy_version")))
    if claim is not None and version is not None:
        catalogue = book.catalogues.get(claim.hospital_region) if book.catalogues else None
        return _explain_claim(record, version, claim, before or Before(), catalogue)
    return _record_only(record, version, scheme, level)


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


def _band_range(bands: tuple[Band, ...], index: int) -> tuple[int, int | None]:
    bottom = 0 if index == 0 else bands[index - 1].up_to_fen or 0
    return bottom, bands[index].up_to_fen


def _band_parts(
    bands: tuple[Band, ...],
    low: int,
    high: int,
    level: int,
    filing: FilingReduction | None,
    subtract: int,
) -> list[tuple[int, int, int | None, int, int, int]]:
    """``(index, bottom, top, part, ratio, part x ratio)`` of each band that [low, high] reaches.

    The caller checks that the products add up to :func:`band_sum` (the
    engine's sum).
    """
    parts = []
    for index, band in enumerate(bands):
        bottom, top = _band_range(bands, index)
        start = max(low, bottom)
        end = high if top is None else min(high, top)
        if end > start:
            ratio = reduced_ratio(band.ratio_at(level), filing, subtract)
            parts.append((index, bottom, top, end - start, ratio, (end - start) * ratio))
    return parts


def _band_words(index: int, bottom: int, top: int | None) -> str:
    upper = "with no upper end" if top is None else f"up to {_yuan(top)}"
    return f"band {index + 1} (above {_yuan(bottom)} {upper})"


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


def _explain_claim(
    record: dict[str, Any],
    version: PolicyVersion,
    claim: Claim,
    before: Before,
    catalogue: Catalogue | None,
) -> list[dict[str, Any]]:
    t = _Trace(record, version)
    got: dict[str, int] = {}
    share = version.category_b_self_pay
    # step 3 and 4 (8.4)
    total = sum(item.amount_fen for item in claim.items)
    got["total"] = total
    t.add("total", "Total", _yuan(total), f"sum of the {len(claim.items)} item amounts")
    over_price = 0
    if catalogue is None:
        b_sum = sum(i.amount_fen for i in claim.items if i.category == "B")
        c_sum = sum(i.amount_fen for i in claim.items if i.category == "C")
        b_part = round_ratio(b_sum, share)
        self_pay = c_sum + b_part
        t.add(
            "category_self_pay",
            "Category self-pay",
            _yuan(self_pay),
            f"category C items in full ({_yuan(c_sum)}) + category B items {_yuan(b_sum)}"
            f" x {format_ratio(share)} = {_exact(b_sum * share)}, rounded half-up: {_yuan(b_part)}",
            f"category_b_self_pay = {format_ratio(share)}",
        )
    else:
        catalogue_source = f"catalogue {Path(catalogue.source).name or catalogue.region}"
        self_pay = 0
        day = claim.discharge_date
        for number, item in enumerate(claim.items, start=1):
            row = catalogue.row_on(item.code, day)
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
                row_source = catalogue_source
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
                    + ("(empty)" if row.price_ceiling_fen is None else _yuan(row.price_ceiling_fen))
                )
                row_source = catalogue_source
                if row.self_pay is not None:
                    item_share = row.self_pay
                if row.price_ceiling_fen is not None:
                    units = item.quantity if item.quantity is not None else 1
                    limit = row.price_ceiling_fen * units
                    over = max(0, item.amount_fen - limit)
                    words += (
                        f"; ceiling {_yuan(row.price_ceiling_fen)} x {units} = {_yuan(limit)},"
                        f" over the price {_yuan(over)}"
                    )
            if category == "C":
                item_pay = item.amount_fen
                words += ": category C, self-paid in full"
            elif category == "B":
                shared = round_ratio(item.amount_fen - over, item_share)
                item_pay = shared + over
                over_price += over
                share_name = (
                    "the row's self_pay"
                    if row is not None and row.self_pay is not None
                    else f"category_b_self_pay = {format_ratio(share)}"
                )
                words += (
                    f"; ({_yuan(item.amount_fen)} - {_yuan(over)}) x {format_ratio(item_share)}"
                    f" ({share_name}) = {_exact((item.amount_fen - over) * item_share)},"
                    f" rounded half-up for this item: {_yuan(shared)}"
                )
            else:
                item_pay = over
                over_price += over
                words += "; category A: only the part over the price is self-paid"
            self_pay += item_pay
            t.add(
                f"item:{number}",
                f"Item {number} {item.code}",
                _yuan(item_pay),
                words,
                parameter,
                detail=True,
                source=row_source if row is not None else catalogue_source,
            )
        engine_totals = _engine_catalogue_amounts(claim, version, catalogue)
        if engine_totals != (total, self_pay, over_price):
            _mismatch(t, "the catalogue steps", engine_totals, (total, self_pay, over_price))
        t.add(
            "over_price",
            "Over the price ceiling",
            _yuan(over_price),
            "sum of the category A and B items' amounts over their ceiling x quantity (self-paid)",
            source=catalogue_source,
        )
        t.add(
            "category_self_pay",
            "Category self-pay",
            _yuan(self_pay),
            "sum of the items' self-pay above: category C in full, category B share rounded per"
            " item (the treatment region has a catalogue), plus the part over the price",
            f"category_b_self_pay = {format_ratio(share)} (items whose row has no self_pay)",
        )
    got["over_price"] = over_price
    got["category_self_pay"] = self_pay
    eligible = total - self_pay
    got["eligible"] = eligible
    t.add("eligible", "Eligible", _yuan(eligible), "total minus category self-pay")
    ci_pay = ma_pay = 0
    if claim.claim_type == "ltc":
        setting = claim.ltc_setting or ""
        days = claim.ltc_days or 0
        per_diem = version.ltc_per_diem_fen[setting]
        ceiling = days * per_diem
        ltc_ratio = version.ltc_ratio.get(setting)
        got["deductible"] = 0
        t.add("deductible", "Deductible", _yuan(0), "no deductible for long-term care")
        if ltc_ratio is None:
            fund_pay, ratio = min(eligible, ceiling), RATIO_ONE
            t.add("ratio", "Ratio", format_ratio(ratio), "long-term care is paid per diem")
            rule = (
                f"the smaller of eligible ({_yuan(eligible)}) and {days} care days x"
                f" {_yuan(per_diem)} = {_yuan(ceiling)}"
            )
            parameter = f"ltc_per_diem.{setting} = {_yuan(per_diem)} yuan a day"
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
                f"the smaller of eligible x ratio = {_exact(eligible * ltc_ratio)}, rounded"
                f" half-up: {_yuan(round_ratio(eligible, ltc_ratio))}, and {days} care days x"
                f" {_yuan(per_diem)} = {_yuan(ceiling)}"
            )
            parameter = f"ltc_per_diem.{setting}.per_diem = {_yuan(per_diem)} yuan a day"
        got["ratio"], got["fund_pay"], got["over_cap"] = ratio, fund_pay, 0
        t.add("fund_pay", "Fund pays", _yuan(fund_pay), rule, parameter)
        t.add("over_cap", "Over the annual cap", _yuan(0), "long-term care has no annual cap")
        t.add("ci_pay", "Critical-illness insurance", _yuan(0), "not for long-term care")
        t.add("ma_pay", "Medical assistance", _yuan(0), "not for long-term care")
    else:
        fund_pay, ci_pay, ma_pay = _explain_basic_and_layers(
            t, got, claim, version, before, eligible
        )
    got["ci_pay"], got["ma_pay"] = ci_pay, ma_pay
    patient_pay = total - fund_pay - ci_pay - ma_pay
    got["patient_pay"] = patient_pay
    t.add(
        "patient_pay",
        "Patient pays",
        _yuan(patient_pay),
        f"total {_yuan(total)} - fund pay {_yuan(fund_pay)} - critical-illness pay"
        f" {_yuan(ci_pay)} - assistance pay {_yuan(ma_pay)}",
    )
    _check(t, got, record, claim, version, before, catalogue)
    return t.steps


def _explain_basic_and_layers(
    t: _Trace,
    got: dict[str, int],
    claim: Claim,
    version: PolicyVersion,
    before: Before,
    eligible: int,
) -> tuple[int, int, int]:
    inpatient = claim.claim_type == "inpatient"
    totals = before.totals
    scheme = version.schemes[claim.scheme]
    rule, path, cap, cap_path = _rule_name(claim, version)
    level = claim.hospital_level
    # person category (8.3)
    if claim.category is not None:
        if claim.category in scheme.categories:
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
            claim.category,
            words,
            f"{claim.scheme}.categories: {', '.join(sorted(scheme.categories)) or 'none'}",
        )
    # step 7 (8.5)
    base = rule.deductible_fen[level]
    words = f"the level-{level} deductible {_yuan(base)}"
    parameter = f"{path}.deductible[level {level}] = {_yuan(base)} yuan"
    if inpatient and rule.deductible_repeat_factor is not None:
        parameter += f"; deductible_repeat_factor = {format_ratio(rule.deductible_repeat_factor)}"
        if totals.admissions:
            repeat = round_ratio(base, rule.deductible_repeat_factor)
            words += (
                f", admission {totals.admissions + 1} this year (an earlier one settled): x"
                f" {format_ratio(rule.deductible_repeat_factor)} = "
                f"{_exact(base * rule.deductible_repeat_factor)}, rounded: {_yuan(repeat)}"
            )
            base = repeat
        else:
            words += ", first admission this year: no repeat factor"
    deductible = min(eligible, base)
    pieces = [f"eligible {_yuan(eligible)}", f"the deductible {_yuan(base)}"]
    if inpatient and rule.deductible_year_max_fen is not None:
        left = max(0, rule.deductible_year_max_fen - totals.deductibles)
        deductible = min(deductible, left)
        parameter += f"; deductible_year_max = {_yuan(rule.deductible_year_max_fen)} yuan"
        pieces.append(
            f"what is left of the yearly maximum ({_yuan(rule.deductible_year_max_fen)} -"
            f" {_yuan(totals.deductibles)} already deducted this year = {_yuan(left)})"
        )
    got["deductible"] = deductible
    t.add(
        "deductible",
        "Deductible",
        _yuan(deductible),
        words + "; the smaller of " + " and ".join(pieces)
        if len(pieces) == 2
        else words + "; the smallest of " + ", ".join(pieces[:-1]) + " and " + pieces[-1],
        parameter,
    )
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
                f" {format_ratio(plain)}, after the inter-city reduction above"
                f" {format_ratio(ratio)}"
                if filing_name and ratio != plain
                else ""
            ),
            f"{name} = {format_ratio(plain)}",
        )
        payable = round_ratio(b, ratio)
        payable_words = (
            f"(eligible - deductible) {_yuan(b)} x {format_ratio(ratio)} = {_exact(b * ratio)},"
            f" rounded half-up"
        )
    else:
        parts = _band_parts(rule.bands, 0, b, level, filing, subtract)
        for index, bottom, top, part, band_ratio, product in parts:
            plain = rule.bands[index].ratio_at(level)
            reduced = (
                f" ({format_ratio(plain)} before the inter-city reduction above)"
                if filing_name and band_ratio != plain
                else ""
            )
            name = f"{path}.bands[{index + 1}].ratio" + (
                f"[level {level}]" if rule.bands[index].level_ratio is not None else ""
            )
            t.add(
                f"band:{index + 1}",
                f"Band {index + 1}",
                _exact(product),
                f"{_band_words(index, bottom, top)}: {_yuan(part)} of the {_yuan(b)} after the"
                f" deductible x {format_ratio(band_ratio)}{reduced}",
                f"{name} = {format_ratio(plain)}",
                detail=True,
            )
        summed = sum(p[5] for p in parts)
        engine_sum = band_sum(rule.bands, 0, b, level, filing, subtract)
        if summed != engine_sum:
            _mismatch(t, "the band parts", engine_sum, summed)
        payable = (summed + 5000) // 10000
        ratio = shown_ratio(payable, b)
        t.add(
            "ratio",
            "Ratio (effective)",
            format_ratio(ratio),
            f"marginal bands: the payable {_yuan(payable)} / {_yuan(b)}, rounded to 4 decimals"
            " (shown only; the bands above decide the amount)",
            f"{path}.bands ({len(rule.bands)} bands)",
        )
        payable_words = f"sum of the band parts {_exact(summed)}, rounded half-up"
    got["ratio"] = ratio
    t.add("payable", "Payable", _yuan(payable), payable_words)
    # step 9
    left = max(0, cap - before.fund_paid)
    fund_pay = min(payable, left)
    over_cap = payable - fund_pay
    got["fund_pay"], got["over_cap"] = fund_pay, over_cap
    t.add(
        "fund_pay",
        "Fund pays",
        _yuan(fund_pay),
        f"the smaller of the payable {_yuan(payable)} and what is left of the annual cap:"
        f" {_yuan(cap)} - {_yuan(before.fund_paid)} paid earlier this year = {_yuan(left)}",
        f"{cap_path} = {_yuan(cap)} yuan",
    )
    t.add(
        "over_cap",
        "Over the annual cap",
        _yuan(over_cap),
        "payable amount the fund did not pay because of the annual cap",
        f"{cap_path} = {_yuan(cap)} yuan",
    )
    # 8.8
    ci_pay = 0
    critical = scheme.critical_illness
    ci_path = f"{claim.scheme}.critical_illness"
    if critical is None:
        t.add("ci_pay", "Critical-illness insurance", _yuan(0), "the scheme has none (ci_pay 0)")
    else:
        q = eligible - fund_pay
        x0 = max(0, totals.ci_base - critical.threshold_fen)
        x1 = max(0, totals.ci_base + q - critical.threshold_fen)
        t.add(
            "ci_base",
            "Critical-illness base",
            _yuan(q),
            f"eligible minus fund pay; this year's base before this claim {_yuan(totals.ci_base)},"
            f" after {_yuan(totals.ci_base + q)}; above the threshold: {_yuan(x0)} before,"
            f" {_yuan(x1)} after",
            f"{ci_path}.threshold = {_yuan(critical.threshold_fen)} yuan",
        )
        parts = _band_parts(critical.bands, x0, x1, 1, None, 0) if x1 > 0 else []
        for index, bottom, top, part, band_ratio, product in parts:
            t.add(
                f"ci_band:{index + 1}",
                f"Critical-illness band {index + 1}",
                _exact(product),
                f"{_band_words(index, bottom, top)} above the threshold: of this claim's"
                f" {_yuan(x0)} to {_yuan(x1)}, {_yuan(part)} lie in it,"
                f" x {format_ratio(band_ratio)}",
                f"{ci_path}.bands[{index + 1}].ratio = {format_ratio(band_ratio)}",
                detail=True,
            )
        summed = sum(p[5] for p in parts)
        cap_left = max(0, critical.annual_cap_fen - totals.ci_paid)
        ci_pay = min((summed + 5000) // 10000, cap_left)
        engine_ci = critical_illness_pay(critical, q, totals.ci_base, totals.ci_paid)
        if engine_ci != ci_pay:
            _mismatch(t, "the critical-illness bands", engine_ci, ci_pay)
        t.add(
            "ci_pay",
            "Critical-illness insurance",
            _yuan(ci_pay),
            (
                f"the band parts {_exact(summed)}, rounded half-up, limited by what is left of"
                f" its annual cap: {_yuan(critical.annual_cap_fen)} - {_yuan(totals.ci_paid)}"
                f" paid earlier this year = {_yuan(cap_left)}"
                if x1 > 0
                else "the year's base has not reached the threshold: nothing"
            ),
            f"{ci_path}.annual_cap = {_yuan(critical.annual_cap_fen)} yuan",
        )
    # 8.9
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
        t.add("ma_pay", "Medical assistance", _yuan(0), f"{why} (ma_pay 0)")
    else:
        a = eligible - fund_pay - ci_pay
        threshold = entry.threshold_fen
        part = max(0, totals.ma_base + a - threshold) - max(0, totals.ma_base - threshold)
        cap_left = max(0, entry.annual_cap_fen - totals.ma_paid)
        ma_pay = min(round_ratio(part, entry.ratio), cap_left)
        engine_ma = assistance_pay(entry, a, totals.ma_base, totals.ma_paid)
        if engine_ma != ma_pay:
            _mismatch(t, "the assistance step", engine_ma, ma_pay)
        ma_path = f"assistance.{claim.assistance}"
        t.add(
            "ma_base",
            "Assistance base",
            _yuan(a),
            f"category {claim.assistance}: eligible minus fund pay minus critical-illness pay;"
            f" this year's base before this claim {_yuan(totals.ma_base)}, after"
            f" {_yuan(totals.ma_base + a)}; the part above the threshold: {_yuan(part)}",
            f"{ma_path}.threshold = {_yuan(threshold)} yuan",
        )
        t.add(
            "ma_pay",
            "Medical assistance",
            _yuan(ma_pay),
            f"{_yuan(part)} x {format_ratio(entry.ratio)} = {_exact(part * entry.ratio)},"
            f" rounded half-up, limited by what is left of its annual cap:"
            f" {_yuan(entry.annual_cap_fen)} - {_yuan(totals.ma_paid)} paid earlier this year ="
            f" {_yuan(cap_left)}",
            f"{ma_path}.ratio = {format_ratio(entry.ratio)};"
            f" {ma_path}.annual_cap = {_yuan(entry.annual_cap_fen)} yuan",
        )
    return fund_pay, ci_pay, ma_pay


def _engine_catalogue_amounts(
    claim: Claim, version: PolicyVersion, catalogue: Catalogue
) -> tuple[int, int, int]:
    from settlement.engine import catalogue_amounts

    return catalogue_amounts(claim, version, catalogue)


def _mismatch(t: _Trace, what: str, engine: Any, traced: Any) -> None:
    t.add(
        "check",
        "Check",
        "",
        f"this breakdown's {what} ({traced}) differ from the engine's ({engine});"
        " the record's amounts are the ones that count",
    )


def _check(
    t: _Trace,
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
        _mismatch(
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


def _record_only(
    record: dict[str, Any], version: PolicyVersion | None, scheme: str | None, level: int | None
) -> list[dict[str, Any]]:
    """The record's amounts with the rules that could apply (the claim is not known)."""
    t = _Trace(record, version)
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
    else:
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
