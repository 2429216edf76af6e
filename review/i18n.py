"""The interface's languages: Chinese (zh-CN) by default, English selectable.

Strings are marked with gettext (``_()`` in templates, :func:`N_` for Python
constants translated where they are rendered) and translated from the gettext
catalogue ``review/locale/<locale>/LC_MESSAGES/messages.po``. The catalogue is
read from its ``.po`` file when the app starts (compiled in memory by Babel),
so no compiled ``.mo`` file can drift from the text that was reviewed. English
is the source language and needs no catalogue.

The choice is per session (the 中文 / English switch in the navigation), kept
across logging in and out. Storage and exports do not depend on it.
"""

from __future__ import annotations

import gettext as gettext_module
import io
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from markupsafe import Markup

#: The interface's locales, the default first.
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
#: What the switch shows for each locale (each in its own language).
LOCALE_NAMES = {"zh_CN": "中文", "en": "English"}
#: The ``<html lang>`` value of each locale (BCP 47).
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}
#: The session key holding the chosen locale.
SESSION_KEY = "lang"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark ``message`` for extraction only; it is translated where it is rendered."""
    return message


class Msg(str):
    """A message with placeholders, English as a ``str``, translatable where it is shown.

    ``Msg(N_("{name} is too long"), name="hospital")`` reads ``hospital is too
    long`` in logs and the command line; a page shows ``translate(msg, gettext)``
    in the session's language.
    """

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Msg:
        self = super().__new__(cls, msgid.format(**params) if params else msgid)
        self.msgid = msgid
        self.params = params
        return self


def translate(text: Any, gettext: Callable[[str], str]) -> str:
    """``text`` in the language of ``gettext``: a :class:`Msg` or a marked string.

    Text that is not in the catalogue (a message from a library) is shown as it is.
    """
    if isinstance(text, Msg):
        # Values that are messages themselves (Msg: a reason, a state's word) are
        # translated too; any other value (a code, an id, a name) is shown as it is.
        params = {
            k: translate(v, gettext) if isinstance(v, Msg) else v for k, v in text.params.items()
        }
        return gettext(text.msgid).format(**params)
    if isinstance(text, str):
        return gettext(text) if text else text
    return str(text)


def catalogue_path(locale: str, locale_dir: Path = LOCALE_DIR) -> Path:
    """Where the ``.po`` catalogue of ``locale`` lives."""
    return locale_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_translations(
    locale_dir: Path = LOCALE_DIR,
) -> dict[str, gettext_module.NullTranslations]:
    """Every locale's translations, from the ``.po`` catalogues (fuzzy entries left out).

    Raises:
        FileNotFoundError: a catalogue is missing (a broken installation).
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    translations: dict[str, gettext_module.NullTranslations] = {}
    for locale in LOCALES:
        if locale == "en":  # the source language
            translations[locale] = gettext_module.NullTranslations()
            continue
        with catalogue_path(locale, locale_dir).open("rb") as po:
            catalog = read_po(po, locale=locale)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        translations[locale] = gettext_module.GNUTranslations(buffer)
    return translations


def normal_locale(value: Any) -> str:
    """``value`` when it is a known locale, else the default."""
    return value if isinstance(value, str) and value in LOCALES else DEFAULT_LOCALE


def session_locale(session: Mapping[str, Any]) -> str:
    """The locale the session chose (the default when none or an unknown one)."""
    return normal_locale(session.get(SESSION_KEY))


def template_callables(translations: gettext_module.NullTranslations) -> dict[str, Any]:
    """``_``, ``gettext`` and ``ngettext`` for one render, as Jinja2's new-style gettext.

    Like ``Environment.install_gettext_callables(newstyle=True)``, but per render,
    so that two requests in two languages can share one environment: the result
    is marked safe only after translation, and ``%(name)s`` placeholders are
    filled from keyword arguments (escaped when autoescaping).
    """

    @pass_context
    def gettext(context: Any, message: str, **variables: Any) -> str:
        text: str = translations.gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    @pass_context
    def ngettext(context: Any, singular: str, plural: str, n: int, **variables: Any) -> str:
        variables.setdefault("num", n)
        text: str = translations.ngettext(singular, plural, n)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    @pass_context
    def pgettext(context: Any, message_context: str, message: str, **variables: Any) -> str:
        # a word whose translation depends on what it names ("open": a claim, a case)
        text: str = translations.pgettext(message_context, message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext, "pgettext": pgettext}


def translator(request: Any) -> Callable[[str], str]:
    """The request's ``gettext`` for text rendered in Python (charts, error pages)."""
    return translations_for(request).gettext


def translations_for(request: Any) -> gettext_module.NullTranslations:
    """The translations of the locale the request's session chose."""
    session = getattr(request.state, "session", None) or {}
    table: dict[str, gettext_module.NullTranslations] = request.app.state.translations
    return table[session_locale(session)]
