"""Settling claims (spec sections 4 and 8) and building settlement records (section 6).

:func:`compute_settlement` is the pure formula for one valid claim given the
person's accumulators for the year. :class:`Settler` adds what must be
remembered between claims: duplicates and annual accumulators.
"""

from __future__ import annotations

from typing import Any

from settlement.claim import Claim, parse_claim
from settlement.claim_fast import fast_claim
from settlement.errors import MALFORMED, ClaimIssue
from settlement.jsonio import MAX_DOCUMENT_BYTES, decode_claim, malformed_message
from settlement.layers import (
    assistance_pay,
    band_sum,
    critical_illness_pay,
    reduced_ratio,
    shown_ratio,
)
from settlement.money import RATIO_ONE, format_fen, format_ratio, round_ratio
from settlement.policy import (
    Catalogue,
    ClaimTypeRule,
    FilingReduction,
    PolicyBook,
    PolicyVersion,
    SchemePolicy,
)
from settlement.state import (
    NO_TOTALS,
    CompactMemoryState,
    SettledOutcome,
    SettlementState,
    YearTotals,
)

SETTLED = "settled"
REJECTED = "rejected"
DUPLICATE = "duplicate"
ZERO_YUAN = "0.00"


def compute_settlement(
    claim: Claim,
    policy: PolicyVersion,
    fund_paid_this_year: int,
    totals: YearTotals = NO_TOTALS,
    catalogue: Catalogue | None = None,
) -> tuple[SettledOutcome, YearTotals]:
    """Settle one valid claim under ``policy`` (spec section 4, steps 3 to 10, and section 8).

    Args:
        claim: a validated claim.
        policy: the insured region's version in force on the discharge date.
        fund_paid_this_year: the person's fund-paid accumulator for the
            discharge year before this claim (ignored for ltc).
        totals: the person's other accumulators for the year before this
            claim (section 8.5, 8.8, 8.9; ignored for ltc).
        catalogue: the treatment region's catalogue (section 8.4), if any.

    Returns:
        The outcome, all amounts in fen and the ratio in ten-thousandths, and
        the claim's change to ``totals`` (``NO_TOTALS`` when none).
    """
    if catalogue is None:
        total, category_self_pay = category_amounts(claim, policy)
        over_price = 0
    else:
        total, category_self_pay, over_price = catalogue_amounts(claim, policy, catalogue)
    eligible = total - category_self_pay
    ci_pay = ma_pay = 0
    delta = NO_TOTALS
    if claim.claim_type == "ltc":
        fund_pay, ratio = _ltc_fund_pay(claim, policy, eligible)
        deductible, over_cap = 0, 0
    else:
        inpatient = claim.claim_type == "inpatient"
        scheme = policy.schemes[claim.scheme]
        rule, cap = _rule_and_cap(claim, scheme, inpatient)
        level = claim.hospital_level
        deductible = _deductible(rule, level, eligible, inpatient, totals)
        filing, subtract = _filing(claim, policy)
        payable, ratio = _payable(rule, level, eligible - deductible, filing, subtract)
        left = cap - fund_paid_this_year
        fund_pay = min(payable, left if left > 0 else 0)
        over_cap = payable - fund_pay
        ci_base, ci_pay, ma_base, ma_pay = _layers(
            claim, policy, scheme, eligible - fund_pay, totals
        )
        if inpatient or scheme.critical_illness is not None or ma_base or ma_pay:
            delta = YearTotals(
                1 if inpatient else 0,
                deductible if inpatient else 0,
                ci_base,
                ci_pay,
                ma_base,
                ma_pay,
            )
    outcome = SettledOutcome(
        claim.claim_id,
        claim.claim_type,
        claim.discharge_date.isoformat(),
        claim.intercity,
        claim.insured_region,
        claim.hospital_region,
        policy.label,
        total,
        category_self_pay,
        eligible,
        deductible,
        ratio,
        fund_pay,
        over_cap,
        over_price,
        ci_pay,
        ma_pay,
        total - fund_pay - ci_pay - ma_pay,
    )
    return outcome, delta


def category_amounts(claim: Claim, policy: PolicyVersion) -> tuple[int, int]:
    """``(total, category_self_pay)`` without a catalogue (spec section 4, steps 3 and 4)."""
    total = category_b = category_c = 0
    for item in claim.items:
        total += item.amount_fen
        if item.category == "B":
            category_b += item.amount_fen
        elif item.category == "C":
            category_c += item.amount_fen
    return total, category_c + round_ratio(category_b, policy.category_b_self_pay)


