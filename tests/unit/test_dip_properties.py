"""Invariants of the DIP core as property tests (issue 14's acceptance list)."""

from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from dip.cases import assess
from dip.clearing import AreaTally, HospitalTally, clear_area, largest_remainder
from dip.numbers import FOUR
from dip.policy import BudgetYear
from settlement.batch import settle_lines
from settlement.engine import Settler
from settlement.policy_loader import load_policy_dir

from .base_claim import BASE_CLAIM, GOLDEN_POLICIES, merge
from .dip_helpers import book, case, core_group, run_core, version

rates = st.integers(0, FOUR)
budgets = st.builds(
    BudgetYear,
    st.one_of(st.integers(1, 10**6), st.integers(1, 10**14)),
    rates,
    rates,
    rates,
    rates,
)


@st.composite
def areas(draw: st.DrawFn) -> AreaTally:
    area = AreaTally("441800")
    for n in range(draw(st.integers(1, 8))):
        months = draw(st.dictionaries(st.integers(1, 12), st.integers(0, 10**9), min_size=1))
        fund = sum(months.values())
        hospital = HospitalTally(
            f"H{n}",
            draw(st.integers(1, 3)),
            cases=draw(st.integers(1, 1000)),
            points=draw(st.integers(0, 10**10)),
            patient_borne_fen=draw(st.integers(0, 10**10)),
            item_fund_fen=fund,
            fund_by_month=months,
        )
        area.hospitals[hospital.hospital_id] = hospital
    return area


@settings(max_examples=300, deadline=None)
@given(area=areas(), budget=budgets)
def test_year_end_amounts_add_up(area: AreaTally, budget: BudgetYear) -> None:
    cleared = clear_area(area, 2026, budget)
    if area.points == 0:
        assert cleared is None
        return
    assert cleared is not None
    hospitals = cleared.hospitals
    # Rounded entitlements sum to the distributable amount.
    assert sum(h.entitlement for h in hospitals) == cleared.distributable
    assert cleared.distributable == cleared.budget - cleared.reserve
    # Annual amounts sum to budget minus what is left of the reserve.
    assert sum(h.annual for h in hospitals) == cleared.budget - cleared.reserve_left
    assert sum(h.compensation for h in hospitals) == cleared.compensation <= cleared.reserve
    for h in hospitals:
        assert h.balance == h.annual - h.advances  # balance = annual minus advances
        assert h.compensation >= 0 and h.surplus >= 0
        # Compensation never exceeds the hospital's own claim (rate x band x F), rounded up.
        assert h.compensation <= -(-budget.share_rate * budget.share_band * h.item_fund // FOUR**2)


@given(
    numerators=st.dictionaries(
        st.text("ab", min_size=1, max_size=3), st.integers(-(10**9), 10**9), min_size=1
    ),
    denominator=st.integers(1, 10**6),
)
def test_largest_remainder_reaches_the_exact_sum(
    numerators: dict[str, int], denominator: int
) -> None:
    total_numerator = sum(numerators.values())
    numerators[min(numerators)] -= total_numerator % denominator  # make the sum whole
    total = sum(numerators.values()) // denominator
    rounded = largest_remainder(numerators, denominator, total)
    assert sum(rounded.values()) == total
    for key, value in numerators.items():
        assert value // denominator <= rounded[key] <= value // denominator + 1


@settings(max_examples=300)
@given(
    average=st.integers(1, 10**7),
    high=st.integers(FOUR, 10 * FOUR),
    score=st.integers(1, 10**8),
    coefficient=st.integers(1, 3 * FOUR),
)
def test_multiplier_is_continuous_at_high_ratio(
    average: int, high: int, score: int, coefficient: int
) -> None:
    group = core_group("G", "A00.0", None, score, dict.fromkeys((1, 2, 3), average))
    dip_version = version(
        [group], high=high, review=10 * FOUR, coefficients=dict.fromkeys((1, 2, 3), coefficient)
    )
    threshold = high * average  # C x 10^4 at r = high_ratio
    below = threshold // FOUR  # the last cost not above the threshold
    at, above = (assess(case("X", "H", c, 0), dip_version) for c in (below, below + 1))
    assert at.deviation in ("normal", "low") and above.deviation == "high"
    # Just above the threshold, k = r - high + 1 is 1 plus at most one fen over A.
    step = score * coefficient * FOUR // (average * FOUR) + 2  # points of one fen, +rounding
    normal_points = (score * coefficient * 2 + FOUR) // (2 * FOUR)
    if at.deviation == "normal":
        assert at.points == normal_points
    assert normal_points <= above.points <= normal_points + step
    assert FOUR <= above.multiplier <= FOUR + FOUR // average + 1


def _claim(n: int, total: str, diagnosis: str) -> dict[str, object]:
    return merge(
        BASE_CLAIM,
        {
            "claim_id": f"D{n}",
            "diagnosis": diagnosis,
            "items": [{"code": "X", "category": "A", "amount": total}],
        },
    )


@settings(max_examples=40, deadline=None)
@given(
    claims=st.lists(
        st.tuples(
            st.integers(1, 20), st.decimals(0, 99999, places=2), st.sampled_from(("J18.9", "K35.8"))
        ),
        min_size=1,
        max_size=12,
    ),
    repeats=st.lists(st.integers(0, 11), max_size=5),
)
def test_resettling_a_duplicate_changes_no_point_total(
    claims: list[tuple[int, object, str]], repeats: list[int]
) -> None:
    policies = load_policy_dir(GOLDEN_POLICIES)
    dip = book(
        [
            version(
                [core_group("J18", "J18", None, 4_200_000, {1: 330_000, 2: 410_000, 3: 520_000})]
            )
        ],
        {2026: BudgetYear(10**10, 500, 9000, 5000, 2000)},
    )
    lines = [json.dumps(_claim(n, str(total), diagnosis)) for n, total, diagnosis in claims]
    again = lines + [lines[i % len(lines)] for i in repeats]

    def run(claim_lines: list[str]) -> list[dict[str, object]]:
        data = "\n".join(claim_lines).encode() + b"\n"
        records = list(settle_lines(Settler(policies), io.BytesIO(data)))
        settled = "".join(json.dumps(r) + "\n" for r in records).encode()
        return run_core(data, settled, dip, 2026, "2026-03")[1]

    assert run(again) == run(lines)
