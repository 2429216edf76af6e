"""The append-only audit log (supervisors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from review.deps import DB, Supervisor
from review.models import AuditEntry
from review.templating import render
from settlement.idnumber import mask_identity_numbers

router = APIRouter(tags=["audit"])
PAGE = 100


@router.get("/audit")
def audit_log(
    request: Request,
    db: DB,
    user: Supervisor,
    claim_id: str = "",
    who: str = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    claim_id, who = mask_identity_numbers(claim_id), mask_identity_numbers(who)  # echoed back
    query = select(AuditEntry)
    count = select(func.count()).select_from(AuditEntry)
    if claim_id:
        query = query.where(AuditEntry.claim_id == claim_id)
        count = count.where(AuditEntry.claim_id == claim_id)
    if who:
        query = query.where(AuditEntry.user_name == who)
        count = count.where(AuditEntry.user_name == who)
    total = db.scalar(count) or 0
    rows = db.scalars(
        query.order_by(AuditEntry.id.desc()).limit(PAGE).offset((page - 1) * PAGE)
    ).all()
    return render(
        request,
        "audit.html",
        user,
        rows=rows,
        claim_id=claim_id,
        who=who,
        page=page,
        pages=max(1, (total + PAGE - 1) // PAGE),
    )
