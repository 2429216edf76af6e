"""Log in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from review import audit
from review.deps import DB
from review.models import User
from review.security import new_csrf_token, verify_dummy, verify_password
from review.templating import render

router = APIRouter(tags=["auth"])


def _safe_next(target: str | None) -> str:
    # Only local paths: never redirect to another site after login.
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/queue"


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
    # Per user name (5 failures) and per client address (30: an office behind one
    # NAT address must not be locked out by one colleague's typos).
    by_user, by_address = request.app.state.throttle, request.app.state.address_throttle
    client = request.client.host if request.client else "?"
    user_key, address_key = [f"user:{name.lower()}"], [f"ip:{client}"]
    if by_user.blocked(user_key) or by_address.blocked(address_key):
        return render(
            request,
            "login.html",
            None,
            429,
            next=_safe_next(next),
            error="Too many failed attempts. Wait a few minutes and try again.",
        )
    user = db.scalar(select(User).where(User.name == name))
    if user is None:
        verify_dummy()
    if user is None or not user.active or not verify_password(user.password_hash, password):
        by_user.failed(user_key)
        by_address.failed(address_key)
        return render(
            request,
            "login.html",
            None,
            401,
            next=_safe_next(next),
            error="Wrong user name or password.",
        )
    by_user.succeeded(user_key)
    session = request.state.session
    session.clear()
    # A fresh CSRF token per login: a token seen before login is no use after it.
    session.update({"uid": user.id, "csrf": new_csrf_token()})
    audit.record(db, user, "login")
    db.commit()
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    request.state.session.clear()
    request.state.session["csrf"] = new_csrf_token()
    return RedirectResponse("/login", status_code=303)
