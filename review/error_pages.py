"""How the app answers errors: a login redirect, or the error page with a status.

A refusal from the service layer (:class:`review.errors.ReviewError`) gets the
same page as an ``HTTPException``, with the status :data:`review.errors.HTTP_STATUS` gives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from review.deps import LoginRequired
from review.errors import HTTP_STATUS, ReviewError
from review.i18n import N_, Msg, translate, translator
from review.models import User
from review.security import session_is_current
from review.templating import here, i18n_context
from settlement.idnumber import mask_identity_numbers

if TYPE_CHECKING:
    from fastapi import FastAPI


async def login_required(request: Request, _exc: Exception) -> Response:
    """Send the browser to the login page, then back to the page it asked for."""
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    # A number typed into a search must not come back in the Location header.
    target = mask_identity_numbers(target)
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _signed_in_user(request: Request, session: dict[str, Any]) -> User | None:
    """The session's user when still valid, so the error page keeps the navigation."""
    user_id = session.get("uid")
    if not isinstance(user_id, int):
        return None
    try:
        with request.app.state.sessions() as db:
            user: User | None = db.get(User, user_id)
            if user is None or not session_is_current(user, session):
                return None
            db.expunge(user)
            return user
    except SQLAlchemyError:  # the database itself failed: an error page without the menu
        return None


def error_page(request: Request, status: int, detail: Any) -> HTMLResponse:
    """The error page with ``status`` and ``detail``, the navigation and the log-out button."""
    templates = request.app.state.templates
    session = getattr(request.state, "session", {})
    return HTMLResponse(
        templates.get_template("error.html").render(
            status=status,
            detail=translate(detail, translator(request)),
            user=_signed_in_user(request, session),
            csrf=session.get("csrf"),
            path=request.url.path,
            here=here(request),
            **i18n_context(request),
        ),
        status_code=status,
    )


#: The details Starlette gives its own errors (an unknown path, a wrong method),
#: marked so that the catalogue translates them like the app's messages.
FRAMEWORK_DETAILS = (N_("Not Found"), N_("Method Not Allowed"))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_page(request, exc.status_code, exc.detail)


async def review_error(request: Request, exc: Exception) -> Response:
    status = next((code for kind, code in HTTP_STATUS.items() if isinstance(exc, kind)), 400)
    message = exc.args[0] if exc.args else ""
    return error_page(request, status, message if isinstance(message, Msg) else str(exc))


async def invalid_request(request: Request, exc: Exception) -> Response:
    """A query or form value of the wrong kind: 400 naming the field, never echoing the value."""
    assert isinstance(exc, RequestValidationError)
    fields = sorted({str(err.get("loc", ("?",))[-1]) for err in exc.errors()})
    return error_page(request, 400, Msg(N_("invalid value for {fields}"), fields=", ".join(fields)))


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(ReviewError, review_error)
