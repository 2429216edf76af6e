"""The worked example of dip.md section 9, to the ten-thousandth and the fen."""

from __future__ import annotations

import math
from datetime import date
from fractions import Fraction

from dip.cases import assess, case_record
from dip.catalogue import build_catalogue
from dip.clearing import AreaTally, clear_area, region_record
from dip.policy import BudgetYear

from .dip_helpers import case, version

YUAN = 100
# group -> (cases, cost of each case in yuan)
HISTORY = {"A": (1000, 10_000), "B": (3000, 6_000), "C": (500, 50_000)}
DIAGNOSIS = {"A": "A01.0", "B": "B02.0", "C": "C03.0"}


def history_cases(year: int) -> list:
    return [
        case(
            f"{name}{n}",
            f"H-{name}",
            cost * YUAN,
            cost * YUAN * 6 // 10,
            DIAGNOSIS[name],
            discharge=date(year, 6, 1),
        )
        for name, (count, cost) in HISTORY.items()
        for n in range(count)
    ]


def catalogue_version():
    catalogue = build_catalogue(history_cases(2025), "441800", 2026)
    return version(catalogue.groups), {g.diagnosis: g for g in catalogue.groups}


def test_scores_are_m_i_over_m_times_1000_rounded() -> None:
    _, groups = catalogue_version()
    assert {d: g.score for d, g in groups.items()} == {
        "A01.0": 8_490_566,  # 849.0566
        "B02.0": 5_094_340,  # 509.4340
        "C03.0": 42_452_830,  # 4245.2830
    }
    assert groups["B02.0"].average_cost_fen == {1: 600_000, 2: 600_000, 3: 600_000}
    assert groups["A01.0"].code == "A01.0+none"


def test_year_end_conserves_the_budget_and_pays_about_the_item_liability() -> None:
    dip_version, _ = catalogue_version()
    area = AreaTally("441800")
    for dip_case in history_cases(2026):
        area.add(assess(dip_case, dip_version))
    budget = BudgetYear(31_800_000 * YUAN, 0, 9000, 5000, 2000)
    cleared = clear_area(area, 2026, budget)
    assert cleared is not None
    summary = region_record(cleared)
    assert summary["points"] == "4500000.1000"
    assert summary["patient_borne"] == "21200000.00"
    assert summary["point_value"] == "11.7778"  # M / 1000
    assert summary["distributable"] == "31800000.00"
    gap = {h.hospital_id: h.entitlement - h.item_fund for h in cleared.hospitals}
    assert gap == {"H-A": -27, "H-B": 93, "H-C": -66}  # -0.27, +0.93, -0.66 yuan
    assert sum(h.entitlement for h in cleared.hospitals) == 31_800_000 * YUAN


def test_deviation_cases_in_group_b() -> None:
    dip_version, _ = catalogue_version()
    expected = {
        15_000: ("2.5000", "high", "1.5000", "764.1510", False),
        2_400: ("0.4000", "low", "0.4000", "203.7736", False),
        12_000: ("2.0000", "normal", "1.0000", "509.4340", False),
        # k is exact in the points (4.000166...), rounded only for its own field
        30_001: ("5.0002", "high", "4.0002", "2037.8209", True),
    }
    for cost, (ratio, deviation, multiplier, points, review) in expected.items():
        record = case_record(assess(case("X", "H-B", cost * YUAN, 0, "B02.0"), dip_version))
        assert (
            record["cost_ratio"],
            record["deviation"],
            record["multiplier"],
            record["points"],
            record["special_review"],
        ) == (ratio, deviation, multiplier, points, review), cost


def test_three_years_weigh_1_2_7_and_levels_fall_back_to_the_latest_year() -> None:
    # Research notes' vector: yearly means 9,000 / 9,500 / 10,000 weigh to 9,800.
    history = [
        case(f"G{year}-{n}", "H1", cost * YUAN, 0, "G01.0", level=level, discharge=date(year, 5, 1))
        for year, cost, level in ((2023, 9_000, 1), (2024, 9_500, 2), (2025, 10_000, 2))
        for n in range(10)
    ]
    # A group seen in 2024 only: its own mean, weight 2 alone.
    history += [
        case(f"S{n}", "H2", 4_900 * YUAN, 0, "S01.0", level=3, discharge=date(2024, 5, 1))
        for n in range(5)
    ]
    catalogue = build_catalogue(history, "441800", 2026, core_min_cases=10)
    core, comprehensive = catalogue.groups
    # M: 2023 mean 9000, 2024 mean (10 x 9500 + 5 x 4900) / 15, 2025 mean 10000.
    m_2024 = Fraction(10 * 9_500 + 5 * 4_900, 15)
    area_mean = (1 * 9_000 + 2 * m_2024 + 7 * 10_000) / 10
    assert core.code == "G01.0+none"
    assert core.score == math.floor(9_800 / area_mean * 1000 * 10_000 + Fraction(1, 2))
    # Level 2 from 2025 (latest with level-2 cases), level 1 from 2023, level 3: none at all,
    # so the group's own latest-year mean.
    assert core.average_cost_fen == {1: 900_000, 2: 1_000_000, 3: 1_000_000}
    assert (comprehensive.code, comprehensive.kind) == ("S-conservative", "comprehensive")
    assert comprehensive.average_cost_fen == {1: 490_000, 2: 490_000, 3: 490_000}
    # Cases outside y-3..y-1, other areas and excluded stays are not used.
    others = [
        case("O1", "H1", 1, 0, "G01.0", discharge=date(2026, 1, 2)),
        case("O2", "H1", 1, 0, "G01.0", discharge=date(2022, 1, 2)),
        case("O3", "H1", 1, 0, "G01.0", region="440100", discharge=date(2025, 1, 2)),
        case("O4", "H1", 1, 0, "G01.0", los=0, discharge=date(2025, 1, 2)),
        case("O5", "H1", 1, 0, "G01.0", los=60, discharge=date(2025, 1, 2)),
    ]
    assert build_catalogue(history + others, "441800", 2026, core_min_cases=10) == catalogue
