"""The queue of flagged claims, and assigning claims to clerks."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from review import audit
from review.db import person_key, person_salt
from review.deps import DB, CurrentUser, Reviewer, Supervisor
from review.exports import XLSX_MEDIA_TYPE, to_xlsx
from review.i18n import N_
from review.indicators import neutralise_cell
from review.models import User
from review.queue import (
    MAX_ID_DIGITS,
    PAGE_SIZE,
    QueueFilter,
    filter_choices,
    queue_page,
    queue_rows,
)
from review.security import safe_local_path
from review.services import decisions
from review.services.decisions import FRAUD_TYPES, OPEN_STATUSES
from review.templating import render
from settlement.idnumber import IDENTITY_NUMBER_PATTERN, mask_identity_numbers, mask_person_id
from settlement.money import format_fen

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


def search_filter(
    request: Request,
    db: DB,
    _user: CurrentUser,  # logged in before a typed number is looked at
    region: str = "",
    hospital: str = "",
    rule: str = "",
    result: str = "",
    scheme: str = "",
    date_from: str = "",
    date_to: str = "",
    status: str = "open",
    assigned: str = "",
    q: str = "",
    sort: str = "score",
    dir: str = "desc",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> QueueFilter:
    """The queue's filters from the query string, checked (400 when unusable).

    A full identity number typed into the search is never echoed: it is
    replaced by its masked form, and the patient is found by the pseudonym
    (``person_key``) of the number, remembered in the session for the paging
    links, which carry only the masked form.
    """
    # Free text is echoed in the form and the paging links: never echo an identity number.
    hospital = mask_identity_numbers(hospital)
    person: str | None = None
    typed = q.strip()
    searches: dict[str, str] = request.state.session.get("person_search") or {}
    if IDENTITY_NUMBER_PATTERN.fullmatch(typed):
        person = person_key(person_salt(db), typed.upper())
        typed = mask_person_id(typed.upper())
        request.state.session["person_search"] = {typed: person}
    elif typed in searches:
        person = searches[typed]
    f = QueueFilter(
        region,
        hospital,
        rule,
        scheme,
        date_from,
        date_to,
        status,
        assigned,
        page,
        q=mask_identity_numbers(typed),
        sort=sort,
        dir=dir,
        person_key=person,
        result=result,
    )
    problem = f.problem()
    if problem:
        raise HTTPException(status_code=400, detail=problem)
    return f


Filter = Annotated[QueueFilter, Depends(search_filter)]


@router.get("/queue")
def queue(request: Request, db: DB, user: CurrentUser, f: Filter) -> Response:
    rows, total = queue_page(db, f, user.id)
    clerks = db.scalars(select(User).where(User.active.is_(True)).order_by(User.name)).all()
    names = {u.id: u.name for u in clerks}
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    deadline = request.app.state.settings.review_deadline_days
    now = audit.now_utc()
    return render(
        request,
        "queue.html",
        user,
        rows=rows,
        total=total,
        f=f,
        page=f.page,
        pages=pages,
        choices=cached_choices(request, db),
        clerks=[u for u in clerks if u.role in ("clerk", "supervisor")],
        names=names,
        url=lambda **kw: "/queue?" + urlencode(f.params(**kw)),
        sort_url=lambda column: (
            "/queue?"
            + urlencode(
                f.params(
                    sort=column,
                    dir="asc" if f.sort == column and f.dir == "desc" else "desc",
                    page=1,
                )
            )
        ),
        export_url="/queue.csv?" + urlencode(f.params(page="")),
        xlsx_url="/queue.xlsx?" + urlencode(f.params(page="")),
        deadline_days=deadline,
        age_days=lambda submitted: None if submitted is None else (now - submitted).days,
        fraud_types=FRAUD_TYPES,
        open_statuses=OPEN_STATUSES,
    )


EXPORT_FIELDS = (
    "claim_id",
    "fraud_score",
    "hospital_id",
    "insured_region",
    "scheme",
    "claim_type",
    "discharge_date",
    "total_yuan",
    "rule_codes",
    "status",
    "assigned_to",
    "submitted_at_utc",
    "age_days",
)


def export_rows(db: DB, f: QueueFilter, user_id: int) -> Iterator[list[Any]]:
    """Every claim of the filter as export cells, in :data:`EXPORT_FIELDS` order (UTC times)."""
    names = {u.id: u.name for u in db.scalars(select(User))}
    now = audit.now_utc()
    for r in queue_rows(db, f, user_id):
        yield [
            r.claim_id,
            f"{r.fraud_score:.4f}",
            r.hospital_id or "",
            r.insured_region or "",
            r.scheme or "",
            r.claim_type or "",
            r.discharge_date.isoformat() if r.discharge_date else "",
            format_fen(r.total_fen) if r.total_fen is not None else "",
            r.rule_codes or "",
            r.status,
            names.get(r.assigned_to, ""),
            r.submitted_at.isoformat(timespec="seconds") + "Z" if r.submitted_at else "",
            (now - r.submitted_at).days if r.submitted_at else "",
        ]


@router.get("/queue.csv")
def queue_csv(request: Request, db: DB, user: CurrentUser, f: Filter) -> Response:
    """Every claim of the current filter as CSV (UTC times, cells neutralised)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_FIELDS)
    for row in export_rows(db, f, user.id):
        writer.writerow(
            [
                neutralise_cell(mask_identity_numbers(value)) if isinstance(value, str) else value
                for value in row
            ]
        )
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="queue.csv"'},
    )


#: Export columns the workbook holds as numbers (the CSV writes the same digits as text).
XLSX_NUMBERS = {"fraud_score": float, "total_yuan": Decimal}


@router.get("/queue.xlsx")
def queue_xlsx(request: Request, db: DB, user: CurrentUser, f: Filter) -> Response:
    """The CSV's rows as an Excel workbook: same columns, masking and neutralisation.

    Score and total are numbers (a clerk sums the total), the total from its
    exact yuan text; everything else is text, written as text, never a formula.
    """
    numeric = [EXPORT_FIELDS.index(name) for name in XLSX_NUMBERS]

    def cells(row: list[Any]) -> list[Any]:
        for i in numeric:
            if row[i] != "":
                row[i] = float(Decimal(row[i]))  # a spreadsheet number is a double
        return row

    body = to_xlsx(EXPORT_FIELDS, (cells(row) for row in export_rows(db, f, user.id)), "queue")
    return Response(
        body,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="queue.xlsx"'},
    )


@router.post("/queue/decide")
def decide_selected(
    db: DB,
    user: Supervisor,
    claim_ids: Annotated[list[str], Form()],
    action: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
    fraud_type: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/queue",
) -> Response:
    """One decision on every selected claim (supervisors), each recorded and audited."""
    decisions.decide_many(db, user, claim_ids, action, note, fraud_type)
    return RedirectResponse(safe_local_path(back), status_code=303)


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
        raise HTTPException(status_code=400, detail=N_("no such user"))
    decisions.assign(db, user, claim_ids, int(assignee) if assignee else None)
    return RedirectResponse(safe_local_path(back), status_code=303)


@router.post("/queue/take")
def take(request: Request, db: DB, user: Reviewer, claim_id: Annotated[str, Form()]) -> Response:
    """A clerk takes an unassigned claim."""
    decisions.take(db, user, claim_id)
    return RedirectResponse(f"/claims/{claim_id}", status_code=303)
