"""A full case in a real browser (Debian's chromium driven by Playwright).

A clerk requests documents on a flagged claim, uploads the hospital's PDF,
records it received and reviewed, confirms fraud with the amount recovered;
the supervisor opens the hospital's case, sees the recovery in it and in the
indicators, and exports the labels. Screenshots for the clerk's guide go to
test-artifacts/screenshots/ (3x-*.png).
"""

from __future__ import annotations

import json

import pytest

from settlement.money import format_fen, parse_fen_text
from tests.integration import test_review_browser as browser_tests
from tests.integration.test_review_browser import ID_NUMBER, SHOTS, log_in, shot

pytestmark = pytest.mark.integration

# The same fixtures as the other browser tests: a served demo database, chromium.
server = browser_tests.server
browser = browser_tests.browser

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def paid_flagged_claim(server) -> tuple[str, int, str]:
    """A flagged claim the fund paid for: its id, the fund payment (fen), its discharge date."""
    records = {r["claim_id"]: r for r in server["records"]}
    claims = {c["claim_id"]: c for c in server["claims"]}
    for score in sorted(server["scores"], key=lambda s: (s["fraud_score"], s["claim_id"])):
        record = records[score["claim_id"]]
        if score["flagged"] and record["status"] == "settled" and record["fund_pay"] != "0.00":
            day = claims[score["claim_id"]]["discharge_date"]
            return score["claim_id"], parse_fen_text(record["fund_pay"]), day
    raise AssertionError("no paid flagged claim")


def test_a_full_case_from_flag_to_recovery_and_label_export(server, browser, tmp_path):
    base = server["base"]
    claim_id, fund_fen, day = paid_flagged_claim(server)
    html: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    log_in(page, base, "clara")

    # 1. From the flag: the claim page, request documents.
    page.goto(f"{base}/claims/{claim_id}")
    page.check("input[name=action][value=request_documents]")
    page.fill("form.decide textarea[name=note]", "Please send the discharge summary and bills")
    page.click("form.decide button[type=submit]")
    page.wait_for_url(f"**/claims/{claim_id}*")
    request = page.locator("#documents article.doc-request")
    assert request.count() == 1 and request.get_attribute("data-state") == "requested"
    assert "Please send the discharge summary and bills" in request.inner_text()

    # 2. Upload what the hospital sent: documents received.
    page.set_input_files(
        "form.doc-received input[type=file]",
        files=[{"name": "出院小结.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    page.fill("form.doc-received textarea[name=note]", "Arrived by courier")
    page.click("form.doc-received button[type=submit]")
    page.wait_for_url(f"**/claims/{claim_id}*")
    request = page.locator("#documents article.doc-request")
    assert request.get_attribute("data-state") == "received"
    link = request.locator("ul.files a")
    assert link.inner_text() == "出院小结.pdf"
    with page.expect_download() as download_info:
        link.click()
    saved = tmp_path / "download.pdf"
    download_info.value.save_as(saved)
    assert saved.read_bytes() == PDF and download_info.value.suggested_filename == "出院小结.pdf"
    shot(page, "30-case-documents-received")
    html.append(page.content())

    # 3. Reviewed, with what they showed; a note in the thread.
    page.fill("form.doc-reviewed textarea[name=note]", "Bills list the same CT scan twice")
    page.click("form.doc-reviewed button[type=submit]")
    page.wait_for_url(f"**/claims/{claim_id}*")
    assert page.locator("#documents article.doc-request").get_attribute("data-state") == "reviewed"
    page.fill("form.add-note textarea[name=body]", "Phoned the hospital's billing office")
    page.click("form.add-note button[type=submit]")
    page.wait_for_url(f"**/claims/{claim_id}*")
    assert "Phoned the hospital's billing office" in page.locator("ol.notes").inner_text()

    # 4. Confirm fraud with the amount recovered (half of what the fund paid).
    recovered = fund_fen // 2
    page.check("input[name=action][value=confirm_fraud]")
    page.select_option("select[name=fraud_type]", "upcoding")
    page.fill("form.decide textarea[name=note]", "Duplicate CT billing confirmed by the documents")
    page.fill("input[name=recovered_yuan]", format_fen(recovered))
    page.click("form.decide button[type=submit]")
    page.wait_for_url(f"**/claims/{claim_id}*")
    assert page.locator("ol.decisions [data-k=recovered]").last.inner_text() == format_fen(
        recovered
    )
    assert page.locator("h1 .status-confirmed").count() == 1  # by class: any language
    hospital_href = page.locator("dl.facts a[href^='/hospitals/']").first.get_attribute("href")
    shot(page, "31-case-confirmed")
    html.append(page.content())
    context.close()

    # 5. The supervisor opens the hospital's case on that claim's discharge day.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    log_in(page, base, "sam")
    page.goto(base + hospital_href)
    page.fill("form.open-case input[name=period_from]", day)
    page.fill("form.open-case input[name=period_to]", day)
    page.fill("form.open-case textarea[name=note]", "On-site inspection of billing")
    page.click("form.open-case button[type=submit]")
    page.wait_for_url("**/cases/*")
    row = page.locator(f"table.case-claims tr[data-claim='{claim_id}']")
    assert row.get_attribute("data-status") == "confirmed"
    assert row.locator("[data-k=recovered]").inner_text() == format_fen(recovered)
    assert page.locator("dd[data-k=recovered]").inner_text() == format_fen(recovered)
    at_stake = parse_fen_text(page.locator("dd[data-k=at_stake]").inner_text())
    assert at_stake >= fund_fen
    shot(page, "32-hospital-case")
    html.append(page.content())
    # Every claim of the case (the one claim of that day) is decided: it closes.
    assert page.locator("dd[data-k=undecided]").inner_text() == "0"
    page.fill("form.close-case textarea[name=note]", "Recovered; hospital warned")
    page.click("form.close-case button[type=submit]")
    page.wait_for_url("**/cases/*")
    assert page.locator("[data-k=case-state]").get_attribute("data-state") == "closed"
    assert format_fen(recovered) in page.locator("main > p").nth(1).inner_text()

    # 6. The indicators count the recovery; the labels export has the claim as fraud.
    page.goto(f"{base}/indicators?fresh=true")
    recoveries = page.locator("#recoveries table tbody tr")
    assert recoveries.count() == 1
    assert format_fen(recovered) in recoveries.first.inner_text()
    page.locator("#recoveries").screenshot(path=str(SHOTS / "34-indicators-recoveries.png"))
    html.append(page.content())
    page.goto(f"{base}/labels")
    with page.expect_download() as download_info:
        page.click("a[href='/labels/export.jsonl']")
    exported = tmp_path / "labels.jsonl"
    download_info.value.save_as(exported)
    labels = [json.loads(line) for line in exported.read_text().splitlines()]
    mine = [label for label in labels if label["claim_id"] == claim_id]
    assert mine == [
        {
            "claim_id": claim_id,
            "is_fraud": True,
            "fraud_type": "upcoding",
            "decided_by_role": "clerk",
            "decided_at": mine[0]["decided_at"],
        }
    ]
    shot(page, "33-labels")
    html.append(page.content())
    context.close()

    for body in [*html, exported.read_text()]:
        assert not ID_NUMBER.search(body)
    assert not ID_NUMBER.search(server["log"].read_text())
