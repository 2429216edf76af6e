"""Monitoring indicators for supervisors and the bureau, with CSV downloads."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from review import indicators as ind
from review.charts import bar_chart, line_chart
from review.deps import DB, require_roles
from review.models import Claim, Settlement, User
from review.peers import month_of
from review.templating import render

router = APIRouter(tags=["indicators"])

Viewer = Depends(require_roles("supervisor", "data_scientist"))


def _settled_rows(db: Session) -> list[dict[str, Any]]:
    rows = db.execute(
        select(
            Claim.scheme,
            Settlement.claim_type,
            Claim.hospital_level,
            Settlement.total_fen,
            Settlement.fund_pay_fen,
            Settlement.ratio,
        )
        .join(Claim, Claim.claim_id == Settlement.claim_id, isouter=True)
        .where(Settlement.status == "settled")
    ).all()
    return [
        {
            "scheme": s or "?",
            "claim_type": t or "?",
            "hospital_level": lv or 0,
            "total_fen": tot,
            "fund_pay_fen": fund,
            "ratio": r,
        }
        for s, t, lv, tot, fund, r in rows
    ]


def rates(db: Session, by: str) -> list[dict[str, Any]]:
    return ind.effective_rates(_settled_rows(db), by)


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
    from settlement.clearing import clear_period

    records = [
        json.loads(text)
        for text in db.scalars(
            select(Settlement.record_json).where(
                Settlement.status == "settled", Settlement.intercity.is_(True)
            )
        )
    ]
    periods = sorted({str(r.get("discharge_date", ""))[:7] for r in records} - {""})
    return [row for period in periods for row in clear_period(records, period)]


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
        .where(Claim.scored.is_(True), Claim.discharge_date.is_not(None))
        .group_by(month)
    ).all()
    return ind.flag_rates(rows)


TABLES: dict[str, tuple[str, Callable[[Session], list[dict[str, Any]]]]] = {
    "rate_by_scheme": ("Effective reimbursement rate by scheme", lambda db: rates(db, "scheme")),
    "rate_by_claim_type": (
        "Effective reimbursement rate by claim type",
        lambda db: rates(db, "claim_type"),
    ),
    "rate_by_level": (
        "Effective reimbursement rate by hospital level",
        lambda db: rates(db, "hospital_level"),
    ),
    "delay": ("Settlement delay, submitted to settled (hours)", delays),
    "fund_by_region_month": ("Fund paid by insured region and month (yuan)", fund),
    "clearing": ("Inter-city clearing balances", clearing),
    "flags": ("Flag and confirmation rates by month", flags),
}


def _charts(tables: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
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
            "fund paid / total (%)",
        )
    months = sorted({r["month"] for r in tables["fund_by_region_month"]})
    regions = sorted({r["region"] for r in tables["fund_by_region_month"]})
    paid = {
        (r["region"], r["month"]): float(r["fund_pay"]) / 10000
        for r in tables["fund_by_region_month"]
    }
    charts["fund_by_region_month"] = line_chart(
        months,
        {reg: [paid.get((reg, m)) for m in months] for reg in regions[:6]},
        "Fund paid (10,000 yuan) by month",
    )
    charts["delay"] = line_chart(
        [r["month"] for r in tables["delay"]],
        {
            "median": [float(r["median_hours"]) for r in tables["delay"]],
            "p90": [float(r["p90_hours"]) for r in tables["delay"]],
        },
        "Settlement delay (hours)",
    )
    charts["flags"] = line_chart(
        [r["month"] for r in tables["flags"]],
        {
            "flag rate": [float(r["flag_rate"] or 0) * 100 for r in tables["flags"]],
            "confirmation rate": [
                float(r["confirmation_rate"] or 0) * 100 for r in tables["flags"]
            ],
        },
        "Flag and confirmation rates (%)",
    )
    return charts


@router.get("/indicators")
def indicators_page(request: Request, db: DB, user: User = Viewer) -> Response:
    tables = {name: compute(db) for name, (_, compute) in TABLES.items()}
    return render(
        request,
        "indicators.html",
        user,
        tables=tables,
        titles={k: v[0] for k, v in TABLES.items()},
        charts=_charts(tables),
    )


@router.get("/indicators/{name}.csv")
def indicator_csv(name: str, db: DB, user: User = Viewer) -> Response:
    if name not in TABLES:
        raise HTTPException(status_code=404, detail="no such indicator")
    return Response(
        ind.to_csv(TABLES[name][1](db)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
