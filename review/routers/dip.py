"""DIP pages: a hospital's points and payment month by month, and the areas' summary."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from review.deps import DB, CurrentUser, Supervisor
from review.dip import DipCache, area_summaries, dip_years, hospital_page
from review.i18n import N_, Msg
from review.models import Claim, Hospital
from review.templating import render

router = APIRouter(tags=["dip"])
Year = Annotated[int | None, Query(ge=1900, le=9999)]


def dip_book(request: Request) -> Any:
    """The DIP policies (``DIP_DIR``, else bundled), loaded once per app on first use."""
    state = request.app.state
    if getattr(state, "dip_book", None) is None:
        from dip.errors import DipPolicyError
        from dip.loader import load_dip_dir

        try:
            state.dip_book = load_dip_dir(state.settings.dip_dir)
        except DipPolicyError as exc:
            raise HTTPException(
                status_code=503, detail=Msg(N_("broken DIP policy: {problem}"), problem=str(exc))
            ) from None
        state.dip_cache = DipCache()
    return state.dip_book


def _year(db: DB, year: int | None) -> tuple[int | None, list[int]]:
    years = dip_years(db)
    if year is None:
        year = years[0] if years else None
    return year, years


@router.get("/hospitals/{hospital_id}/dip")
def hospital_dip(
    request: Request, db: DB, user: CurrentUser, hospital_id: str, year: Year = None
) -> Response:
    row = db.get(Hospital, hospital_id)
    region = row.region if row is not None else None
    if region is None:
        region = db.scalar(
            select(Claim.hospital_region).where(Claim.hospital_id == hospital_id).limit(1)
        )
    if region is None:
        raise HTTPException(status_code=404, detail=N_("no such hospital"))
    book = dip_book(request)
    year, years = _year(db, year)
    page = None
    if year is not None and region in book.regions:
        figures = request.app.state.dip_cache.get(db, book, year)
        page = hospital_page(figures, book, region, hospital_id)
    return render(
        request,
        "hospital_dip.html",
        user,
        hospital_id=hospital_id,
        region=region,
        level=row.level if row is not None else None,
        dip_area=region in book.regions,
        year=year,
        years=years,
        d=page,
    )


@router.get("/dip")
def dip_summary(request: Request, db: DB, user: Supervisor, year: Year = None) -> Response:
    book = dip_book(request)
    year, years = _year(db, year)
    areas: list[dict[str, Any]] = []
    unusable = 0
    if year is not None:
        figures = request.app.state.dip_cache.get(db, book, year)
        areas = area_summaries(figures, book)
        unusable = figures.unusable
    return render(
        request,
        "dip.html",
        user,
        year=year,
        years=years,
        areas=areas,
        unusable=unusable,
        source=book.source,
    )
