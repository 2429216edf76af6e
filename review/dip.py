"""DIP figures for the review app: a hospital's year and months, each area's summary.

Computed from the review database's settled in-patient claims with the pure
``dip/`` core, the functions ``yibao dip year`` and ``yibao dip month`` use
(grouping and points: ``dip.cases.assess``; clearing: ``dip.clearing.clear_area``),
plus what a supervisor reads beside them: case-mix index, deviation shares,
the special-review share against its cap, budget use. No HTTP here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from dip.cases import EXCLUDED, HIGH, LOW, UNASSIGNED, CaseResult, DipCase, assess
from dip.clearing import AreaYear, HospitalTally, PeriodTally, clear_area
from dip.numbers import FOUR, format_fen, format_four, round_half_up
from dip.policy import BudgetYear, DipBook
from review.i18n import N_, Msg
from review.models import Claim, Settlement

#: Special review (特例单议) may cover at most 5% of an area's cases (医保办发〔2024〕9号).
SPECIAL_REVIEW_CAP = 500  # ten-thousandths
CACHE_SECONDS = 60.0


@dataclass(slots=True)
class Mix:
    """Counts of grouped cases by kind of deviation, and their group scores."""

    grouped: int = 0
    score_sum: int = 0  # group scores, ten-thousandths
    low: int = 0
    high: int = 0
    special_review: int = 0

    def add(self, result: CaseResult) -> None:
        assert result.group is not None
        self.grouped += 1
        self.score_sum += result.group.score
        self.low += result.deviation == LOW
        self.high += result.deviation == HIGH
        self.special_review += result.special_review

    def figures(self) -> dict[str, str]:
        """Case-mix index and shares, 4 decimals (``"–"`` with no grouped case)."""
        n = self.grouped
        if not n:
            return dict.fromkeys(("cmi", "low", "normal", "high", "special_review"), "–")
        return {
            # A score of 1000 is the area's average case (dip.md section 8).
            "cmi": format_four(round_half_up(self.score_sum, n * 1000)),
            "low": format_four(round_half_up(self.low * FOUR, n)),
            "normal": format_four(round_half_up((n - self.low - self.high) * FOUR, n)),
            "high": format_four(round_half_up(self.high * FOUR, n)),
            "special_review": format_four(round_half_up(self.special_review * FOUR, n)),
        }

    def over_cap(self) -> bool:
        return self.special_review * FOUR > SPECIAL_REVIEW_CAP * self.grouped


@dataclass(slots=True)
class HospitalDip:
    """One hospital's DIP cases of a year, beside the clearing's tally."""

    region: str
    hospital_id: str
    mix: Mix = field(default_factory=Mix)
    excluded: int = 0
    unassigned: int = 0
    months: dict[str, HospitalTally] = field(default_factory=dict)
    month_mix: dict[str, Mix] = field(default_factory=dict)


@dataclass(slots=True)
class DipYear:
    """Every DIP case of one budget year in the review database."""

    year: int
    tally: PeriodTally = field(default_factory=PeriodTally)
    hospitals: dict[tuple[str, str], HospitalDip] = field(default_factory=dict)
    area_mix: dict[str, Mix] = field(default_factory=dict)
    #: settled in-patient records whose claim is not loaded, or lacks a field DIP needs
    unusable: int = 0

    def add(self, result: CaseResult) -> None:
        case = result.case
        self.tally.add(result)
        key = (case.region, case.hospital_id)
        h = self.hospitals.get(key)
        if h is None:
            h = self.hospitals[key] = HospitalDip(case.region, case.hospital_id)
        if result.status == EXCLUDED:
            h.excluded += 1
            return
        if result.status == UNASSIGNED:
            h.unassigned += 1
            return
        h.mix.add(result)
        self.area_mix.setdefault(case.region, Mix()).add(result)
        period = case.discharge_date.isoformat()[:7]
        month = h.months.get(period)
        if month is None:
            month = h.months[period] = HospitalTally(case.hospital_id, case.level)
        month.add(result)
        h.month_mix.setdefault(period, Mix()).add(result)


def dip_years(db: Session) -> list[int]:
    """The years with a settled in-patient claim, newest first."""
    year = func.substr(cast(Settlement.discharge_date, String), 1, 4)
    rows = db.execute(
        select(year)
        .where(Settlement.status == "settled", Settlement.claim_type == "inpatient")
        .where(Settlement.discharge_date.is_not(None))
        .group_by(year)
    ).all()
    return sorted((int(y) for (y,) in rows if y), reverse=True)


def dip_year(db: Session, book: DipBook, year: int) -> DipYear:
    """Group and score every settled in-patient claim discharged in ``year``.

    Claims are taken in discharge-date then claim-id order (the database keeps
    no file order): a hospital's ``level`` is that of its first grouped case
    in this order. Every other figure is a sum and does not depend on it.
    """
    rows = db.execute(
        select(
            Settlement.claim_id,
            Claim.claim_id,
            Claim.hospital_id,
            Claim.hospital_region,
            Claim.hospital_level,
            Claim.admission_date,
            Claim.discharge_date,
            Claim.diagnosis,
            Claim.procedures,
            Settlement.total_fen,
            Settlement.fund_pay_fen,
        )
        .join(Claim, Claim.claim_id == Settlement.claim_id, isouter=True)
        .where(Settlement.status == "settled", Settlement.claim_type == "inpatient")
        .where(Settlement.discharge_date >= date(year, 1, 1))
        .where(Settlement.discharge_date <= date(year, 12, 31))
        .order_by(Settlement.discharge_date, Settlement.claim_id)
    ).all()
    out = DipYear(year)
    for (
        claim_id,
        loaded,
        hospital_id,
        region,
        level,
        admitted,
        discharged,
        diagnosis,
        procedures,
        total,
        fund_pay,
    ) in rows:
        if (
            loaded is None
            or hospital_id is None
            or region is None
            or level is None
            or admitted is None
            or discharged is None
            or diagnosis is None
            or procedures is None
            or total is None
            or fund_pay is None
        ):
            out.unusable += 1
            continue
        version = book.version_for(region, discharged)
        if version is None:  # an area without DIP (or before its first version)
            continue
        case = DipCase(
            claim_id=claim_id,
            hospital_id=hospital_id,
            region=region,
            level=level,
            admission_date=admitted,
            discharge_date=discharged,
            diagnosis=diagnosis,
            procedures=tuple(procedures.split(",")) if procedures else (),
            total_fen=total,
            fund_pay_fen=fund_pay,
        )
        out.add(assess(case, version))
    return out


class DipCache:
    """Each year's DIP figures, recomputed at most once a minute (the follower adds claims)."""

    def __init__(self, seconds: float = CACHE_SECONDS) -> None:
        self.seconds = seconds
        self._years: dict[int, tuple[float, DipYear]] = {}

    def get(self, db: Session, book: DipBook, year: int) -> DipYear:
        now = time.monotonic()
        hit = self._years.get(year)
        if hit is not None and now - hit[0] < self.seconds:
            return hit[1]
        figures = dip_year(db, book, year)
        self._years[year] = (now, figures)
        return figures


