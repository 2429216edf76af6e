"""Decisions on a claim: confirm fraud, clear, request documents (note required)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from review import audit
from review.deps import DB, Reviewer
from review.models import ACTIONS, Claim, Decision

router = APIRouter(tags=["decisions"])

FINAL = ("confirmed", "cleared")


@router.post("/claims/{claim_id}/decisions")
def decide(
    request: Request,
    db: DB,
    user: Reviewer,
    claim_id: str,
    action: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
    fraud_type: Annotated[str, Form()] = "",
) -> Response:
    """Record a decision. Clerks decide open claims that are theirs or nobody's;
    changing a final decision is a supervisor's override."""
    claim = db.get(Claim, claim_id)
    if claim is None:
        raise HTTPException(status_code=404, detail="no such claim")
    if action not in ACTIONS:
        raise HTTPException(status_code=400, detail=f"action must be one of {', '.join(ACTIONS)}")
    note = note.strip()
    if not note:
        raise HTTPException(status_code=400, detail="a note is required with every decision")
    override = claim.status in FINAL
    if user.role != "supervisor":
        if override:
            raise HTTPException(status_code=403, detail="only a supervisor can override a decision")
        if claim.assigned_to not in (None, user.id):
            raise HTTPException(status_code=403, detail="the claim is assigned to another clerk")
    fraud_type = fraud_type.strip()[:64] if action == "confirm_fraud" else ""
    decision = Decision(
        claim_id=claim_id,
        action=action,
        fraud_type=fraud_type or None,
        note=note[:4000],
        user_id=user.id,
        user_name=user.name,
        role=user.role,
        override=override,
        created_at=audit.now_utc(),
    )
    db.add(decision)
    claim.status = ACTIONS[action]
    claim.decided_at = decision.created_at
    if claim.assigned_to is None:
        claim.assigned_to = user.id
    audit.record(
        db,
        user,
        "override" if override else "decide",
        claim_id,
        f"{action}" + (f" ({fraud_type})" if fraud_type else "") + f": {note[:200]}",
    )
    db.commit()
    return RedirectResponse(f"/claims/{claim_id}", status_code=303)
