"""The queue of flagged claims, and assigning claims to clerks."""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from review.deps import DB, CurrentUser, Reviewer, Supervisor
from review.models import User
from review.queue import MAX_ID_DIGITS, PAGE_SIZE, QueueFilter, filter_choices, queue_page
from review.security import safe_local_path
from review.services import decisions
from review.templating import render
from settlement.idnumber import mask_identity_numbers

router = APIRouter(tags=["queue"])

CHOICES_TTL_S = 60.0


def cached_choices(request: Request, db: DB) -> dict[str, list[Any]]:
    """The filter drop-downs' values, recomputed at most once a minute.

    They need DISTINCT over every claim, which would cost more than the page
    itself with 100,000 claims; a minute-old list of regions and rules is fine.
    """
    state = request.app.state
    cached = getattr(state, "queue_choices", None)
    now = time.monotonic()
    if cached is None or now - cached[0] > CHOICES_TTL_S:
        cached = (now, filter_choices(db))
        state.queue_choices = cached
    return cached[1]


@router.get("/queue")
def queue(
    request: Request,
    db: DB,
    user: CurrentUser,
    region: str = "",
    hospital: str = "",
    rule: str = "",
    scheme: str = "",
    date_from: str = "",
    date_to: str = "",
    status: str = "open",
    assigned: str = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    # Free text is echoed in the form and the paging links: never echo an identity number.
    hospital = mask_identity_numbers(hospital)
    f = QueueFilter(region, hospital, rule, scheme, date_from, date_to, status, assigned, page)
    problem = f.problem()
    if problem:
        raise HTTPException(status_code=400, detail=problem)
    rows, total = queue_page(db, f, user.id)
    clerks = db.scalars(select(User).where(User.active.is_(True)).order_by(User.name)).all()
    names = {u.id: u.name for u in clerks}
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    return render(
        request,
        "queue.html",
        user,
        rows=rows,
        total=total,
        f=f,
        page=page,
        pages=pages,
        choices=cached_choices(request, db),
        clerks=[u for u in clerks if u.role in ("clerk", "supervisor")],
        names=names,
        url=lambda **kw: "/queue?" + urlencode(f.params(**kw)),
    )


@router.post("/queue/assign")
def assign(
    request: Request,
    db: DB,
    user: Supervisor,
    claim_ids: Annotated[list[str], Form()],
    assignee: Annotated[str, Form()],
    back: Annotated[str, Form()] = "/queue",
) -> Response:
    """Assign (or with an empty assignee, unassign) claims: supervisors only."""
    if assignee and not (assignee.isdigit() and len(assignee) <= MAX_ID_DIGITS):
        raise HTTPException(status_code=400, detail="no such user")
    decisions.assign(db, user, claim_ids, int(assignee) if assignee else None)
    return RedirectResponse(safe_local_path(back), status_code=303)


@router.post("/queue/take")
def take(request: Request, db: DB, user: Reviewer, claim_id: Annotated[str, Form()]) -> Response:
    """A clerk takes an unassigned claim."""
    decisions.take(db, user, claim_id)
    return RedirectResponse(f"/claims/{claim_id}", status_code=303)
