"""The review app's Chinese catalogue is complete: every marked string is translated.

Runs Babel's extraction over review/ with the project's babel.cfg (the same as
``pybabel extract``) and holds review/locale/zh_CN/LC_MESSAGES/messages.po to
it: every message has a non-empty translation with the same placeholders, and
the catalogue has no fuzzy and no obsolete entries. A second check reads the
templates for text a page would show without gettext.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from review.i18n import LOCALES, catalogue_path, load_translations

ROOT = Path(__file__).resolve().parents[2]
REVIEW = ROOT / "review"
TEMPLATES = REVIEW / "templates"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|\{[a-z_]+\}")


Key = tuple[str | None, str]  # (msgctxt, msgid); a plural entry by its singular


def extracted() -> dict[Key, list[str]]:
    """(context, msgid) -> where it is used, from the sources babel.cfg names."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[Key, list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        REVIEW, method_map, options_map
    ):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault((context, msgid), []).append(f"{filename}:{lineno}")
    return found


def key_of(entry) -> Key:
    return entry.context, entry.id if isinstance(entry.id, str) else entry.id[0]


@pytest.fixture(scope="module")
def messages():
    return extracted()


@pytest.fixture(scope="module")
def catalogue():
    with catalogue_path("zh_CN").open("rb") as po:
        return read_po(po, locale="zh_CN")


def test_extraction_finds_the_interface(messages):
    # the navigation, a Python message and a stored code's name are all marked
    wanted = {"Queue", "Log out", "no such claim", "documents requested"}
    assert {(None, msgid) for msgid in wanted} <= set(messages)
    assert len(messages) > 300


def test_every_message_has_a_chinese_translation(messages, catalogue):
    untranslated = []
    for (context, msgid), where in messages.items():
        entry = catalogue.get(msgid, context=context)
        strings = entry.string if entry is not None else ""
        strings = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or not all(s.strip() for s in strings):
            untranslated.append(f"{msgid!r} [{context}] ({where[0]})")
    assert not untranslated, "untranslated (run pybabel, see babel.cfg):\n" + "\n".join(
        untranslated
    )


def test_translations_keep_the_placeholders(catalogue):
    wrong = []
    for entry in catalogue:
        if not entry.id:
            continue
        source = entry.id if isinstance(entry.id, str) else entry.id[0]
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for text in strings:
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(text)):
                wrong.append(f"{source!r} -> {text!r}")
    assert not wrong, "\n".join(wrong)


def test_no_fuzzy_or_obsolete_entries(messages, catalogue):
    assert not catalogue.fuzzy, "the catalogue header is marked fuzzy"
    fuzzy = [entry.id for entry in catalogue if entry.id and entry.fuzzy]
    assert not fuzzy, f"fuzzy entries are not used: {fuzzy}"
    assert not catalogue.obsolete, f"obsolete (#~) entries: {list(catalogue.obsolete)}"
    unused = sorted(
        str(key_of(entry)) for entry in catalogue if entry.id and key_of(entry) not in messages
    )
    assert not unused, f"entries no source uses any more: {unused}"


def test_every_locale_loads():
    translations = load_translations()
    assert set(translations) == set(LOCALES)
    assert translations["zh_CN"].gettext("Queue") == "审核队列"
    assert translations["en"].gettext("Queue") == "Queue"


# Words a page may show untranslated: abbreviations clerks use as they are.
ALLOWED_WORDS = {"CSV", "CMI", "DIP", "ID"}
ATTRIBUTE_TEXT = re.compile(r'\b(?:placeholder|title|alt|aria-label)="([^"{]*[A-Za-z][^"{]*)"')


def shown_text(source: str) -> str:
    """A template's literal text as a browser would show it: no Jinja, tags or code."""
    text = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", source, flags=re.S)
    text = re.sub(r"<(code|script|style)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text)
    return re.sub(r"&[a-z]+;|&#[0-9]+;", " ", text)


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_show_no_text_outside_gettext(template):
    source = (TEMPLATES / template).read_text()
    words = set(re.findall(r"[A-Za-z][A-Za-z'-]+", shown_text(source))) - ALLOWED_WORDS
    assert not words, f"{template}: wrap in {{{{ _('...') }}}}: {sorted(words)}"
    attributes = ATTRIBUTE_TEXT.findall(source)
    assert not attributes, f"{template}: attributes with literal text: {attributes}"
