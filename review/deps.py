"""FastAPI dependencies: the database session, the current user, role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from review.i18n import N_, Msg
from review.models import User
from review.security import csrf_matches, session_is_current


class LoginRequired(Exception):
    """Raised when a page needs a logged-in user; answered with a redirect to /login."""


def get_db(request: Request) -> Iterator[Session]:
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        session.close()


DB = Annotated[Session, Depends(get_db)]


def current_user(request: Request, db: DB) -> User:
    user_id = request.state.session.get("uid")
    user = db.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not session_is_current(user, request.state.session):
        raise LoginRequired()
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: str) -> Callable[..., User]:
    """A dependency that lets only ``roles`` through (403 otherwise)."""

    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise HTTPException(
                status_code=403, detail=Msg(N_("needs role {roles}"), roles=" or ".join(roles))
            )
        return user

    return check


Reviewer = Annotated[User, Depends(require_roles("clerk", "supervisor"))]
Supervisor = Annotated[User, Depends(require_roles("supervisor"))]
LabelReader = Annotated[User, Depends(require_roles("data_scientist", "supervisor"))]


async def csrf_guard(request: Request) -> None:
    """Refuse any POST whose CSRF token does not match the session's (403)."""
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    given = request.headers.get("x-csrf-token")
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            given = value if isinstance(value, str) else None
    if not csrf_matches(request.state.session.get("csrf"), given):
        raise HTTPException(status_code=403, detail=N_("missing or wrong CSRF token"))
