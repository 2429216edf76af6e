"""The language switch (中文 / English): the session's choice of interface language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from review import i18n
from review.security import safe_local_path

router = APIRouter(tags=["locale"])


@router.post("/locale")
def choose_locale(
    request: Request,
    lang: Annotated[str, Form()],
    back: Annotated[str, Form()] = "/queue",
) -> Response:
    """Remember the chosen language in the session and go back to the page (local paths only)."""
    request.state.session[i18n.SESSION_KEY] = i18n.normal_locale(lang)
    return RedirectResponse(safe_local_path(back), status_code=303)
