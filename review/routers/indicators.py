"""Monitoring indicators for supervisors and the bureau, with CSV downloads."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.orm import Session

from review import indicators as ind
from review.charts import bar_chart, line_chart, plausible_months
from review.deps import DB, require_roles
from review.i18n import N_, translator
from review.models import Claim, Settlement, User
from review.peers import month_of
from review.templating import render

router = APIRouter(tags=["indicators"])

Viewer = Depends(require_roles("supervisor", "data_scientist"))


GROUP_COLUMNS = {
    "scheme": Claim.scheme,
    "claim_type": Settlement.claim_type,
    "hospital_level": Claim.hospital_level,
}


def rates(db: Session, by: str) -> list[dict[str, Any]]:
    """Effective rates grouped in SQL: one row per group, not per claim."""
    key = GROUP_COLUMNS[by]
    rows = db.execute(
        select(
            key,
            func.count(),
            func.sum(Settlement.total_fen),
            func.sum(Settlement.fund_pay_fen),
            # Float: total x ratio summed over many claims could pass BIGINT.
            func.sum(cast(Settlement.total_fen, Float) * Settlement.ratio),
        )
        .join(Claim, Claim.claim_id == Settlement.claim_id, isouter=True)
        .where(Settlement.status == "settled")
        .group_by(key)
    ).all()
    return ind.effective_rates(
        (
            {
                by: k if k is not None else "?",
                "claims": n,
                "total_fen": total or 0,
                "fund_pay_fen": fund or 0,
                "weighted": weighted or 0,
            }
            for k, n, total, fund, weighted in rows
        ),
        by,
    )


def delays(db: Session) -> list[dict[str, Any]]:
    month = month_of(Settlement.discharge_date)
    rows = db.execute(
        select(month, Claim.submitted_at, Settlement.settled_at)
        .join(Claim, Claim.claim_id == Settlement.claim_id)
        .where(Settlement.status == "settled")
    ).all()
    return ind.settlement_delays(rows)


def fund(db: Session) -> list[dict[str, Any]]:
    month = month_of(Settlement.discharge_date)
    rows = db.execute(
        select(Settlement.insured_region, month, func.count(), func.sum(Settlement.fund_pay_fen))
        .where(Settlement.status == "settled")
        .group_by(Settlement.insured_region, month)
    ).all()
    return ind.fund_by_region_month(rows)


def clearing(db: Session) -> list[dict[str, Any]]:
    """Clearing balances per month, by the settlement core's ``clear_period``."""
    from settlement.clearing import clear_period

    rows = db.execute(
        select(
            Settlement.claim_id,
            Settlement.discharge_date,
            Settlement.insured_region,
            Settlement.treatment_region,
            Settlement.fund_pay_fen,
        ).where(Settlement.status == "settled", Settlement.intercity.is_(True))
    ).all()
    # The record fields clearing reads, rebuilt from columns (no JSON parsing),
    # and grouped by month so each period only sees its own records.
    by_month: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for claim_id, day, debtor, creditor, fund in rows:
        if day is None:
            continue
        by_month[day.isoformat()[:7]].append(
            {
                "claim_id": claim_id,
                "status": "settled",
                "intercity": True,
                "discharge_date": day.isoformat(),
                "insured_region": debtor or ind.UNKNOWN_REGION,
                "treatment_region": creditor or ind.UNKNOWN_REGION,
                "fund_pay": ind.fen_text(fund or 0),
            }
        )
    return [row for month in sorted(by_month) for row in clear_period(by_month[month], month)]


def flags(db: Session) -> list[dict[str, Any]]:
    month = month_of(Claim.discharge_date)
    decided = case(
        (Claim.flagged.is_(True) & Claim.status.in_(("confirmed", "cleared")), 1), else_=0
    )
    confirmed = case((Claim.flagged.is_(True) & (Claim.status == "confirmed"), 1), else_=0)
    rows = db.execute(
        select(
            month,
            func.count(),
            func.sum(case((Claim.flagged.is_(True), 1), else_=0)),
            func.sum(decided),
            func.sum(confirmed),
        )
        .where(Claim.discharge_date.is_not(None))
        .group_by(month)
    ).all()
    return ind.flag_rates(rows)


def recoveries(db: Session) -> list[dict[str, Any]]:
    """Amounts recovered (追回金额) by the month of the confirming decision (UTC)."""
    month = month_of(Claim.decided_at)
    rows = db.execute(
        select(month, func.count(), func.sum(Claim.recovered_fen))
        .where(
            Claim.status == "confirmed",
            Claim.recovered_fen > 0,
            Claim.decided_at.is_not(None),
        )
        .group_by(month)
    ).all()
    return ind.recoveries_by_month(rows)


