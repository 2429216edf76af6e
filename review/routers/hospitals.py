"""Hospitals ranked by risk, and one hospital's page."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from review.charts import line_chart
from review.deps import DB, CurrentUser
from review.i18n import N_, translator
from review.models import Claim, Hospital
from review.peers import month_of, peer_charts, shown_months
from review.routers.cases import hospital_cases_context
from review.rule_hits import hospital_sums
from review.templating import render

router = APIRouter(tags=["hospitals"])
PAGE = 50


@router.get("/hospitals")
def hospitals(
    request: Request, db: DB, user: CurrentUser, page: Annotated[int, Query(ge=1, le=1_000_000)] = 1
) -> Response:
    total = db.scalar(select(func.count()).select_from(Hospital)) or 0
    rows = db.scalars(
        select(Hospital)
        .order_by(Hospital.rank, Hospital.hospital_id)
        .limit(PAGE)
        .offset((page - 1) * PAGE)
    ).all()
    reasons = {h.hospital_id: json.loads(h.top_reasons_json or "[]") for h in rows}
    return render(
        request,
        "hospitals.html",
        user,
        rows=rows,
        reasons=reasons,
        page=page,
        pages=max(1, (total + PAGE - 1) // PAGE),
    )


@router.get("/hospitals/{hospital_id}")
def hospital(request: Request, db: DB, user: CurrentUser, hospital_id: str) -> Response:
    row = db.get(Hospital, hospital_id)
    if row is None:
        raise HTTPException(status_code=404, detail=N_("no such hospital"))
    month = month_of(Claim.discharge_date)
    trend = db.execute(
        select(month, func.avg(Claim.fraud_score), func.count())
        .where(Claim.hospital_id == hospital_id, Claim.scored.is_(True))
        .where(Claim.discharge_date.is_not(None))
        .group_by(month)
        .order_by(month)
    ).all()
    shown = shown_months(db, request.app.state.peer_cache)
    trend = [row for row in trend if row[0] in shown]
    flagged = db.execute(
        select(
            Claim.claim_id,
            Claim.fraud_score,
            Claim.discharge_date,
            Claim.claim_type,
            Claim.total_fen,
            Claim.rule_codes,
            Claim.status,
        )
        .where(Claim.flagged.is_(True), Claim.hospital_id == hospital_id)
        .order_by(Claim.fraud_score.desc(), Claim.claim_id.desc())
        .limit(100)
    ).all()
    total_hospitals = db.scalar(select(func.count()).select_from(Hospital)) or 0
    _ = translator(request)
    return render(
        request,
        "hospital.html",
        user,
        h=row,
        total_hospitals=total_hospitals,
        reasons=json.loads(row.top_reasons_json or "[]"),
        trend_chart=line_chart(
            [m for m, _, _ in trend],
            {_("mean fraud score"): [float(s or 0) for _m, s, _n in trend]},
            _("Risk trend: mean fraud score by month"),
        ),
        flagged=flagged,
        rule_sums=hospital_sums(db, hospital_id),
        charts=peer_charts(db, hospital_id, row.level, request.app.state.peer_cache, _),
        **hospital_cases_context(db, hospital_id),
    )
