"""The review web app: ``create_app(settings)`` builds it; nothing happens at import.

Server-rendered Jinja2 pages and plain HTML forms (no JavaScript, no CDN).
The database is upgraded to the newest migration when the app is created.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from yibao.settings import Settings

log = logging.getLogger(__name__)

HERE = Path(__file__).parent


def secret_key_for(settings: Settings) -> str:
    """The session signing key: the setting, else one generated once into data_dir."""
    if settings.review_secret_key:
        return settings.review_secret_key
    path = Path(settings.data_dir) / "review-secret.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def create_app(settings: Settings, *, policy_book: Any = None) -> FastAPI:
    """Build the app: engine, migrations, templates, middleware and routers.

    Args:
        settings: the process settings (database URL, data dir, secret key).
        policy_book: a loaded PolicyBook for the settlement breakdown; None loads
            ``settings.policies_dir`` (or the bundled policies) on first use.
    """
    from fastapi import Depends, FastAPI

    from review import db as dbmod
    from review import error_pages
    from review.deps import csrf_guard
    from review.i18n import load_translations
    from review.middleware import SessionMiddleware
    from review.peers import PeerCache
    from review.security import SessionCodec, parse_networks
    from review.services.documents import MAX_FILES
    from review.templating import make_templates
    from review.upload_limit import UploadSizeLimit, max_upload_body

    engine = dbmod.make_engine(settings.review_database_url())
    dbmod.upgrade_head(engine)

    app = FastAPI(
        title="yibao review",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_guard)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = dbmod.session_factory(engine)
    app.state.templates = make_templates(HERE / "templates")
    app.state.translations = load_translations()
    app.state.policy_book = policy_book
    app.state.dip_book = None  # DIP policies, loaded on first use (review.routers.dip)
    app.state.peer_cache = PeerCache()
    # Added before the session middleware, so inside it: its refusals get the
    # secure headers and the page with the navigation.
    app.add_middleware(
        UploadSizeLimit,
        max_body_bytes=max_upload_body(settings.review_attachment_max_bytes, MAX_FILES),
    )
    app.add_middleware(
        SessionMiddleware,
        codec=SessionCodec(secret_key_for(settings)),
        trusted_proxies=parse_networks(settings.review_trusted_proxies),
    )
    error_pages.install(app)

    add_routes(app)
    log.info("review app ready (database %s)", engine.url.render_as_string(hide_password=True))
    return app


def add_routes(app: FastAPI) -> None:
    """The static files, every page's router, the home redirect and the health check."""
    from fastapi.responses import RedirectResponse, Response
    from fastapi.staticfiles import StaticFiles

    from review.routers import (
        audit,
        auth,
        casefiles,
        cases,
        claims,
        decisions,
        dip,
        hospitals,
        indicators,
        labels,
        locale,
        queue,
    )

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (
        auth,
        locale,
        queue,
        claims,
        decisions,
        casefiles,
        cases,
        dip,
        hospitals,
        indicators,
        audit,
        labels,
    ):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/queue", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}