TABLES: dict[str, tuple[str, Callable[[Session], list[dict[str, Any]]]]] = {
    "rate_by_scheme": (
        N_("Effective reimbursement rate by scheme"),
        lambda db: rates(db, "scheme"),
    ),
    "rate_by_claim_type": (
        N_("Effective reimbursement rate by claim type"),
        lambda db: rates(db, "claim_type"),
    ),
    "rate_by_level": (
        N_("Effective reimbursement rate by hospital level"),
        lambda db: rates(db, "hospital_level"),
    ),
    "delay": (N_("Settlement delay, submitted to settled (hours)"), delays),
    "fund_by_region_month": (N_("Fund paid by insured region and month (yuan)"), fund),
    "clearing": (N_("Inter-city clearing balances"), clearing),
    "flags": (N_("Flag and confirmation rates by month"), flags),
    "recoveries": (N_("Amounts recovered by month of the decision (yuan)"), recoveries),
}


def _charts(
    tables: dict[str, list[dict[str, Any]]], _: Callable[[str], str] = str
) -> dict[str, Any]:
    """The indicators' charts, their titles and legends translated by ``_``."""
    charts: dict[str, Any] = {}
    for name, key in (
        ("rate_by_scheme", "scheme"),
        ("rate_by_claim_type", "claim_type"),
        ("rate_by_level", "hospital_level"),
    ):
        rows = tables[name]
        charts[name] = bar_chart(
            [f"{r[key]}" for r in rows],
            [float(r["effective_rate"] or 0) * 100 for r in rows],
            _("fund paid / total (%)"),
        )
    # Charts leave off the sparse months at the ends (corrupt dates); tables and
    # CSV downloads keep every month.
    per_month: dict[str, int] = defaultdict(int)
    for r in tables["fund_by_region_month"]:
        per_month[r["month"]] += int(r["claims"])
    for r in tables["flags"]:
        per_month[r["month"]] = max(per_month[r["month"]], int(r["claims"]))
    shown = plausible_months(per_month)
    months = sorted({r["month"] for r in tables["fund_by_region_month"]} & shown)
    regions = sorted({r["region"] for r in tables["fund_by_region_month"]})
    paid = {
        (r["region"], r["month"]): float(r["fund_pay"]) / 10000
        for r in tables["fund_by_region_month"]
    }
    charts["fund_by_region_month"] = line_chart(
        months,
        {reg: [paid.get((reg, m)) for m in months] for reg in regions[:6]},
        _("Fund paid (10,000 yuan) by month"),
    )
    delay = [r for r in tables["delay"] if r["month"] in shown]
    charts["delay"] = line_chart(
        [r["month"] for r in delay],
        {
            _("median"): [float(r["median_hours"]) for r in delay],
            _("p90"): [float(r["p90_hours"]) for r in delay],
        },
        _("Settlement delay (hours)"),
    )
    flag_rows = [r for r in tables["flags"] if r["month"] in shown]
    charts["flags"] = line_chart(
        [r["month"] for r in flag_rows],
        {
            _("flag rate"): [float(r["flag_rate"] or 0) * 100 for r in flag_rows],
            _("confirmation rate"): [float(r["confirmation_rate"] or 0) * 100 for r in flag_rows],
        },
        _("Flag and confirmation rates (%)"),
    )
    return charts


CACHE_TTL_S = 300.0


def cached_tables(
    request: Request, db: Session, fresh: bool = False
) -> tuple[float, dict[str, list[dict[str, Any]]]]:
    """Every indicator table, recomputed at most every five minutes (or on demand).

    Monitoring figures over every settled claim take seconds to compute on a
    large database; the queue and the decisions never wait for them.
    """
    state = request.app.state
    cached = getattr(state, "indicator_tables", None)
    now = time.time()
    if fresh or cached is None or now - cached[0] > CACHE_TTL_S:
        cached = (now, {name: compute(db) for name, (_, compute) in TABLES.items()})
        state.indicator_tables = cached
    return cached


@router.get("/indicators")
def indicators_page(request: Request, db: DB, user: User = Viewer, fresh: bool = False) -> Response:
    computed_at, tables = cached_tables(request, db, fresh)
    _ = translator(request)
    return render(
        request,
        "indicators.html",
        user,
        tables=tables,
        titles={k: _(v[0]) for k, v in TABLES.items()},
        charts=_charts(tables, _),
        computed_at=datetime.fromtimestamp(computed_at, UTC).replace(tzinfo=None),
    )


@router.get("/indicators/{name}.csv")
def indicator_csv(
    request: Request, name: str, db: DB, user: User = Viewer, fresh: bool = False
) -> Response:
    if name not in TABLES:
        raise HTTPException(status_code=404, detail=N_("no such indicator"))
    _, tables = cached_tables(request, db, fresh)
    return Response(
        ind.to_csv(tables[name]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
