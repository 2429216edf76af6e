"""The claim page: items, settlement breakdown, score and reasons, patient history, peers."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from review.deps import DB, CurrentUser
from review.i18n import N_, translator
from review.models import (
    REVIEW_READMISSION_WINDOW_DAYS,
    Claim,
    ClaimVersion,
    Decision,
    Hospital,
    Settlement,
    User,
)
from review.peers import peer_charts
from review.routers.casefiles import case_file_context
from review.rule_hits import at_stake_once_per_line, claim_hits
from review.services.decisions import FRAUD_TYPES, can_decide, undecidable_reason
from review.templating import render, rule_names

router = APIRouter(tags=["claims"])
log = logging.getLogger(__name__)


#: 离院方式 (dip.md section 1); an absent field means 1.
DISCHARGE_WAYS = {
    1: N_("1 · on medical advice"),
    2: N_("2 · transferred to a hospital"),
    3: N_("3 · transferred to community care"),
    4: N_("4 · against medical advice"),
    5: N_("5 · died"),
    9: N_("9 · other"),
}


def policy_book(request: Request) -> Any:
    """The policies for explanations, loaded once per app on first use."""
    state = request.app.state
    if state.policy_book is None:
        from settlement.policy_loader import load_policy_dir

        state.policy_book = load_policy_dir(state.settings.policies_dir)
    return state.policy_book


def breakdown(
    request: Request, db: Session, record: dict[str, Any], claim: Claim, body: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The settlement steps with rule, parameter, policy version and source behind each amount.

    With the claim body loaded, every step is retraced (``settlement.explain``)
    against the person's year totals before this claim, summed from the
    person's earlier settled claims of the same discharge year in this DB
    (:func:`earlier_claims`). Returns the steps and those totals (None when
    only the record is known).
    """
    if record.get("status") not in ("settled", "duplicate"):
        return [], None
    from settlement.explain import claim_from_body, explain_settlement, year_totals_from_records

    try:
        book = policy_book(request)
        parsed = claim_from_body(body, book) if body else None
        if parsed is None:
            steps = explain_settlement(
                record, book, scheme=claim.scheme, level=claim.hospital_level
            )
            return steps, None
        earlier = earlier_claims(db, claim, record)
        before = year_totals_from_records(
            ((rec, claim_from_body(obj, book)) for rec, obj in earlier), book
        )
        steps = explain_settlement(record, book, claim=parsed, before=before)
    except (KeyError, ValueError, TypeError) as exc:
        log.warning("claim %s: no explanation (%s)", claim.claim_id, type(exc).__name__)
        return [], None
    if record.get("claim_type") == "ltc":
        return steps, None
    totals = before.totals
    return steps, {
        "year": str(record.get("discharge_date", ""))[:4],
        "claims": before.claims,
        "fund_paid": before.fund_paid,
        "admissions": totals.admissions,
        "deductibles": totals.deductibles,
        "ci_base": totals.ci_base,
        "ci_paid": totals.ci_paid,
        "ma_base": totals.ma_base,
        "ma_paid": totals.ma_paid,
    }


def earlier_claims(
    db: Session, claim: Claim, record: dict[str, Any]
) -> list[tuple[dict[str, Any], Any]]:
    """The person's settled claims of the same discharge year settled before this one.

    Settlement order is taken as (settled_at, submitted_at, claim_id): the
    stream's message time, or the load time of a settlements file and then
    the submission time within one file. A settlement record whose claim is
    not loaded cannot be linked to the person and is not counted.
    """
    try:
        year = int(str(record.get("discharge_date", ""))[:4])
    except ValueError:
        return []
    if not claim.person_key:
        return []
    rows = db.execute(
        select(
            Settlement.claim_id,
            Settlement.record_json,
            Settlement.settled_at,
            Claim.submitted_at,
            Claim.claim_json,
        )
        .join(Claim, Claim.claim_id == Settlement.claim_id)
        .where(
            Claim.person_key == claim.person_key,
            Settlement.status == "settled",
            Settlement.discharge_date >= date(year, 1, 1),
            Settlement.discharge_date <= date(year, 12, 31),
        )
    ).all()

    def order(row: Any) -> tuple[datetime, datetime, str]:
        return (row.settled_at or datetime.min, row.submitted_at or datetime.min, row.claim_id)

    this = next((row for row in rows if row.claim_id == claim.claim_id), None)
    if this is None:
        return []
    mine = order(this)
    earlier = sorted((row for row in rows if order(row) < mine), key=order)
    return [
        (json.loads(row.record_json), json.loads(row.claim_json) if row.claim_json else None)
        for row in earlier
    ]


