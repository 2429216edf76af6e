"""Hospital cases: the list, one case with its claims and totals, opening and closing.

The rules are in :mod:`review.services.cases`: supervisors open, close and
reopen cases; everyone signed in may read them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from review.deps import DB, CurrentUser, Supervisor
from review.models import Hospital
from review.services import cases
from review.templating import render

router = APIRouter(tags=["cases"])


def hospital_cases_context(db: Session, hospital_id: str) -> dict[str, Any]:
    """What the hospital page shows of its cases (see ``hospital_cases.html``)."""
    rows = cases.hospital_cases(db, hospital_id)
    return {
        "cases": rows,
        "case_totals": {c.id: cases.totals(cases.case_claims(db, c)) for c in rows},
        "case_period": cases.suggested_period(db, hospital_id),
    }


@router.get("/cases")
def case_list(request: Request, db: DB, user: CurrentUser) -> Response:
    rows = cases.hospital_cases(db)
    return render(
        request,
        "cases.html",
        user,
        cases=rows,
        case_totals={c.id: cases.totals(cases.case_claims(db, c)) for c in rows},
    )


@router.get("/cases/{case_id}")
def case_page(request: Request, db: DB, user: CurrentUser, case_id: int) -> Response:
    case = cases.get_case(db, case_id)
    claims = cases.case_claims(db, case)
    return render(
        request,
        "case.html",
        user,
        case=case,
        hospital=db.get(Hospital, case.hospital_id),
        claims=claims,
        totals=cases.totals(claims),
    )


@router.post("/hospitals/{hospital_id}/cases")
def open_case(
    db: DB,
    user: Supervisor,
    hospital_id: str,
    period_from: Annotated[date, Form()],
    period_to: Annotated[date, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    case = cases.open_case(db, user, hospital_id, period_from, period_to, note)
    return RedirectResponse(f"/cases/{case.id}", status_code=303)


@router.post("/cases/{case_id}/close")
def close_case(
    db: DB, user: Supervisor, case_id: int, note: Annotated[str, Form()] = ""
) -> Response:
    cases.close_case(db, user, case_id, note)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/reopen")
def reopen_case(
    db: DB, user: Supervisor, case_id: int, note: Annotated[str, Form()] = ""
) -> Response:
    cases.reopen_case(db, user, case_id, note)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)
