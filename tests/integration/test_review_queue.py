"""The clerk's queue (issue 17): search, sorting, ageing, bulk decisions, CSV and Excel export."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from review.app import create_app
from review.models import AuditEntry, Claim, Decision
from testkit.review_data import build_demo_db
from tests.review_client import CSRF, login
from tests.xlsx_cells import read_sheet
from yibao.settings import Settings

# an 18-character identity number; national material codes (C + 19 digits) are not one
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
ROW_ID = re.compile(r'<td><a href="/claims/([^"]+)">')


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("review-queue")
    url = f"sqlite:///{root / 'review.db'}"
    data = build_demo_db(url, 300)
    settings = Settings(
        data_dir=root, database_url=url, review_secret_key="s" * 40, review_deadline_days=7
    )
    data.update(root=root, url=url, settings=settings, app=create_app(settings))
    return data


def ids(html: str) -> list[str]:
    return ROW_ID.findall(html)


def flagged(world) -> list[Claim]:
    with world["app"].state.sessions() as db:
        rows = db.scalars(select(Claim).where(Claim.flagged.is_(True))).all()
        for row in rows:
            db.expunge(row)
        return list(rows)


def test_search_by_claim_id_and_hospital(world):
    client = login(world["app"], "sam")
    claim = flagged(world)[0]
    assert ids(client.get(f"/queue?status=all&q={claim.claim_id}").text) == [claim.claim_id]
    by_hospital = ids(client.get(f"/queue?status=all&q={claim.hospital_id}").text)
    expected = {c.claim_id for c in flagged(world) if c.hospital_id == claim.hospital_id}
    assert set(by_hospital) == expected or len(by_hospital) == 50


def test_a_typed_identity_number_finds_the_patient_and_is_never_echoed(world):
    by_person: dict[str, list[str]] = {}
    for c in world["claims"]:
        by_person.setdefault(c["patient"]["person_id"], []).append(c["claim_id"])
    flagged_ids = {c.claim_id for c in flagged(world)}
    person, claims = next(
        (p, [c for c in cs if c in flagged_ids])
        for p, cs in by_person.items()
        if sum(c in flagged_ids for c in cs) >= 1
    )
    client = login(world["app"], "sam")
    response = client.get(f"/queue?status=all&q={person}")
    assert response.status_code == 200
    assert sorted(ids(response.text)) == sorted(claims)
    assert person not in response.text and not ID_NUMBER.search(response.text)
    masked = person[:6] + "*" * 8 + person[-4:]
    assert f'value="{masked}"' in response.text
    # The paging and sorting links carry the masked form only, and still find the patient.
    again = client.get(f"/queue?status=all&sort=claim&q={masked}")
    assert sorted(ids(again.text)) == sorted(claims)
    # Logged out: the login redirect does not carry the number either.
    anonymous = TestClient(world["app"]).get(f"/queue?q={person}", follow_redirects=False)
    assert anonymous.status_code == 303 and person not in anonymous.headers["location"]


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("total", lambda c: (c.total_fen or 0, c.claim_id)),
        ("claim", lambda c: (c.claim_id,)),
        ("hospital", lambda c: (c.hospital_id or "", c.claim_id)),
        ("discharged", lambda c: (c.discharge_date, c.claim_id)),
    ],
)
def test_sorting_by_a_column_both_ways(world, sort, key):
    client = login(world["app"], "sam")
    everyone = sorted(flagged(world), key=key)
    up = ids(client.get(f"/queue?status=all&sort={sort}&dir=asc").text)
    down = ids(client.get(f"/queue?status=all&sort={sort}&dir=desc").text)
    assert up == [c.claim_id for c in everyone][:50]
    assert down == [c.claim_id for c in reversed(everyone)][:50]


def test_unknown_sort_is_a_400(world):
    client = login(world["app"], "sam")
    assert client.get("/queue?sort=password_hash").status_code == 400
    assert client.get("/queue?dir=sideways").status_code == 400


def test_ageing_column_and_overdue_highlighting(world):
    client = login(world["app"], "sam")
    html = client.get("/queue?sort=age").text
    assert "decide within 7 days" in html and 'data-sort="age"' in html
    # The demo claims were submitted in early 2026: every open one is past 7 days.
    assert html.count('class="overdue"') == len(ids(html)) > 0
    oldest = ids(html)[0]
    ages = sorted((c.submitted_at, c.claim_id) for c in flagged(world) if c.status == "open")
    assert oldest == ages[0][1] or ages[0][0] == ages[1][0]


def test_bulk_decisions_are_for_supervisors_and_audited_per_claim(world):
    chosen = [c.claim_id for c in flagged(world) if c.status == "open"][:3]
    form = {"claim_ids": chosen, "action": "clear", "note": "batch reviewed"}
    clara = login(world["app"], "clara")
    refused = clara.post(
        "/queue/decide", data={**form, "csrf_token": CSRF.search(clara.get("/queue").text)[1]}
    )
    assert refused.status_code == 403
    sam = login(world["app"], "sam")
    token = CSRF.search(sam.get("/queue").text).group(1)
    bad = sam.post(
        "/queue/decide", data={**form, "claim_ids": [*chosen, "NO-SUCH"], "csrf_token": token}
    )
    assert bad.status_code == 404
    done = sam.post("/queue/decide", data={**form, "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    with world["app"].state.sessions() as db:
        for claim_id in chosen:
            assert db.get(Claim, claim_id).status == "cleared"
            assert db.scalars(select(Decision.note).where(Decision.claim_id == claim_id)).all() == [
                "batch reviewed"
            ]
            audited = db.scalars(
                select(AuditEntry.action).where(AuditEntry.claim_id == claim_id)
            ).all()
            assert audited == ["decide"]


def test_csv_export_of_the_current_filter(world):
    client = login(world["app"], "sam")
    region = flagged(world)[0].insured_region
    response = client.get(f"/queue.csv?status=all&region={region}&sort=claim&dir=asc")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["content-disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    expected = sorted(c.claim_id for c in flagged(world) if c.insured_region == region)
    assert [r["claim_id"] for r in rows] == expected
    assert {r["insured_region"] for r in rows} == {region}
    assert all(r["submitted_at_utc"].endswith("Z") for r in rows)
    assert not ID_NUMBER.search(response.text)


def test_csv_export_neutralises_formulas(world):
    with world["app"].state.sessions() as db:
        db.add(Claim(claim_id="=HYPERLINK(1)", flagged=True, status="open", hospital_id="@evil"))
        db.commit()
    client = login(world["app"], "sam")
    text = client.get("/queue.csv?q==HYPERLINK").text
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'=HYPERLINK(1)" in cells and "'@evil" in cells


def test_excel_export_holds_the_csv_rows(world):
    """The .xlsx of a filter: the CSV's columns and rows, numbers as numbers, no formula."""
    client = login(world["app"], "sam")
    region = flagged(world)[0].insured_region
    query = f"status=all&region={region}&sort=claim&dir=asc"
    page = client.get(f"/queue?{query}")
    links = re.findall(r'href="(/queue\.(?:csv|xlsx)\?[^"]*)"', page.text)
    assert [link.replace(".csv?", ".xlsx?") for link in links] == [links[1], links[1]]
    response = client.get(f"/queue.xlsx?{query}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert response.headers["Cache-Control"] == "no-store"
    assert 'filename="queue.xlsx"' in response.headers["content-disposition"]
    sheet, formulas = read_sheet(response.content)
    assert formulas == 0
    text_rows = list(csv.reader(io.StringIO(client.get(f"/queue.csv?{query}").text)))
    assert sheet[0] == text_rows[0]
    assert len(sheet) == len(text_rows) > 1
    score, total = text_rows[0].index("fraud_score"), text_rows[0].index("total_yuan")
    for cells, text in zip(sheet[1:], text_rows[1:], strict=True):
        assert cells[score] == float(text[score]) and cells[total] == float(text[total])
        others = [c for i, c in enumerate(cells) if i not in (score, total)]
        expected = [t for i, t in enumerate(text) if i not in (score, total)]
        # age_days is a number in the workbook, text in the CSV
        assert [str(int(c)) if isinstance(c, float) else c for c in others] == expected
    assert not ID_NUMBER.search(str(sheet))


def test_excel_export_neutralises_formulas(world):
    with world["app"].state.sessions() as db:
        if db.get(Claim, "=HYPERLINK(2)") is None:
            db.add(
                Claim(claim_id="=HYPERLINK(2)", flagged=True, status="open", hospital_id="+evil")
            )
            db.commit()
    client = login(world["app"], "sam")
    sheet, formulas = read_sheet(client.get("/queue.xlsx?q==HYPERLINK(2)").content)
    assert formulas == 0
    cells = [cell for row in sheet for cell in row]
    assert "'=HYPERLINK(2)" in cells and "'+evil" in cells