def _budget(book: DipBook, region: str, year: int) -> BudgetYear | None:
    policy = book.regions.get(region)
    return policy.years.get(year) if policy is not None else None


def _cleared(dy: DipYear, book: DipBook, region: str) -> AreaYear | None:
    area = dy.tally.areas.get(region)
    budget = _budget(book, region, dy.year)
    if area is None or budget is None or not area.hospitals:
        return None
    return clear_area(area, dy.year, budget)


def hospital_page(dy: DipYear, book: DipBook, region: str, hospital_id: str) -> dict[str, Any]:
    """What the hospital's DIP page shows for one area and year, numbers as text."""
    h = dy.hospitals.get((region, hospital_id))
    mix = h.mix if h is not None else Mix()
    area_mix = dy.area_mix.get(region, Mix())
    budget = _budget(book, region, dy.year)
    cleared = _cleared(dy, book, region)
    year_row = None
    if cleared is not None:
        year_row = next((x for x in cleared.hospitals if x.hospital_id == hospital_id), None)
    clearing = None
    if cleared is not None and year_row is not None:
        clearing = {
            "level": year_row.level,
            "cases": year_row.cases,
            "points": format_four(year_row.points),
            "patient_borne": format_fen(year_row.patient_borne),
            "item_fund": format_fen(year_row.item_fund),
            "entitlement": format_fen(year_row.entitlement),
            "against_items": format_fen(year_row.entitlement - year_row.item_fund),
            "compensation": format_fen(year_row.compensation),
            "surplus": format_fen(year_row.surplus),
            "annual": format_fen(year_row.annual),
            "advances": format_fen(year_row.advances),
            "balance": format_fen(year_row.balance),
            "point_value": format_four(cleared.point_value),
        }
    months = []
    if h is not None:
        for period in sorted(h.months):
            t = h.months[period]
            advance = (
                format_fen(round_half_up(t.item_fund_fen * budget.advance_rate, FOUR))
                if budget is not None
                else "–"
            )
            months.append(
                {
                    "period": period,
                    "cases": t.cases,
                    "points": format_four(t.points),
                    "item_fund": format_fen(t.item_fund_fen),
                    "advance": advance,
                    **h.month_mix[period].figures(),
                }
            )
    return {
        "region": region,
        "hospital_id": hospital_id,
        "year": dy.year,
        "grouped": mix.grouped,
        "excluded": h.excluded if h is not None else 0,
        "unassigned": h.unassigned if h is not None else 0,
        "mix": mix.figures(),
        "area_mix": area_mix.figures(),
        "special_review_cases": mix.special_review,
        "over_cap": mix.over_cap(),
        "cap": format_four(SPECIAL_REVIEW_CAP),
        "has_budget": budget is not None,
        "clearing": clearing,
        "months": months,
    }


