"""Jinja2 environment and the page-rendering helper shared by the routers."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, Undefined, pass_context, select_autoescape
from markupsafe import Markup

from review.models import User
from review.reference import Reference, load_reference
from settlement.idnumber import mask_identity_numbers
from settlement.money import format_fen, format_ratio

log = logging.getLogger(__name__)


def yuan(fen: int | None) -> str:
    """Integer fen as a yuan string with two decimals (``123456`` -> ``1234.56``)."""
    return "–" if fen is None else format_fen(int(fen))


def ratio(value: int | None) -> str:
    """Ten-thousandths as a 4-decimal ratio string."""
    return "–" if value is None else format_ratio(int(value))


def _beijing_zone() -> tzinfo:
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:  # no tz database: China has kept UTC+8, without DST, since 1991
        return timezone(timedelta(hours=8), "CST")


BEIJING = _beijing_zone()


def beijing(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (naive UTC) time in Beijing time for the interface; storage and exports stay UTC."""
    if value is None:
        return "–"
    return value.replace(tzinfo=UTC).astimezone(BEIJING).strftime(fmt)


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


@pass_context
def region(context: Any, code: str | None) -> str:
    """A region code with its name from the policy files (``440100 Guangzhou``)."""
    if not code:
        return "–"
    name = (context.get("region_names") or {}).get(code)
    return f"{code} {name}" if name else code


def region_names(request: Request) -> dict[str, str]:
    """Region code -> name, from the policy files, read once per app (empty if unreadable)."""
    state = request.app.state
    names: dict[str, str] | None = getattr(state, "region_names", None)
    if names is None:
        book = state.policy_book
        if book is None:
            from settlement.errors import PolicyError
            from settlement.policy_loader import load_policy_dir

            try:
                book = state.policy_book = load_policy_dir(state.settings.policies_dir)
            except PolicyError:  # a broken policy directory: codes alone, as before
                log.warning("region names unavailable: the policy files did not load")
                book = None
        regions = getattr(book, "regions", {}) if book is not None else {}
        names = {code: policy.name for code, policy in regions.items() if policy.name}
        state.region_names = names
    return names


def reference(request: Request) -> Reference:
    """Names of items, diagnoses and areas (review/reference_data), read once per app."""
    state = request.app.state
    ref: Reference | None = getattr(state, "reference", None)
    if ref is None:
        ref = state.reference = load_reference()
    return ref


def rule_names(request: Request) -> dict[str, str]:
    """Rule code -> name from the audit-rule catalogue (``settings.rules_dir``), read once.

    Red flags are named under their catalogue code (``YB-RF-003``) and their own
    (``READMIT_SAME_DX``). Empty when the catalogue does not load: codes alone.
    """
    state = request.app.state
    names: dict[str, str] | None = getattr(state, "rule_names", None)
    if names is None:
        from detection.errors import RuleBookError
        from detection.rulebook_loader import load_rule_dir

        names = {}
        try:
            book = load_rule_dir(state.settings.rules_dir)
        except RuleBookError:
            log.warning("rule names unavailable: the rule catalogue did not load")
        else:
            names = {code: rule.name for code, rule in book.rules.items()}
            for flag in book.red_flags.values():
                names[flag.rule_code] = names[flag.flag] = flag.name
        state.rule_names = names
    return names


def _ref(context: Any) -> Reference | None:
    ref = context.get("ref")
    return ref if isinstance(ref, Reference) else None


@pass_context
def item_name(context: Any, code: Any) -> str:
    """An item code's name (Chinese and English), or "" when unknown."""
    ref = _ref(context)
    found = ref.item(code) if ref is not None else None
    return found.text() if found is not None else ""


@pass_context
def unit_price(context: Any, code: Any) -> str:
    """An item's catalogue unit price in yuan, or "" when unknown."""
    ref = _ref(context)
    found = ref.item(code) if ref is not None else None
    return yuan(found.unit_price_fen) if found and found.unit_price_fen is not None else ""


@pass_context
def diagnosis(context: Any, code: Any) -> str:
    """An ICD-10 code with its name (``E11.9 2型糖尿病… type 2 diabetes…``); the code alone
    when unknown."""
    if not code:
        return "–"
    ref = _ref(context)
    found = ref.diagnosis(code) if ref is not None else None
    return f"{code} {found.text()}" if found is not None else str(code)


@pass_context
def hospital_area(context: Any, hospital_id: Any) -> str:
    """Where a hospital is (its id's area code named), or "" when unknown."""
    ref = _ref(context)
    found = ref.hospital_area(hospital_id) if ref is not None else None
    return found.text() if found is not None else ""


@pass_context
def rule_name(context: Any, code: Any) -> str:
    """A rule code's name from the catalogue, or "" when unknown."""
    return str((context.get("rule_names") or {}).get(code, ""))


def make_templates(directory: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(directory)),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=mask_output,
    )
    # Templates mark their strings with _("..."); until catalogues are loaded the
    # null translations give the English text back.
    env.add_extension("jinja2.ext.i18n")
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters["yuan"] = yuan
    env.filters["ratio"] = ratio
    env.filters["percent"] = percent
    env.filters["beijing"] = beijing
    env.filters["region"] = region
    env.filters["item_name"] = item_name
    env.filters["unit_price"] = unit_price
    env.filters["diagnosis"] = diagnosis
    env.filters["hospital_area"] = hospital_area
    env.filters["rule_name"] = rule_name
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
        region_names=region_names(request),
        ref=reference(request),
        rule_names=rule_names(request),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)