def _ltc_fund_pay(claim: Claim, policy: PolicyVersion, eligible: int) -> tuple[int, int]:
    """``(fund_pay, ratio)`` of a long-term-care claim (spec step 6 and 8.7)."""
    setting = claim.ltc_setting
    days = claim.ltc_days
    if setting is None or days is None:  # parse_claim gives every ltc claim both
        raise ValueError(f"claim {claim.claim_id}: an ltc claim needs ltc.setting and ltc.days")
    ceiling = days * policy.ltc_per_diem_fen[setting]
    ltc_ratio = policy.ltc_ratio.get(setting)
    if ltc_ratio is None:
        return min(eligible, ceiling), RATIO_ONE
    # spec 8.7: a co-payment, then the daily cap
    return min(round_ratio(eligible, ltc_ratio), ceiling), ltc_ratio


def _rule_and_cap(claim: Claim, scheme: SchemePolicy, inpatient: bool) -> tuple[ClaimTypeRule, int]:
    """The claim-type rule and annual cap, the person category's where it has one (8.3)."""
    rule = scheme.rule_for(claim.claim_type)
    cap = scheme.annual_cap_fen
    if claim.category is not None and scheme.categories:  # spec 8.3
        person_category = scheme.categories.get(claim.category)
        if person_category is not None:
            block = person_category.inpatient if inpatient else person_category.outpatient
            if block is not None:
                rule = block
            if person_category.annual_cap_fen is not None:
                cap = person_category.annual_cap_fen
    return rule, cap


def _deductible(
    rule: ClaimTypeRule, level: int, eligible: int, inpatient: bool, totals: YearTotals
) -> int:
    """Spec step 7, with 8.5's repeat factor and yearly maximum for in-patient stays."""
    base = rule.deductible_fen[level]
    if inpatient and totals.admissions and rule.deductible_repeat_factor is not None:
        base = round_ratio(base, rule.deductible_repeat_factor)  # spec 8.5
    deductible = min(eligible, base)
    if inpatient and rule.deductible_year_max_fen is not None:
        left = rule.deductible_year_max_fen - totals.deductibles
        deductible = min(deductible, left if left > 0 else 0)
    return deductible


def _payable(
    rule: ClaimTypeRule, level: int, base: int, filing: FilingReduction | None, subtract: int
) -> tuple[int, int]:
    """``(payable, ratio)`` of ``base`` (eligible - deductible): step 9, or 8.2's bands."""
    if rule.bands is None:
        ratio = reduced_ratio(rule.ratio_at(level), filing, subtract)
        return round_ratio(base, ratio), ratio
    payable = (band_sum(rule.bands, 0, base, level, filing, subtract) + 5000) // 10000
    return payable, shown_ratio(payable, base)


def _layers(
    claim: Claim, policy: PolicyVersion, scheme: SchemePolicy, left_over: int, totals: YearTotals
) -> tuple[int, int, int, int]:
    """``(ci_base, ci_pay, ma_base, ma_pay)``: critical illness (8.8), then assistance (8.9).

    ``left_over`` is eligible - fund_pay, the base of critical illness.
    """
    ci_base = ci_pay = ma_base = ma_pay = 0
    critical = scheme.critical_illness
    if critical is not None:  # spec 8.8
        ci_base = left_over
        ci_pay = critical_illness_pay(critical, ci_base, totals.ci_base, totals.ci_paid)
    if claim.assistance is not None and policy.assistance:  # spec 8.9
        assistance = policy.assistance.get(claim.assistance)
        if assistance is not None:
            ma_base = left_over - ci_pay
            ma_pay = assistance_pay(assistance, ma_base, totals.ma_base, totals.ma_paid)
    return ci_base, ci_pay, ma_base, ma_pay


def _filing(claim: Claim, policy: PolicyVersion) -> tuple[FilingReduction | None, int]:
    """The inter-city reduction: 8.6's filing category, else step 8's unregistered one."""
    filing: FilingReduction | None = None
    subtract = 0
    if claim.intercity:
        if policy.intercity_filing is None:
            if not claim.intercity_registered:
                subtract = policy.intercity_unregistered_reduction
        else:  # spec 8.6
            name = claim.intercity_filing
            if name is None:
                name = "long_term" if claim.intercity_registered else "none"
            filing = policy.intercity_filing.get(name)
    return filing, subtract


def catalogue_amounts(
    claim: Claim, policy: PolicyVersion, catalogue: Catalogue
) -> tuple[int, int, int]:
    """``(total, category_self_pay, over_price)`` with the treatment place's catalogue (8.4).

    Category-B shares are rounded per item, for every item of a claim treated
    in a region with a catalogue (items without a row in force included).
    """
    total = self_pay = over_price = 0
    day = claim.discharge_date
    default_share = policy.category_b_self_pay
    for item in claim.items:
        amount = item.amount_fen
        total += amount
        row = catalogue.row_on(item.code, day)
        over = 0
        if row is None:
            category = item.category
            share = default_share
        else:
            category = row.category
            share = default_share if row.self_pay is None else row.self_pay
            if row.price_ceiling_fen is not None:
                units = item.quantity if item.quantity is not None else 1
                over = amount - row.price_ceiling_fen * units
                if over < 0:
                    over = 0
        if category == "C":
            self_pay += amount
        elif category == "B":
            self_pay += round_ratio(amount - over, share) + over
            over_price += over
        else:
            self_pay += over
            over_price += over
    return total, self_pay, over_price


