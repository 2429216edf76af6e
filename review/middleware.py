"""The session middleware: a signed session cookie, a CSRF token, secure headers.

Every request gets ``request.state.session`` (a dict with at least ``csrf``);
the cookie is written back when the session changed or was missing or invalid.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from review.security import (
    HSTS,
    SECURE_HEADERS,
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    SessionCodec,
    client_view,
    new_csrf_token,
)

log = logging.getLogger(__name__)


class SessionMiddleware(BaseHTTPMiddleware):
    """Loads the session from its signed cookie and saves it back; adds secure headers."""

    def __init__(
        self,
        app: ASGIApp,
        codec: SessionCodec,
        trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (),
    ) -> None:
        super().__init__(app)
        self.codec = codec
        self.trusted_proxies = trusted_proxies

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        raw = request.cookies.get(SESSION_COOKIE)
        session = self.codec.loads(raw)
        if "csrf" not in session:
            session["csrf"] = new_csrf_token()
        before = dict(session)
        request.state.session = session
        peer = request.client.host if request.client else None
        client, proxied_https = client_view(peer, request.headers, self.trusted_proxies)
        request.state.client_address = client
        https = request.url.scheme == "https" or proxied_https
        try:
            response = await call_next(request)
        except Exception:
            # Answered here, inside the middleware, so that even a failure gets
            # the secure headers and the page with the navigation.
            from review.error_pages import error_page
            from review.i18n import N_

            log.exception("%s %s failed", request.method, request.url.path)
            response = error_page(request, 500, N_("something went wrong; the error was logged"))
        if session != before or raw is None or not self.codec.loads(raw):
            response.set_cookie(
                SESSION_COOKIE,
                self.codec.dumps(session),
                max_age=SESSION_MAX_AGE_S,
                httponly=True,
                samesite="lax",
                # Secure whenever the page came over https (directly or via a
                # trusted proxy's X-Forwarded-Proto); plain http on a LAN still works.
                secure=https,
                path="/",
            )
        for name, value in SECURE_HEADERS.items():
            response.headers.setdefault(name, value)
        if https:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if not request.url.path.startswith("/static/"):
            # Pages and downloads (CSV, labels) hold claim data: never cached.
            response.headers.setdefault("Cache-Control", "no-store")
        return response
