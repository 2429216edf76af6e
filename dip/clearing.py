"""Year-end clearing (年终清算) and monthly advances (月度预拨), spec sections 6 and 7.

:class:`YearTally` folds the grouped, excluded and unassigned cases of one
budget year per pooling area and hospital; :func:`clear_area` divides the
area's budget: point value, entitlements rounded by largest remainder,
overspend sharing from the reserve, surplus, annual amounts, advances and
balances. :class:`MonthTally` gives one month's records. All money is
integer fen, points integer ten-thousandths; exact fractions stay integer
numerators over a common denominator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dip.cases import EXCLUDED, GROUPED, UNASSIGNED, CaseResult
from dip.numbers import FOUR, format_fen, format_four, round_half_up
from dip.policy import BudgetYear


@dataclass(slots=True)
class HospitalTally:
    """One hospital's grouped cases in one area and year (or month)."""

    hospital_id: str
    level: int  # the level of its first grouped case, in input order
    cases: int = 0
    points: int = 0  # ten-thousandths
    patient_borne_fen: int = 0  # S_H: sum of total - fund_pay
    item_fund_fen: int = 0  # F_H: sum of fund_pay
    special_review: int = 0
    fund_by_month: dict[int, int] = field(default_factory=dict)  # month -> F_H,m

    def add(self, result: CaseResult) -> None:
        case = result.case
        self.cases += 1
        self.points += result.points
        self.patient_borne_fen += case.total_fen - case.fund_pay_fen
        self.item_fund_fen += case.fund_pay_fen
        self.special_review += result.special_review
        month = case.discharge_date.month
        self.fund_by_month[month] = self.fund_by_month.get(month, 0) + case.fund_pay_fen


@dataclass(slots=True)
class AreaTally:
    """One pooling area's DIP cases of one period."""

    region: str
    hospitals: dict[str, HospitalTally] = field(default_factory=dict)
    excluded: int = 0
    unassigned: int = 0

    def add(self, result: CaseResult) -> None:
        if result.status == GROUPED:
            case = result.case
            hospital = self.hospitals.get(case.hospital_id)
            if hospital is None:
                hospital = self.hospitals[case.hospital_id] = HospitalTally(
                    case.hospital_id, case.level
                )
            hospital.add(result)
        elif result.status == EXCLUDED:
            self.excluded += 1
        elif result.status == UNASSIGNED:
            self.unassigned += 1

    @property
    def cases(self) -> int:
        return sum(h.cases for h in self.hospitals.values())

    @property
    def points(self) -> int:
        return sum(h.points for h in self.hospitals.values())


@dataclass(slots=True)
class PeriodTally:
    """The DIP cases of one period (a budget year or a month), by pooling area."""

    areas: dict[str, AreaTally] = field(default_factory=dict)

    def add(self, result: CaseResult) -> None:
        region = result.case.region
        area = self.areas.get(region)
        if area is None:
            area = self.areas[region] = AreaTally(region)
        area.add(result)

    def add_totals(
        self, region: str, hospital_id: str, cases: int, points: int, item_fund_fen: int
    ) -> None:
        """Fold a hospital's totals summed elsewhere (the stream's shards) into the month.

        Such totals carry no level (month records do not show it; 0 here).
        """
        area = self.areas.get(region)
        if area is None:
            area = self.areas[region] = AreaTally(region)
        h = area.hospitals.get(hospital_id)
        if h is None:
            h = area.hospitals[hospital_id] = HospitalTally(hospital_id, 0)
        h.cases += cases
        h.points += points
        h.item_fund_fen += item_fund_fen


@dataclass(frozen=True, slots=True)
class HospitalYear:
    """A hospital's year-end figures (section 7's hospital-year record), money in fen."""

    hospital_id: str
    level: int
    cases: int
    points: int
    patient_borne: int
    item_fund: int
    entitlement: int
    compensation: int
    surplus: int
    annual: int
    advances: int
    balance: int


@dataclass(frozen=True, slots=True)
class AreaYear:
    """An area's year-end clearing: its summary figures and its hospitals in id order."""

    region: str
    year: int
    budget: int
    reserve: int
    distributable: int
    cases: int
    points: int
    point_value: int  # yuan per point, ten-thousandths, rounded
    patient_borne: int
    compensation: int
    reserve_left: int
    excluded: int
    unassigned: int
    special_review_share: int  # ten-thousandths, rounded
    hospitals: list[HospitalYear]


