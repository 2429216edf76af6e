"""Settling claims (spec section 4) and building settlement records (section 6).

:func:`compute_settlement` is the pure formula for one valid claim given the
fund already paid to the person this year. :class:`Settler` adds what must be
remembered between claims: duplicates and annual accumulators.
"""

from __future__ import annotations

from typing import Any

from settlement.claim import Claim, parse_claim
from settlement.errors import MALFORMED, ClaimIssue
from settlement.jsonio import MAX_DOCUMENT_BYTES, decode_claim, malformed_message
from settlement.money import RATIO_ONE, format_fen, format_ratio, round_ratio
from settlement.policy import PolicyBook, PolicyVersion
from settlement.state import CompactMemoryState, SettledOutcome, SettlementState

SETTLED = "settled"
REJECTED = "rejected"
DUPLICATE = "duplicate"


def compute_settlement(
    claim: Claim, policy: PolicyVersion, fund_paid_this_year: int
) -> SettledOutcome:
    """Settle one valid claim under ``policy`` (spec section 4, steps 3 to 10).

    Args:
        claim: a validated claim.
        policy: the insured region's version in force on the discharge date.
        fund_paid_this_year: the person's fund-paid accumulator for the
            discharge year before this claim (ignored for ltc).

    Returns:
        The outcome, all amounts in fen and the ratio in ten-thousandths.
    """
    total = category_b = category_c = 0
    for item in claim.items:
        total += item.amount_fen
        if item.category == "B":
            category_b += item.amount_fen
        elif item.category == "C":
            category_c += item.amount_fen
    category_self_pay = category_c + round_ratio(category_b, policy.category_b_self_pay)
    eligible = total - category_self_pay
    if claim.claim_type == "ltc":
        per_diem = policy.ltc_per_diem_fen[claim.ltc_setting]  # type: ignore[index]
        fund_pay = min(eligible, claim.ltc_days * per_diem)  # type: ignore[operator]
        deductible, ratio, over_cap = 0, RATIO_ONE, 0
    else:
        scheme = policy.schemes[claim.scheme]
        rule = scheme.rule_for(claim.claim_type)
        deductible = min(eligible, rule.deductible_fen[claim.hospital_level])
        ratio = rule.ratio
        if claim.intercity and not claim.intercity_registered:
            ratio = max(0, ratio - policy.intercity_unregistered_reduction)
        payable = round_ratio(eligible - deductible, ratio)
        fund_pay = min(payable, max(0, scheme.annual_cap_fen - fund_paid_this_year))
        over_cap = payable - fund_pay
    return SettledOutcome(
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
        total - fund_pay,
    )


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
        digits; see :mod:`settlement.jsonio`), is rejected ``malformed``.
        """
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
        year = claim.discharge_date.year
        counts_to_cap = claim.claim_type != "ltc"
        paid = state.fund_paid(claim.person_id, year) if counts_to_cap else 0
        outcome = compute_settlement(claim, policy, paid)
        if counts_to_cap and outcome.fund_pay:
            state.add_fund_paid(claim.person_id, year, outcome.fund_pay)
        state.remember(outcome)
        return settlement_record(outcome)
