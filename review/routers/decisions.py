"""Decisions on a claim: confirm fraud, clear, request documents (note required).

The rules (who may decide, overrides, the status a decision leads to) are in
:mod:`review.services.decisions`; a refusal is answered by the app's error page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from review.deps import DB, Reviewer
from review.services import decisions, recovery

router = APIRouter(tags=["decisions"])


@router.post("/claims/{claim_id}/decisions")
def decide(
    db: DB,
    user: Reviewer,
    claim_id: str,
    action: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
    fraud_type: Annotated[str, Form()] = "",
    recovered_yuan: Annotated[str, Form()] = "",
) -> Response:
    """Record a decision. Clerks decide open claims that are theirs or nobody's;
    changing a final decision is a supervisor's override. Confirming fraud may
    carry the amount recovered, typed in yuan and stored in fen."""
    recovered_fen = recovery.parse_recovered_yuan(recovered_yuan)
    decisions.decide(db, user, claim_id, action, note, fraud_type, recovered_fen)
    return RedirectResponse(f"/claims/{claim_id}", status_code=303)