def patient_history(db: Session, claim: Claim) -> Sequence[Any]:
    """The patient's 12 latest other claims, newest first (none without a person key)."""
    if not claim.person_key:
        return []
    return db.execute(
        select(
            Claim.claim_id,
            Claim.claim_type,
            Claim.admission_date,
            Claim.discharge_date,
            Claim.hospital_id,
            Claim.diagnosis,
            Claim.total_fen,
            Claim.fraud_score,
            Claim.scored,
            Claim.flagged,
            Claim.status,
            Claim.readmission,
        )
        .where(Claim.person_key == claim.person_key, Claim.claim_id != claim.claim_id)
        .order_by(Claim.admission_date.desc())
        .limit(12)
    ).all()


def claim_versions(db: Session, claim_id: str) -> list[dict[str, Any]]:
    """Every version received of a claim id (resubmissions), oldest first."""
    return [
        {
            "version": v.version,
            "received_at": v.received_at,
            "total_fen": v.total_fen,
            "status": v.settlement_status,
            "errors": (json.loads(v.record_json).get("errors") or []) if v.record_json else [],
            "items": len((json.loads(v.claim_json) if v.claim_json else {}).get("items") or []),
        }
        for v in db.scalars(
            select(ClaimVersion)
            .where(ClaimVersion.claim_id == claim_id)
            .order_by(ClaimVersion.version)
        )
    ]


@router.get("/claims/{claim_id}")
def claim_page(request: Request, db: DB, user: CurrentUser, claim_id: str) -> Response:
    claim = db.get(Claim, claim_id)
    if claim is None:
        raise HTTPException(status_code=404, detail=N_("no such claim"))
    body = json.loads(claim.claim_json) if claim.claim_json else {}
    score = json.loads(claim.score_json) if claim.score_json else {}
    settlement = db.get(Settlement, claim_id)
    record = json.loads(settlement.record_json) if settlement else {}
    steps, before = breakdown(request, db, record, claim, body)
    history = patient_history(db, claim)
    decisions = db.scalars(
        select(Decision).where(Decision.claim_id == claim_id).order_by(Decision.id)
    ).all()
    versions = claim_versions(db, claim_id)
    reason = undecidable_reason(db, claim_id)
    hits = claim_hits(db, claim_id, rule_names(request))
    hospital = db.get(Hospital, claim.hospital_id) if claim.hospital_id else None
    assignee = db.get(User, claim.assigned_to) if claim.assigned_to else None
    return render(
        request,
        "claim.html",
        user,
        claim=claim,
        body=body,
        score=score,
        record=record,
        steps=steps,
        before=before,
        history=history,
        decisions=decisions,
        hospital=hospital,
        assignee=assignee,
        charts=peer_charts(
            db,
            claim.hospital_id,
            claim.hospital_level,
            request.app.state.peer_cache,
            translator(request),
        ),
        fraud_types=FRAUD_TYPES,
        discharge_ways=DISCHARGE_WAYS,
        readmission_days=REVIEW_READMISSION_WINDOW_DAYS,
        versions=versions,
        audit_hits=hits,
        at_stake_total=at_stake_once_per_line(hits),
        undecidable=reason,
        can_decide=can_decide(user, claim, reason),
        **case_file_context(request, db, user, claim),
    )
