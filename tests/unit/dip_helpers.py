"""Test helpers for DIP: versions built in code, and the core run over in-memory files."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from dip.cases import DipCase, assess, case_record
from dip.clearing import PeriodTally, month_records, year_records
from dip.pairing import PairingCounts, dip_cases
from dip.policy import BudgetYear, DipBook, DipPolicy, DipVersion, Group


def core_group(
    code: str, diagnosis: str, procedure: str | None, score: int, cost: dict[int, int]
) -> Group:
    return Group(code, "core", score, cost, diagnosis=diagnosis, procedure=procedure)


def version(
    groups: list[Group],
    region: str = "441800",
    coefficients: dict[int, int] | None = None,
    overrides: dict[str, int] | None = None,
    low: int = 5000,
    high: int = 20000,
    review: int = 50000,
    at_most: int = 0,
    at_least: int = 60,
    effective_from: date = date(2020, 1, 1),
) -> DipVersion:
    return DipVersion(
        region=region,
        effective_from=effective_from,
        los_exclude_at_most=at_most,
        los_exclude_at_least=at_least,
        low_ratio=low,
        high_ratio=high,
        review_ratio=review,
        hospital_coefficients=coefficients or {1: 10000, 2: 10000, 3: 10000},
        hospital_overrides=overrides or {},
        groups=groups,
    )


def book(versions: list[DipVersion], years: dict[int, BudgetYear]) -> DipBook:
    region = versions[0].region
    return DipBook({region: DipPolicy(region, "test", versions, years)})


def case(
    claim_id: str,
    hospital_id: str,
    total_fen: int,
    fund_pay_fen: int,
    diagnosis: str = "A00.0",
    procedures: tuple[str, ...] = (),
    level: int = 3,
    discharge: date = date(2026, 3, 5),
    los: int = 4,
    region: str = "441800",
) -> DipCase:
    return DipCase(
        claim_id=claim_id,
        hospital_id=hospital_id,
        region=region,
        level=level,
        admission_date=date.fromordinal(discharge.toordinal() - los),
        discharge_date=discharge,
        diagnosis=diagnosis,
        procedures=procedures,
        total_fen=total_fen,
        fund_pay_fen=fund_pay_fen,
    )


def run_core(
    claims: bytes, settlements: bytes, dip: DipBook, year: int, period: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(case records, year records, month records) of the core, as the commands make them."""
    counts = PairingCounts()
    cases: list[dict[str, Any]] = []
    year_tally, month_tally = PeriodTally(), PeriodTally()
    for dip_case, dip_version in dip_cases(
        io.BytesIO(claims), io.BytesIO(settlements), dip, counts
    ):
        result = assess(dip_case, dip_version)
        cases.append(case_record(result))
        if dip_case.discharge_date.year == year:
            year_tally.add(result)
        if dip_case.discharge_date.isoformat()[:7] == period:
            month_tally.add(result)
    budgets = {region: policy.years for region, policy in dip.regions.items()}
    years, _ = year_records(year_tally, year, budgets, list(dip.regions))
    months, _ = month_records(month_tally, period, budgets)
    return cases, years, months
