"""The review app in a real browser: Debian's chromium driven by Playwright.

Starts ``yibao review serve`` on a free port against a temporary SQLite DB of
generated claims; logs in, filters the queue, opens a claim, decides, and finds
the decision in the audit log, in Chinese (the default language) as a clerk
sees it; the DIP pages in English, chosen with the switch. Screenshots go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from settlement.idnumber import mask_person_id
from testkit.review_data import build_demo_db, demo_password
from testkit.rule_hit_claims import load_rule_hit_claims

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
# an 18-character identity number; national material codes (C + 19 digits) are not one
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is needed: apt-get install chromium (.ci/run does it)")
    root = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{root / 'review.db'}"
    data = build_demo_db(url, 300, seed=11)
    load_rule_hit_claims(url)  # three claims with audit-rule hits
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(root),
        "DATABASE_URL": url,
        "REVIEW_SECRET_KEY": "b" * 40,
        "YIBAO_LOG_LEVEL": "DEBUG",
    }
    log_path = root / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "yibao.cli", "review", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the review app did not start:\n" + log_path.read_text())
        yield {"base": base, "log": log_path, **data}
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page, base: str, name: str, lang: str = "zh_CN") -> None:
    """Log in, first choosing the interface language with the switch in the header."""
    page.goto(base + "/login")
    if lang != "zh_CN":
        page.click(f"form.lang button[value={lang}]")
        page.wait_for_url("**/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", demo_password(name))
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/queue")


def test_clerk_reviews_a_claim_and_supervisor_sees_it(server, browser, tmp_path):
    base = server["base"]
    html: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(base + "/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").inner_text() == "登录"
    shot(page, "01-login")
    log_in(page, base, "clara")
    assert page.locator("nav a[href='/queue']").inner_text() == "审核队列"
    shot(page, "02-queue")
    html.append(page.content())

    # Filter the queue by region: every row shown is of that region.
    region = page.locator("select[name=region] option").nth(1).get_attribute("value") or ""
    region = region or page.locator("select[name=region] option").nth(1).inner_text()
    page.select_option("select[name=region]", region)
    page.click("form.filters button[type=submit]")
    page.wait_for_url(f"**region={region}**")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() > 0
    for i in range(rows.count()):
        assert rows.nth(i).locator("td.region").get_attribute("data-code") == region
    shot(page, "03-queue-filtered")
    html.append(page.content())

    # Open the top claim and decide it.
    link = page.locator("table.queue tbody tr td a[href^='/claims/']").first
    claim_id = link.inner_text()
    link.click()
    page.wait_for_url(f"**/claims/{claim_id}")
    assert page.locator("table.breakdown").count() == 1
    assert page.locator("svg.chart").count() == 4
    shot(page, "04-claim")
    html.append(page.content())
    page.check("input[name=action][value=confirm_fraud]")
    page.select_option("select[name=fraud_type]", "upcoding")
    note = f"Browser test: items billed twice on {claim_id}"
    page.fill("textarea[name=note]", note)
    page.click("form.decide button[type=submit]")
    page.wait_for_url(f"**/claims/{claim_id}")
    assert note in page.locator("ol.decisions").inner_text()
    assert "已认定违规" in page.locator("h1").inner_text()
    assert "高套收费" in page.locator("ol.decisions").inner_text()  # the fraud type's name
    html.append(page.content())

    # A clerk cannot open supervisor pages.
    for path in ("/audit", "/indicators"):
        response = page.goto(base + path)
        assert response is not None and response.status == 403
    # A POST without its CSRF token is refused, even with the session cookie.
    refused = page.request.post(
        f"{base}/claims/{claim_id}/decisions", form={"action": "clear", "note": "no token"}
    )
    assert refused.status == 403
    page.goto(f"{base}/claims/{claim_id}")
    assert "no token" not in page.content()
    context.close()

    # The supervisor finds the decision, with who and when, in the audit log.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, base, "sam")
    page.goto(f"{base}/audit")
    entry = page.locator("table.audit tbody tr", has_text=note)
    assert entry.count() == 1
    text = entry.inner_text()
    assert "clara" in text and "审核员" in text and "审核决定" in text and claim_id in text
    shot(page, "05-audit")
    html.append(page.content())
    page.goto(f"{base}/indicators")
    assert page.locator("svg.chart").count() >= 5
    shot(page, "06-indicators")
    html.append(page.content())
    page.goto(f"{base}/hospitals")
    page.locator("table.grid tbody tr td a").first.click()
    page.wait_for_url("**/hospitals/*")
    shot(page, "07-hospital")
    html.append(page.content())

    # The queue's exports, CSV and Excel (whose cells are in the workbook's XML), are
    # searched for identity numbers with the pages.
    page.goto(f"{base}/queue")
    for link, name in (("a.csv:not(.xlsx)", "queue.csv"), ("a.xlsx", "queue.xlsx")):
        with page.expect_download() as download_info:
            page.click(link)
        download_info.value.save_as(tmp_path / name)
    exported = (tmp_path / "queue.csv").read_text(encoding="utf-8")
    html.append(exported)
    first_claim = exported.splitlines()[1].split(",")[0]  # a header, then claims
    with zipfile.ZipFile(tmp_path / "queue.xlsx") as workbook:
        xml = [workbook.read(n).decode("utf-8") for n in workbook.namelist() if n.endswith(".xml")]
    assert any(first_claim in part for part in xml)  # the same claims, in the workbook
    html.extend(xml)

    # An identity number typed into a filter is masked in the access log too.
    typed = server["claims"][0]["patient"]["person_id"]
    page.goto(f"{base}/queue?hospital={typed}")
    html.append(page.content())

    # The switch turns the same page to English, and back.
    page.click("form.lang button[value=en]")
    page.wait_for_selector("html[lang=en]")
    assert page.locator("nav a[href='/queue']").inner_text() == "Queue"
    assert "hospital=" in page.url  # back to the page it was on
    page.click("form.lang button[value=zh_CN]")
    page.wait_for_selector("html[lang=zh-CN]")
    context.close()

    for body in html:
        assert not ID_NUMBER.search(body)
    assert {p.name for p in SHOTS.glob("*.png")} >= {"02-queue.png", "04-claim.png"}
    log = server["log"].read_text()
    assert not ID_NUMBER.search(log)
    assert f"hospital={mask_person_id(typed)}" in log and "Logging error" not in log


def test_clerk_filters_certain_rule_hits_and_reads_the_evidence(server, browser):
    base = server["base"]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, base, "clara")
    page.select_option("select[name=status]", "all")
    page.select_option("select[name=result]", "certain")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**result=certain**")
    links = page.locator("table.queue tbody tr td a[href^='/claims/']")
    assert links.all_inner_texts() == ["RH-CERTAIN"]
    links.first.click()
    page.wait_for_url("**/claims/RH-CERTAIN")
    hits = page.locator("table.audit-hits tbody tr")
    assert hits.count() == 2
    assert "20.00" in hits.filter(has_text="YB-XB-002").inner_text()
    shot(page, "08-claim-audit-hits")
    html = page.content()
    page.goto(f"{base}/hospitals/H44010600001")
    assert page.locator("table.rule-sums tbody tr").count() == 3
    html += page.content()
    context.close()
    assert not ID_NUMBER.search(html)


def test_supervisor_opens_a_hospitals_dip_page_with_numbers(server, browser):
    base = server["base"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, base, "sam", lang="en")
    page.click("nav >> text=DIP")
    page.wait_for_url("**/dip")
    assert page.locator("[data-k=point_value]").count() >= 1
    shot(page, "20-dip-areas")
    # from an area's hospital table to that hospital's DIP page
    page.locator("tr[data-hospital] a").first.click()
    page.wait_for_url("**/dip?year=*")
    number = re.compile(r"-?[0-9]+\.[0-9]{2,4}")
    for key in ("points", "cmi", "entitlement", "item_fund", "special_review"):
        text = page.locator(f"[data-k={key}]").first.inner_text().strip()
        assert number.fullmatch(text), (key, text)
    assert page.locator("#dip-months tr[data-period]").count() >= 1
    shot(page, "21-hospital-dip")
    assert not ID_NUMBER.search(page.content())
    context.close()