def settlement_record(outcome: SettledOutcome, status: str = SETTLED) -> dict[str, Any]:
    """The section-6 record of a settled (or duplicate) claim."""
    return {
        "claim_id": outcome.claim_id,
        "status": status,
        "claim_type": outcome.claim_type,
        "discharge_date": outcome.discharge_date,
        "intercity": outcome.intercity,
        "insured_region": outcome.insured_region,
        "treatment_region": outcome.treatment_region,
        "policy_version": outcome.policy_version,
        "total": format_fen(outcome.total),
        "category_self_pay": format_fen(outcome.category_self_pay),
        "eligible": format_fen(outcome.eligible),
        "deductible": format_fen(outcome.deductible),
        "ratio": format_ratio(outcome.ratio),
        "fund_pay": format_fen(outcome.fund_pay),
        "over_cap": format_fen(outcome.over_cap),
        # most policies use no section 8: skip formatting the zeros
        "over_price": format_fen(outcome.over_price) if outcome.over_price else ZERO_YUAN,
        "ci_pay": format_fen(outcome.ci_pay) if outcome.ci_pay else ZERO_YUAN,
        "ma_pay": format_fen(outcome.ma_pay) if outcome.ma_pay else ZERO_YUAN,
        "patient_pay": format_fen(outcome.patient_pay),
        "errors": [],
    }


def rejected_record(claim_id: str, issues: list[ClaimIssue]) -> dict[str, Any]:
    """The section-6 record of a rejected claim: id, status and every error."""
    return {
        "claim_id": claim_id,
        "status": REJECTED,
        "errors": [issue.as_json() for issue in issues],
    }


class Settler:
    """Settles claims in order, remembering duplicates and annual accumulators.

    Args:
        book: the policies.
        state: where to remember; in-memory by default, Faust tables in the stream.
    """

    def __init__(self, book: PolicyBook, state: SettlementState | None = None) -> None:
        self.book = book
        self.state: SettlementState = state if state is not None else CompactMemoryState()

    def settle(self, obj: Any, fallback_id: str) -> dict[str, Any]:
        """Settle one decoded claim; ``fallback_id`` names it when it has no usable id."""
        check = parse_claim(obj, self.book)
        if check.claim is None:
            return rejected_record(check.claim_id or fallback_id, check.issues)
        return self.settle_claim(check.claim)

    def settle_json(
        self, text: str | bytes, fallback_id: str, max_bytes: int = MAX_DOCUMENT_BYTES
    ) -> dict[str, Any]:
        """Settle one claim given as JSON text.

        Text that is not JSON, or beyond a decoding limit (``max_bytes``, depth,
        digits; see :mod:`settlement.jsonio`), is rejected ``malformed``. The
        usual valid claim takes the typed fast path (:mod:`settlement.claim_fast`);
        every other goes through the exact decoder and ``parse_claim``.
        """
        if type(text) is bytes and len(text) <= max_bytes:
            claim = fast_claim(text, self.book)
            if claim is not None:
                return self.settle_claim(claim)
        try:
            obj = decode_claim(text, max_bytes)
        except ValueError as exc:
            return rejected_record(fallback_id, [ClaimIssue(MALFORMED, malformed_message(exc))])
        return self.settle(obj, fallback_id)

    def settle_claim(self, claim: Claim) -> dict[str, Any]:
        """Settle a validated claim (its policy version attached by validation)."""
        state = self.state
        earlier = state.settled(claim.claim_id)
        if earlier is not None:
            return settlement_record(earlier, DUPLICATE)
        policy = claim.policy
        if policy is None:  # a Claim built by hand rather than by parse_claim
            policy = self.book.version_for(claim.insured_region, claim.discharge_date)
            if policy is None:
                raise ValueError(f"claim {claim.claim_id}: no policy in force")
        catalogues = self.book.catalogues
        catalogue = catalogues.get(claim.hospital_region) if catalogues else None
        if claim.claim_type == "ltc":  # outside every accumulator
            outcome, _ = compute_settlement(claim, policy, 0, NO_TOTALS, catalogue)
        else:
            person, year = claim.person_id, claim.discharge_date.year
            paid = state.fund_paid(person, year)
            totals = state.year_totals(person, year) if policy.reads_year_totals else NO_TOTALS
            outcome, delta = compute_settlement(claim, policy, paid, totals, catalogue)
            if outcome.fund_pay:
                state.add_fund_paid(person, year, outcome.fund_pay)
            if delta is not NO_TOTALS:
                state.add_year_totals(person, year, delta)
        state.remember(outcome)
        return settlement_record(outcome)
