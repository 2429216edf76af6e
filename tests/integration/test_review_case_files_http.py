"""Case files over HTTP (FastAPI TestClient) on a real SQLite database.

Uploads are judged by their content and size (a PDF named .png, an HTML page
named .pdf, an oversized file, a path in the name), downloads are for
clerks and supervisors only with headers that keep them out of caches and
browsers' renderers, and the recovered amount reaches cases and indicators.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from review.app import create_app
from review.models import Attachment, Claim, DocumentRequest, Settlement
from testkit.review_data import build_demo_db
from tests.review_client import CSRF, login
from yibao.settings import Settings

ID = "110101199003074578"
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
LIMIT = 2048


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("review-case-files")
    url = f"sqlite:///{root / 'review.db'}"
    data = build_demo_db(url, 120, seed=5)
    settings = Settings(
        data_dir=root,
        database_url=url,
        review_secret_key="s" * 40,
        review_attachment_max_bytes=LIMIT,
    )
    data.update(root=root, settings=settings, app=create_app(settings))
    return data


def token_of(client: TestClient, path: str = "/queue") -> str:
    return CSRF.search(client.get(path).text).group(1)


def paid_flagged_claims(world) -> list[tuple[str, int]]:
    """Flagged, settled claims still open, with what the fund paid (fen)."""
    with world["app"].state.sessions() as db:
        rows = db.execute(
            select(Claim.claim_id, Settlement.fund_pay_fen)
            .join(Settlement, Settlement.claim_id == Claim.claim_id)
            .where(
                Claim.flagged.is_(True),
                Claim.status == "open",
                Settlement.status == "settled",
                Settlement.fund_pay_fen > 0,
            )
            .order_by(Claim.claim_id)
        ).all()
    return [(r[0], r[1]) for r in rows]


def request_documents(client: TestClient, claim_id: str) -> int:
    response = client.post(
        f"/claims/{claim_id}/decisions",
        data={
            "action": "request_documents",
            "note": "please send the discharge summary",
            "csrf_token": token_of(client),
        },
    )
    assert response.status_code == 200, response.text[:300]
    with _db(client) as db:
        request = db.scalar(
            select(DocumentRequest).where(
                DocumentRequest.claim_id == claim_id, DocumentRequest.state == "requested"
            )
        )
        assert request is not None
        return request.id


def _db(client: TestClient):
    return client.app.state.sessions()


def upload(client: TestClient, request_id: int, *files: tuple[str, bytes, str]):
    return client.post(
        f"/documents/{request_id}/received",
        data={"csrf_token": token_of(client), "note": "came by post"},
        files=[("files", f) for f in files],
    )


def state_of(client: TestClient, request_id: int) -> str:
    with _db(client) as db:
        return db.get(DocumentRequest, request_id).state


@pytest.fixture(scope="module")
def received(world):
    """A claim whose documents came as a PDF named .png, and its attachment."""
    clara = login(world["app"], "clara")
    claim_id, _ = paid_flagged_claims(world)[0]
    request_id = request_documents(clara, claim_id)
    response = upload(clara, request_id, (f"../../../{ID} scan.png", PDF, "image/png"))
    assert response.status_code == 200, response.text[:300]
    with _db(clara) as db:
        attachment = db.scalar(select(Attachment).where(Attachment.request_id == request_id))
        db.expunge(attachment)
    return {"claim_id": claim_id, "request_id": request_id, "attachment": attachment}


def test_a_pdf_named_png_is_stored_as_the_pdf_it_is_under_a_random_name(world, received):
    attachment = received["attachment"]
    assert attachment.content_type == "application/pdf"
    assert attachment.file_name == "110101********4578 scan.pdf"
    stored = Path(world["root"]) / "attachments" / attachment.stored_name
    assert stored.read_bytes() == PDF and re.fullmatch(r"[0-9a-f]{32}", stored.name)
    # nothing landed where the path in the name pointed, nor under the static files
    static = Path(__file__).resolve().parents[2] / "review" / "static"
    assert not list(static.rglob(attachment.stored_name))
    assert sorted(p.name for p in Path(world["root"]).iterdir() if p.is_dir()) == ["attachments"]
    page = login(world["app"], "clara").get(f"/claims/{received['claim_id']}").text
    assert "110101********4578 scan.pdf" in page and not ID_NUMBER.search(page)
    assert state_of(login(world["app"], "clara"), received["request_id"]) == "received"


def test_the_download_is_for_clerks_and_supervisors_with_safe_headers(world, received):
    path = f"/attachments/{received['attachment'].id}"
    for name in ("clara", "colin", "sam"):
        response = login(world["app"], name).get(path)
        assert response.status_code == 200 and response.content == PDF
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="110101********4578 scan.pdf"')
        assert "filename*=UTF-8''110101%2A%2A%2A%2A%2A%2A%2A%2A4578%20scan.pdf" in disposition
    dana = login(world["app"], "dana")
    refused = dana.get(path)
    assert refused.status_code == 403 and PDF not in refused.content
    assert "documents are for roles clerk and supervisor only" in refused.text
    # a data scientist sees that a file exists, not a link to it
    page = dana.get(f"/claims/{received['claim_id']}").text
    assert "scan.pdf" in page and f'href="{path}"' not in page
    anonymous = TestClient(world["app"]).get(path, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert login(world["app"], "sam").get("/attachments/99999").status_code == 404


def test_an_html_page_named_pdf_is_refused_and_nothing_is_stored(world):
    clara = login(world["app"], "clara")
    claim_id, _ = paid_flagged_claims(world)[0]
    request_id = request_documents(clara, claim_id)
    html = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
    before = set((Path(world["root"]) / "attachments").iterdir())
    response = upload(clara, request_id, ("report.pdf", html, "application/pdf"))
    assert response.status_code == 415
    assert "report.pdf is not a PDF, PNG or JPEG file (judged by its content)" in response.text
    assert "<script>alert" not in response.text
    # an oversized file: 413, read only one byte past the limit
    response = upload(clara, request_id, ("big.pdf", PDF + bytes(LIMIT), "application/pdf"))
    assert response.status_code == 413 and "larger than the limit of 2,048 bytes" in response.text
    # a good file beside a bad one: neither is stored
    response = upload(
        clara, request_id, ("ok.pdf", PDF, "application/pdf"), ("x.pdf", b"MZ\x90", "x/y")
    )
    assert response.status_code == 415
    assert set((Path(world["root"]) / "attachments").iterdir()) == before
    assert state_of(clara, request_id) == "requested"


def test_a_body_longer_than_ten_files_is_refused_before_it_is_read(world):
    clara = login(world["app"], "clara")
    claim_id, _ = paid_flagged_claims(world)[0]
    request_id = request_documents(clara, claim_id)
    body = b"x" * (LIMIT * 10 + (1 << 20) + 1)
    response = clara.post(
        f"/documents/{request_id}/received",
        content=body,
        headers={
            "content-type": "multipart/form-data; boundary=b",
            "x-unused": "the CSRF token is not even looked for",
        },
    )
    assert response.status_code == 413
    assert "the upload is larger than 1,069,056 bytes in all" in response.text
    assert response.headers["x-frame-options"] == "DENY"  # the app's headers, as ever
    assert state_of(clara, request_id) == "requested"


def test_transitions_out_of_order_are_refused_with_409(world):
    clara = login(world["app"], "clara")
    claim_id, _ = paid_flagged_claims(world)[0]
    request_id = request_documents(clara, claim_id)
    response = clara.post(
        f"/documents/{request_id}/reviewed", data={"note": "x", "csrf_token": token_of(clara)}
    )
    assert response.status_code == 409
    assert "the documents are requested: only a request received can be" in response.text
    # asking again while documents are outstanding
    response = clara.post(
        f"/claims/{claim_id}/decisions",
        data={"action": "request_documents", "note": "again", "csrf_token": token_of(clara)},
    )
    assert response.status_code == 409 and "documents are already requested" in response.text
    # colin may not move clara's claim, dana may not post at all
    colin = login(world["app"], "colin")
    assert upload(colin, request_id, ("a.pdf", PDF, "application/pdf")).status_code == 403
    dana = login(world["app"], "dana")
    assert upload(dana, request_id, ("a.pdf", PDF, "application/pdf")).status_code == 403
    assert state_of(clara, request_id) == "requested"


def test_notes_over_http_are_masked_and_shown_in_beijing_time(world):
    clara = login(world["app"], "clara")
    claim_id, _ = paid_flagged_claims(world)[-1]
    response = clara.post(
        f"/claims/{claim_id}/notes",
        data={"body": f"patient {ID} called", "csrf_token": token_of(clara)},
    )
    assert response.status_code == 200
    page = clara.get(f"/claims/{claim_id}").text
    assert "patient 110101********4578 called" in page and "Beijing time" in page
    assert not ID_NUMBER.search(page)
    dana = login(world["app"], "dana")
    refused = dana.post(
        f"/claims/{claim_id}/notes", data={"body": "x", "csrf_token": token_of(dana)}
    )
    assert refused.status_code == 403


def test_a_recovered_amount_is_checked_and_counted_by_cases_and_indicators(world):
    clara, sam = login(world["app"], "clara"), login(world["app"], "sam")
    claim_id, fund = paid_flagged_claims(world)[1]

    def confirm(amount: str):
        return clara.post(
            f"/claims/{claim_id}/decisions",
            data={
                "action": "confirm_fraud",
                "fraud_type": "upcoding",
                "note": "billed twice",
                "recovered_yuan": amount,
                "csrf_token": token_of(clara),
            },
        )

    over = f"{fund // 100 + 1}.00"
    response = confirm(over)
    assert response.status_code == 400 and "at stake on this claim" in response.text
    assert confirm("-3").status_code == 400 and confirm("1.234").status_code == 400
    recovered = fund // 2
    assert confirm(f"{recovered // 100}.{recovered % 100:02d}").status_code == 200
    with _db(clara) as db:
        claim = db.get(Claim, claim_id)
        assert (claim.status, claim.recovered_fen) == ("confirmed", recovered)
        hospital_id, day = claim.hospital_id, claim.discharge_date
    page = clara.get(f"/claims/{claim_id}").text
    assert f'<span data-k="recovered">{recovered // 100}.{recovered % 100:02d}</span>' in page

    # a clerk cannot open a case; the supervisor opens one on that day
    form = {"period_from": str(day), "period_to": str(day), "note": f"inspection of {ID}"}
    refused = clara.post(
        f"/hospitals/{hospital_id}/cases", data={**form, "csrf_token": token_of(clara)}
    )
    assert refused.status_code == 403
    bad = sam.post(
        f"/hospitals/{hospital_id}/cases",
        data={**form, "period_to": "not a date", "csrf_token": token_of(sam)},
    )
    assert bad.status_code == 400 and "invalid value for period_to" in bad.text
    opened = sam.post(f"/hospitals/{hospital_id}/cases", data={**form, "csrf_token": token_of(sam)})
    assert opened.status_code == 200 and "/cases/" in str(opened.url)
    text = opened.text
    yuan = f"{recovered // 100}.{recovered % 100:02d}"
    assert f'<dd data-k="recovered">{yuan}</dd>' in text
    assert f'data-claim="{claim_id}" data-status="confirmed"' in text
    assert "inspection of 110101********4578" in text and not ID_NUMBER.search(text)
    for page in (clara.get("/cases").text, clara.get(f"/hospitals/{hospital_id}").text):
        assert hospital_id in page and "/cases/" in page and not ID_NUMBER.search(page)

    # indicators: one claim recovered, the amount, this month
    page = sam.get("/indicators?fresh=true").text
    assert 'id="recoveries"' in page
    rows = list(csv.DictReader(io.StringIO(sam.get("/indicators/recoveries.csv").text)))
    assert [(r["claims_recovered"], r["recovered"]) for r in rows] == [("1", yuan)]
