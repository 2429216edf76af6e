"""The session middleware: a signed session cookie, a CSRF token, secure headers.

Every request gets ``request.state.session`` (a dict with at least ``csrf``);
the cookie is written back when the session changed or was missing or invalid.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from review.security import (
    SECURE_HEADERS,
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    SessionCodec,
    new_csrf_token,
)


class SessionMiddleware(BaseHTTPMiddleware):
    """Loads the session from its signed cookie and saves it back; adds secure headers."""

    def __init__(self, app: ASGIApp, codec: SessionCodec) -> None:
        super().__init__(app)
        self.codec = codec

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        raw = request.cookies.get(SESSION_COOKIE)
        session = self.codec.loads(raw)
        if "csrf" not in session:
            session["csrf"] = new_csrf_token()
        before = dict(session)
        request.state.session = session
        response = await call_next(request)
        if session != before or raw is None or not self.codec.loads(raw):
            response.set_cookie(
                SESSION_COOKIE,
                self.codec.dumps(session),
                max_age=SESSION_MAX_AGE_S,
                httponly=True,
                samesite="lax",
                # Secure whenever the page came over https (directly or via a
                # trusted proxy's X-Forwarded-Proto); plain http on a LAN still works.
                secure=request.url.scheme == "https",
                path="/",
            )
        for name, value in SECURE_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