def largest_remainder(numerators: dict[str, int], denominator: int, total: int) -> dict[str, int]:
    """Round ``numerator / denominator`` of each key to integers summing to ``total``.

    Each value is floored; the units still missing go one each to the keys with
    the largest remainders, ties by key ascending (spec section 6, step 4).

    Args:
        numerators: exact values times ``denominator``; they sum to ``total x denominator``.
        denominator: positive.
        total: the sum the rounded values must reach.
    """
    rounded = {key: value // denominator for key, value in numerators.items()}
    missing = total - sum(rounded.values())
    if not 0 <= missing <= len(rounded):
        raise ValueError(f"largest remainder: {missing} units to give to {len(rounded)} keys")
    by_remainder = sorted(numerators, key=lambda key: (-(numerators[key] % denominator), key))
    for key in by_remainder[:missing]:
        rounded[key] += 1
    return rounded


def clear_area(area: AreaTally, year: int, budget: BudgetYear) -> AreaYear | None:
    """Year-end clearing of one area (section 6) with advances and balances (section 7).

    Returns:
        The clearing, or None when the area has no grouped case or its points total 0
        (the caller says so on stderr).
    """
    hospitals = sorted(area.hospitals.values(), key=lambda h: h.hospital_id)
    total_points = sum(h.points for h in hospitals)
    if not hospitals or total_points == 0:
        return None
    b = budget.budget_fen
    reserve = round_half_up(b * budget.reserve_rate, FOUR)
    distributable = b - reserve
    patient_borne = sum(h.patient_borne_fen for h in hospitals)
    pool = distributable + patient_borne  # D + S, fen
    # E_H = P_H x (D + S) / P - S_H, in fen: numerator over the denominator P.
    entitlement = largest_remainder(
        {h.hospital_id: h.points * pool - h.patient_borne_fen * total_points for h in hospitals},
        total_points,
        distributable,
    )
    # c_H = min(loss_H, band x F_H) x rate, as numerators over 10^8.
    claims = {
        h.hospital_id: min(
            max(0, h.item_fund_fen - entitlement[h.hospital_id]) * FOUR,
            budget.share_band * h.item_fund_fen,
        )
        * budget.share_rate
        for h in hospitals
    }
    claimed = sum(claims.values())
    paid_out = min(reserve, claimed // (FOUR * FOUR))
    if claimed:
        compensation = largest_remainder(
            {key: paid_out * value for key, value in claims.items()}, claimed, paid_out
        )
    else:
        compensation = dict.fromkeys(claims, 0)
    results = [
        _hospital_year(h, entitlement[h.hospital_id], compensation[h.hospital_id], budget)
        for h in hospitals
    ]
    special = sum(h.special_review for h in hospitals)
    cases = sum(h.cases for h in hospitals)
    return AreaYear(
        region=area.region,
        year=year,
        budget=b,
        reserve=reserve,
        distributable=distributable,
        cases=cases,
        points=total_points,
        # pv = (D + S) / P yuan a point: fen / 100 over points / 10^4.
        point_value=round_half_up(pool * 100 * FOUR, total_points),
        patient_borne=patient_borne,
        compensation=paid_out,
        reserve_left=reserve - paid_out,
        excluded=area.excluded,
        unassigned=area.unassigned,
        special_review_share=round_half_up(special * FOUR, cases),
        hospitals=results,
    )


def _hospital_year(
    h: HospitalTally, entitlement: int, compensation: int, budget: BudgetYear
) -> HospitalYear:
    """One hospital's year-end figures, with its monthly advances (sections 6 and 7)."""
    advances = sum(
        round_half_up(fund * budget.advance_rate, FOUR) for fund in h.fund_by_month.values()
    )
    annual = entitlement + compensation
    return HospitalYear(
        hospital_id=h.hospital_id,
        level=h.level,
        cases=h.cases,
        points=h.points,
        patient_borne=h.patient_borne_fen,
        item_fund=h.item_fund_fen,
        entitlement=entitlement,
        compensation=compensation,
        surplus=max(0, entitlement - h.item_fund_fen),
        annual=annual,
        advances=advances,
        balance=annual - advances,
    )


def hospital_record(region: str, year: int, h: HospitalYear) -> dict[str, Any]:
    """The hospital-year record of section 7."""
    return {
        "record": "hospital",
        "region": region,
        "year": year,
        "hospital_id": h.hospital_id,
        "level": h.level,
        "cases": h.cases,
        "points": format_four(h.points),
        "patient_borne": format_fen(h.patient_borne),
        "item_fund": format_fen(h.item_fund),
        "entitlement": format_fen(h.entitlement),
        "compensation": format_fen(h.compensation),
        "surplus": format_fen(h.surplus),
        "annual": format_fen(h.annual),
        "advances": format_fen(h.advances),
        "balance": format_fen(h.balance),
    }


def region_record(a: AreaYear) -> dict[str, Any]:
    """The region-year summary of section 7."""
    return {
        "record": "region",
        "region": a.region,
        "year": a.year,
        "budget": format_fen(a.budget),
        "reserve": format_fen(a.reserve),
        "distributable": format_fen(a.distributable),
        "cases": a.cases,
        "points": format_four(a.points),
        "point_value": format_four(a.point_value),
        "patient_borne": format_fen(a.patient_borne),
        "compensation": format_fen(a.compensation),
        "reserve_left": format_fen(a.reserve_left),
        "excluded": a.excluded,
        "unassigned": a.unassigned,
        "special_review_share": format_four(a.special_review_share),
    }


def year_records(
    tally: PeriodTally, year: int, budgets: dict[str, dict[int, BudgetYear]], regions: list[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every area's hospital-year records then its summary, areas in code order.

    Args:
        tally: the year's cases by area.
        year: the budget year.
        budgets: each DIP area's ``years`` table.
        regions: the DIP areas to clear (each is reported, cleared or left out).

    Returns:
        The records, and the warnings for areas left out (no budget, no case, no points).
    """
    records: list[dict[str, Any]] = []
    warnings: list[str] = []
    for region in sorted(regions):
        area = tally.areas.get(region, AreaTally(region))
        budget = budgets.get(region, {}).get(year)
        if budget is None:
            warnings.append(f"area {region}: no years entry for {year} in its DIP policy; left out")
            continue
        if not area.hospitals:
            warnings.append(f"area {region}: no grouped case discharged in {year}; left out")
            continue
        cleared = clear_area(area, year, budget)
        if cleared is None:
            warnings.append(f"area {region}: the points of {year} total 0; left out")
            continue
        records.extend(hospital_record(region, year, h) for h in cleared.hospitals)
        records.append(region_record(cleared))
    return records, warnings


def month_records(
    tally: PeriodTally,
    period: str,
    budgets: dict[str, dict[int, BudgetYear]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """The month records of ``period`` (``YYYY-MM``): one per hospital with a grouped case.

    An area whose DIP policy has no ``years`` entry for the period's year has
    no advance rate and is left out with a warning.
    """
    year = int(period[:4])
    records: list[dict[str, Any]] = []
    warnings: list[str] = []
    for region in sorted(tally.areas):
        area = tally.areas[region]
        if not area.hospitals:
            continue
        budget = budgets.get(region, {}).get(year)
        if budget is None:
            warnings.append(f"area {region}: no years entry for {year} in its DIP policy; left out")
            continue
        for hospital_id in sorted(area.hospitals):
            h = area.hospitals[hospital_id]
            records.append(
                {
                    "region": region,
                    "period": period,
                    "hospital_id": hospital_id,
                    "cases": h.cases,
                    "points": format_four(h.points),
                    "item_fund": format_fen(h.item_fund_fen),
                    "advance": format_fen(
                        round_half_up(h.item_fund_fen * budget.advance_rate, FOUR)
                    ),
                }
            )
    return records, warnings


def months_records(
    tallies: dict[str, PeriodTally], budgets: dict[str, dict[int, BudgetYear]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """:func:`month_records` of several months (``YYYY-MM`` -> tally), months in order."""
    records: list[dict[str, Any]] = []
    warnings: list[str] = []
    for month in sorted(tallies):
        got, warned = month_records(tallies[month], month, budgets)
        records.extend(got)
        warnings.extend(warned)
    return records, warnings
