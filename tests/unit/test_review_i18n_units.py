"""review.i18n without the app: messages with values, per-render gettext, locale choice."""

from __future__ import annotations

from jinja2 import Environment

from review.i18n import (
    DEFAULT_LOCALE,
    N_,
    Msg,
    load_translations,
    session_locale,
    template_callables,
    translate,
)


def zh():
    return load_translations()["zh_CN"]


def test_a_message_reads_english_and_translates_with_its_values():
    message = Msg(N_("{name} is too long"), name="hospital")
    assert message == "hospital is too long" and isinstance(message, str)
    assert translate(message, zh().gettext) == "hospital 过长"
    assert translate(message, load_translations()["en"].gettext) == "hospital is too long"


def test_only_values_that_are_messages_are_translated():
    reason = Msg(N_("This claim repeats one already settled: decide the original claim instead."))
    nested = Msg(N_("{claim_id}: {reason}"), claim_id="open", reason=reason)
    text = translate(nested, zh().gettext)
    assert text.startswith("open：") and "请审核原结算单" in text  # the id "open" stays as it is


def test_text_outside_the_catalogue_is_shown_as_it_is():
    assert translate("a library's own message", zh().gettext) == "a library's own message"
    assert translate("", zh().gettext) == ""


def test_template_gettext_escapes_values_and_not_the_translation():
    env = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    page = env.from_string('{{ _("Claim %(id)s", id=x) }} {{ pgettext("case", "open") }}')
    html = page.render(x="<b>", **template_callables(zh()))
    assert html == "结算单 &lt;b&gt; 办理中"
    assert page.render(x="C1", **template_callables(load_translations()["en"])) == "Claim C1 open"


def test_plural_forms():
    env = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    page = env.from_string(
        '{{ ngettext("%(num)s in-patient admission with deductibles %(amount)s;", '
        '"%(num)s in-patient admissions with deductibles %(amount)s;", n, amount="1.00") }}'
    )
    en = template_callables(load_translations()["en"])
    assert page.render(n=1, **en) == "1 in-patient admission with deductibles 1.00;"
    assert page.render(n=2, **en) == "2 in-patient admissions with deductibles 1.00;"
    assert page.render(n=2, **template_callables(zh())) == "住院 2 次，起付线合计 1.00；"


def test_the_sessions_locale():
    assert session_locale({}) == DEFAULT_LOCALE == "zh_CN"
    assert session_locale({"lang": "en"}) == "en"
    assert session_locale({"lang": "fr"}) == "zh_CN"
    assert session_locale({"lang": ["en"]}) == "zh_CN"
