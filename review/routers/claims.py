"""The claim page: items, settlement breakdown, score and reasons, patient history, peers."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from review.deps import DB, CurrentUser
from review.models import Claim, Decision, Hospital, Settlement, User
from review.peers import peer_charts
from review.templating import render

router = APIRouter(tags=["claims"])
log = logging.getLogger(__name__)

# The simulator's fraud schemes (simulator.config.FRAUD_SCHEMES), so labels
# exported from decisions use the names training already knows.
FRAUD_TYPES = (
    "decomposed_admission",
    "hanging_bed",
    "upcoding",
    "item_substitution",
    "template_billing",
    "ghost_patient",
    "duplicate_billing",
    "high_coding",
    "low_threshold_admission",
    "other",
)


def policy_book(request: Request) -> Any:
    """The policies for explanations, loaded once per app on first use."""
    state = request.app.state
    if state.policy_book is None:
        from settlement.policy_loader import load_policy_dir

        state.policy_book = load_policy_dir(state.settings.policies_dir)
    return state.policy_book


def breakdown(request: Request, record: dict[str, Any], claim: Claim) -> list[dict[str, Any]]:
    """The settlement steps with rule, parameter and policy version behind each amount."""
    if record.get("status") not in ("settled", "duplicate"):
        return []
    from settlement.explain import explain_settlement

    try:
        return explain_settlement(
            record, policy_book(request), scheme=claim.scheme, level=claim.hospital_level
        )
    except (KeyError, ValueError, TypeError) as exc:
        log.warning("claim %s: no explanation (%s)", claim.claim_id, type(exc).__name__)
        return []


@router.get("/claims/{claim_id}")
def claim_page(request: Request, db: DB, user: CurrentUser, claim_id: str) -> Response:
    claim = db.get(Claim, claim_id)
    if claim is None:
        raise HTTPException(status_code=404, detail="no such claim")
    body = json.loads(claim.claim_json) if claim.claim_json else {}
    score = json.loads(claim.score_json) if claim.score_json else {}
    settlement = db.get(Settlement, claim_id)
    record = json.loads(settlement.record_json) if settlement else {}
    history = []
    if claim.person_key:
        history = db.execute(
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
            .where(Claim.person_key == claim.person_key, Claim.claim_id != claim_id)
            .order_by(Claim.admission_date.desc())
            .limit(12)
        ).all()
    decisions = db.scalars(
        select(Decision).where(Decision.claim_id == claim_id).order_by(Decision.id)
    ).all()
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
        steps=breakdown(request, record, claim),
        history=history,
        decisions=decisions,
        hospital=hospital,
        assignee=assignee,
        charts=peer_charts(
            db, claim.hospital_id, claim.hospital_level, request.app.state.peer_cache
        ),
        fraud_types=FRAUD_TYPES,
        can_decide=user.role == "supervisor"
        or (
            user.role == "clerk"
            and claim.status in ("open", "documents_requested")
            and claim.assigned_to in (None, user.id)
        ),
    )
