"""The review app's pages in Chinese (the default) and in English (the switch).

Every main page, the login page and the error pages are fetched in zh-CN and
searched for interface words left in English; the same pages in English show
those words and none of the Chinese interface's. The language is the session's: kept across log-in
and log-out, set only by a POST with the CSRF token, back to local pages only.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from review.app import create_app
from testkit.review_data import build_demo_db, demo_password
from tests.review_client import CSRF
from tests.review_client import login as shared_login
from yibao.settings import Settings

# Chinese interface words that must not be on an English page. (Names from the data
# are not interface: rule names from the catalogue, areas and diagnoses have
# Chinese names and are shown in both languages.)
CHINESE_UI = (
    "审核队列",
    "退出登录",
    "结算单",
    "定点医疗机构",
    "待审核",
    "筛选",
    "状态",
    "评分",
    "审核决定",
    "监测指标",
    "操作日志",
    "北京时间",
    "第 1 页",
    "参保地",
    "不存在",
)
# Interface words that must not be left in English on a Chinese page (whole words,
# case-sensitive: data such as rule explanations from the settlement core stay English).
ENGLISH_UI = (
    "Queue",
    "Decision",
    "Hospital",
    "Hospitals",
    "Submit",
    "Log out",
    "Log in",
    "Filter",
    "Status",
    "Score",
    "Indicators",
    "Labels",
    "Audit log",
    "Settlement",
    "Diagnosis",
    "Assigned",
    "Patient",
    "Record decision",
    "Back to the queue",
    "Flagged claims",
    "Budget year",
    "Point value",
    "nobody",
    "previous",
    "Beijing time",
    "page 1 of",
    "no such claim",
    "Not decidable",
)
ENGLISH_WORD = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in ENGLISH_UI) + r")\b")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("review-i18n")
    url = f"sqlite:///{root / 'review.db'}"
    data = build_demo_db(url, 160)
    settings = Settings(data_dir=root, database_url=url, review_secret_key="s" * 40)
    data.update(app=create_app(settings))
    return data


def visible_text(html: str) -> str:
    """What a reader sees: tags, attribute values and the language switch left out."""
    html = re.sub(r'<form class="lang".*?</form>', " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def log_in(app, name: str, lang: str | None = None) -> TestClient:
    """Logged in with the interface left in its default language unless ``lang`` is given."""
    return shared_login(app, name, lang=lang)


def main_pages(client: TestClient) -> dict[str, str]:
    """Path -> expected status of every main page, with a claim and a hospital that exist."""
    queue = client.get("/queue?status=all").text
    claim = re.search(r'href="/claims/([^"]+)"', queue).group(1)
    hospital = re.search(r'href="/hospitals/([^"/]+)"', queue).group(1)
    cases = re.findall(r'href="/cases/([0-9]+)"', client.get("/cases").text)
    return {
        "/cases": 200,
        **{f"/cases/{case}": 200 for case in cases[:1]},
        "/cases/999999": 404,
        "/no-such-page": 404,
        "/queue": 200,
        "/queue?status=all&sort=age": 200,
        f"/claims/{claim}": 200,
        "/hospitals": 200,
        f"/hospitals/{hospital}": 200,
        f"/hospitals/{hospital}/dip": 200,
        "/indicators": 200,
        "/labels": 200,
        "/audit": 200,
        "/dip": 200,
        "/claims/NO-SUCH-CLAIM": 404,
        "/hospitals/NO-SUCH": 404,
        "/queue?sort=nonsense": 400,
        "/audit?page=x": 400,
    }


def test_pages_are_in_chinese_by_default(world):
    anonymous = TestClient(world["app"])
    login_page = anonymous.get("/login").text
    assert '<html lang="zh-CN">' in login_page and "登录" in login_page
    assert not ENGLISH_WORD.findall(visible_text(login_page))
    wrong = anonymous.post(
        "/login",
        data={"name": "sam", "password": "wrong", "csrf_token": CSRF.search(login_page)[1]},
    )
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text

    client = log_in(world["app"], "sam")
    # a decision, so that the claim and audit pages show one
    queue = client.get("/queue").text
    claim = re.search(r'href="/claims/([^"]+)"', queue).group(1)
    client.post(
        f"/claims/{claim}/decisions",
        data={
            "action": "confirm_fraud",
            "fraud_type": "upcoding",
            "note": "checked by phone",
            "csrf_token": CSRF.search(queue)[1],
        },
    )
    decided = client.get(f"/claims/{claim}").text
    assert "已认定违规" in decided and "高套收费" in decided and "审核主管" in decided
    # a hospital case, so that the case pages show one
    hospital = re.search(r'href="/hospitals/([^"/]+)"', queue).group(1)
    opened = client.post(
        f"/hospitals/{hospital}/cases",
        data={
            "period_from": "2020-01-01",
            "period_to": "2030-12-31",
            "note": "review",
            "csrf_token": CSRF.search(queue)[1],
        },
    )
    assert opened.status_code == 200 and "办理中" in opened.text and "案件" in opened.text
    for path, status in main_pages(client).items():
        response = client.get(path)
        assert response.status_code == status, path
        assert '<html lang="zh-CN">' in response.text, path
        left = ENGLISH_WORD.findall(visible_text(response.text))
        assert not left, f"{path}: English left on the Chinese page: {sorted(set(left))}"
        assert "退出登录" in response.text and "审核队列" in response.text, path
    assert "结算单不存在" in client.get("/claims/NO-SUCH-CLAIM").text
    assert "页面不存在" in client.get("/no-such-page").text
    assert "排序字段须为以下之一" in client.get("/queue?sort=nonsense").text


def test_forbidden_page_is_in_chinese(world):
    client = log_in(world["app"], "clara")
    response = client.get("/audit")
    assert response.status_code == 403
    assert "需要以下角色" in response.text and "退出登录" in response.text


def test_english_when_chosen(world):
    client = log_in(world["app"], "sam", lang="en")
    for path, status in main_pages(client).items():
        response = client.get(path)
        assert response.status_code == status, path
        assert '<html lang="en">' in response.text, path
        text = visible_text(response.text)
        left = [word for word in CHINESE_UI if word in text]
        assert not left, f"{path}: Chinese interface words on the English page: {left}"
        assert "Log out" in text and "Queue" in text, path
    assert "no such claim" in client.get("/claims/NO-SUCH-CLAIM").text


def test_the_choice_is_the_sessions(world):
    app = world["app"]
    client = TestClient(app)
    token = CSRF.search(client.get("/login").text)[1]
    # without the CSRF token the switch is refused
    assert client.post("/locale", data={"lang": "en"}).status_code == 403
    # back to a local page only, never another site
    moved = client.post(
        "/locale",
        data={"lang": "en", "csrf_token": token, "back": "//evil.example/x"},
        follow_redirects=False,
    )
    assert moved.status_code == 303 and not moved.headers["location"].startswith("//")
    assert '<html lang="en">' in client.get("/login").text
    # kept across logging in and out
    client.post(
        "/login", data={"name": "sam", "password": demo_password("sam"), "csrf_token": token}
    )
    queue = client.get("/queue").text
    assert '<html lang="en">' in queue
    client.post("/logout", data={"csrf_token": CSRF.search(queue)[1]})
    login_page = client.get("/login").text
    assert '<html lang="en">' in login_page
    # an unknown language is the default one
    client.post("/locale", data={"lang": "xx", "csrf_token": CSRF.search(login_page)[1]})
    assert '<html lang="zh-CN">' in client.get("/login").text
    # another browser is not affected
    assert '<html lang="zh-CN">' in TestClient(app).get("/login").text


def test_the_switch_on_a_refused_form_goes_back_to_the_form(world):
    client = log_in(world["app"], "sam", lang="en")
    queue = client.get("/queue").text
    claim = re.search(r'href="/claims/([^"]+)"', queue).group(1)
    form = {"action": "no_such_action", "note": "x", "csrf_token": CSRF.search(queue)[1]}
    back = re.compile(r'<form class="lang".*?name="back" value="([^"]*)"', re.S)
    refused = client.post(
        f"/claims/{claim}/decisions",
        data=form,
        headers={"referer": f"http://testserver/claims/{claim}"},
    )
    assert refused.status_code == 400
    assert back.search(refused.text)[1] == f"/claims/{claim}"
    # no Referer, or another site's: the queue, never the post-only path
    refused = client.post(f"/claims/{claim}/decisions", data=form)
    assert back.search(refused.text)[1] == "/queue"
    refused = client.post(
        f"/claims/{claim}/decisions", data=form, headers={"referer": "http://evil.example/x"}
    )
    assert back.search(refused.text)[1] == "/queue"
