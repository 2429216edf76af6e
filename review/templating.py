"""Jinja2 environment and the page-rendering helper shared by the routers."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, Undefined, pass_context, select_autoescape
from markupsafe import Markup

from review import i18n
from review.models import User
from review.reference import Reference, load_reference
from review.security import safe_local_path
from review.terms import term_name
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


def beijing(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (naive UTC) time in Beijing time for the interface; storage and exports stay UTC.

    Also takes an exported UTC time as text (``2026-03-01T02:00:00Z``).
    """
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:  # not a time: shown as it is
            return value
    else:
        moment = value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING).strftime(fmt)


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


@pass_context
def term(context: Any, code: Any, kind: str) -> Any:
    """A stored code's name in the page's language (``open`` -> 待审核), else the code."""
    name = term_name(kind, code)
    if name is None:
        return code
    translations = context.get("translations")
    return translations.gettext(name) if translations is not None else name


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
        extensions=["jinja2.ext.i18n"],
    )
    # New-style gettext (placeholders as keyword arguments, escaped); the real
    # callables are passed with each render, in the session's language.
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters["term"] = term
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


def i18n_context(request: Request) -> dict[str, Any]:
    """What a page needs to speak the session's language: gettext callables, ``<html lang>``."""
    session = getattr(request.state, "session", None) or {}
    locale = i18n.session_locale(session)
    translations = i18n.translations_for(request)
    return {
        "locale": locale,
        "html_lang": i18n.HTML_LANG[locale],
        "locale_names": i18n.LOCALE_NAMES,
        "translations": translations,
        # a Msg or a marked string from Python code, in the page's language
        "tr": lambda text: i18n.translate(text, translations.gettext),
        **i18n.template_callables(translations),
    }


def here(request: Request) -> str:
    """Where the language switch comes back to: this page's local path and query.

    A page answering a form post (a refused decision) cannot be fetched again;
    the switch then goes back to the page the form was on (its Referer, when on
    this site), else the queue.
    """
    if request.method in ("GET", "HEAD"):
        query = request.url.query
        return request.url.path + ("?" + query if query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return "/queue"
    return safe_local_path(referer.path + ("?" + referer.query if referer.query else ""))


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
        here=here(request),
        **i18n_context(request),
        ref=reference(request),
        rule_names=rule_names(request),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)
