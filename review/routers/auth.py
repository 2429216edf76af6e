"""Log in and out."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from review import i18n
from review.deps import DB
from review.i18n import N_
from review.security import new_csrf_token, safe_local_path
from review.services import users
from review.templating import render

router = APIRouter(tags=["auth"])


def _safe_next(target: str | None) -> str:
    # Only local paths: never redirect to another site after login.
    return safe_local_path(target)


def lockout_policy(request: Request) -> users.LockoutPolicy:
    settings = request.app.state.settings
    return users.LockoutPolicy(
        per_user=settings.review_login_failures_per_user,
        per_address=settings.review_login_failures_per_address,
        window=timedelta(minutes=settings.review_lockout_minutes),
    )


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/login")
def login(
    request: Request,
    db: DB,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    # Locked out per user name from one address (5 failures) and per address (30:
    # an office behind one NAT address must not be locked out by one colleague's
    # typos). The address is the peer's, or a trusted proxy's X-Forwarded-For.
    result = users.authenticate(
        db, lockout_policy(request), name, password, request.state.client_address
    )
    if result.locked_out:
        return render(
            request,
            "login.html",
            None,
            429,
            next=_safe_next(next),
            error=N_("Too many failed attempts. Wait a few minutes and try again."),
        )
    user = result.user
    if user is None:
        return render(
            request,
            "login.html",
            None,
            401,
            next=_safe_next(next),
            error=N_("Wrong user name or password."),
        )
    session = request.state.session
    lang = session.get(i18n.SESSION_KEY)
    session.clear()
    # A fresh CSRF token per login: a token seen before login is no use after it.
    session.update({"uid": user.id, "sv": user.session_version, "csrf": new_csrf_token()})
    if lang is not None:  # the language chosen on the login page stays
        session[i18n.SESSION_KEY] = i18n.normal_locale(lang)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    session = request.state.session
    lang = session.get(i18n.SESSION_KEY)
    session.clear()
    session["csrf"] = new_csrf_token()
    if lang is not None:
        session[i18n.SESSION_KEY] = i18n.normal_locale(lang)
    return RedirectResponse("/login", status_code=303)