def area_summaries(dy: DipYear, book: DipBook) -> list[dict[str, Any]]:
    """Each DIP area's year: the clearing summary, budget use, reserve and its hospitals."""
    out = []
    for region in sorted(book.regions):
        area = dy.tally.areas.get(region)
        budget = _budget(book, region, dy.year)
        summary: dict[str, Any] = {"region": region, "name": book.regions[region].name}
        if budget is None:
            summary["left_out"] = Msg(N_("its DIP policy has no budget for {year}"), year=dy.year)
        elif area is None or not area.hospitals:
            summary["left_out"] = Msg(N_("no grouped case discharged in {year}"), year=dy.year)
        cleared = _cleared(dy, book, region) if "left_out" not in summary else None
        if cleared is None:
            summary.setdefault("left_out", Msg(N_("the points of {year} total 0"), year=dy.year))
            out.append(summary)
            continue
        assert budget is not None
        item_fund = sum(h.item_fund for h in cleared.hospitals)
        advances = sum(h.advances for h in cleared.hospitals)
        mix = dy.area_mix.get(region, Mix())
        summary.update(
            {
                "budget": format_fen(cleared.budget),
                "reserve": format_fen(cleared.reserve),
                "distributable": format_fen(cleared.distributable),
                "cases": cleared.cases,
                "points": format_four(cleared.points),
                "point_value": format_four(cleared.point_value),
                "patient_borne": format_fen(cleared.patient_borne),
                "compensation": format_fen(cleared.compensation),
                "reserve_left": format_fen(cleared.reserve_left),
                "excluded": cleared.excluded,
                "unassigned": cleared.unassigned,
                "special_review_share": format_four(cleared.special_review_share),
                "over_cap": cleared.special_review_share > SPECIAL_REVIEW_CAP,
                "cmi": mix.figures()["cmi"],
                "item_fund": format_fen(item_fund),
                "advances": format_fen(advances),
                "annual": format_fen(sum(h.annual for h in cleared.hospitals)),
                # budget use: the items' fund liability and the advances against the budget
                "item_fund_use": format_four(round_half_up(item_fund * FOUR, cleared.budget)),
                "advance_use": format_four(round_half_up(advances * FOUR, cleared.budget)),
                "hospitals": [
                    {
                        "hospital_id": h.hospital_id,
                        "level": h.level,
                        "cases": h.cases,
                        "points": format_four(h.points),
                        "cmi": dy.hospitals[(region, h.hospital_id)].mix.figures()["cmi"],
                        "item_fund": format_fen(h.item_fund),
                        "entitlement": format_fen(h.entitlement),
                        "against_items": format_fen(h.entitlement - h.item_fund),
                        "compensation": format_fen(h.compensation),
                        "annual": format_fen(h.annual),
                        "advances": format_fen(h.advances),
                        "balance": format_fen(h.balance),
                    }
                    for h in cleared.hospitals
                ],
            }
        )
        out.append(summary)
    return out
