"""Jinja2 environment and the page-rendering helper shared by the routers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, Undefined, select_autoescape
from markupsafe import Markup

from review.models import User
from settlement.idnumber import mask_identity_numbers
from settlement.money import format_fen, format_ratio


def yuan(fen: int | None) -> str:
    """Integer fen as a yuan string with two decimals (``123456`` -> ``1234.56``)."""
    return "–" if fen is None else format_fen(int(fen))


def ratio(value: int | None) -> str:
    """Ten-thousandths as a 4-decimal ratio string."""
    return "–" if value is None else format_ratio(int(value))


def percent(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.{digits}f}%"


def mask_output(value: Any) -> Any:
    """Every value a template prints, with identity numbers masked.

    The one output filter (Jinja2's ``finalize``): whatever a page echoes (a
    query parameter, a stored note, a code in a claim), no full identity
    number reaches the browser.
    """
    if hasattr(value, "__html__"):  # Markup (charts): already escaped, keep it markup
        return Markup(mask_identity_numbers(str(value.__html__())))
    if isinstance(value, str):
        return mask_identity_numbers(value)
    if value is None or isinstance(value, (bool, float, Undefined)):
        return value
    if isinstance(value, int) and -(10**16) < value < 10**16:
        return value  # too short to be an identity number
    return mask_identity_numbers(str(value))


def make_templates(directory: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(directory)),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=mask_output,
    )
    env.filters["yuan"] = yuan
    env.filters["ratio"] = ratio
    env.filters["percent"] = percent
    return env


def render(
    request: Request, name: str, user: User | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render template ``name`` with the user, the CSRF token and ``context``."""
    env: Environment = request.app.state.templates
    html = env.get_template(name).render(
        request=request,
        user=user,
        csrf=request.state.session.get("csrf"),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)
