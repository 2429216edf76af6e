"""The case-file services without HTTP: notes, document requests, recoveries, hospital cases.

Runs against a real SQLite database file migrated to the newest schema, with
attachments written to a temporary data directory.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from review.attachments import Upload
from review.db import make_engine, session_factory, upgrade_head
from review.errors import Conflict, InvalidInput, NotAllowed, NotFound, TooLarge, Unsupported
from review.models import (
    Attachment,
    AuditEntry,
    Claim,
    ClaimNote,
    Decision,
    DocumentRequest,
    Hospital,
    HospitalCase,
    Settlement,
    User,
)
from review.services import cases, decisions, documents, notes

T0 = datetime(2026, 3, 1, 9, 0)
ID = "110101199003074578"
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
LIMIT = 4096


@pytest.fixture
def db(tmp_path) -> Session:
    engine = make_engine(f"sqlite:///{tmp_path / 'review.db'}")
    upgrade_head(engine)
    session = session_factory(engine)()
    for name, role in (
        ("clara", "clerk"),
        ("colin", "clerk"),
        ("sam", "supervisor"),
        ("dana", "data_scientist"),
    ):
        session.add(User(name=name, role=role, password_hash="-", active=True, created_at=T0))
    session.add(Hospital(hospital_id="H1", region="440100", level=3))
    # C0..C3 of H1 discharged in March, paid by the fund; C4 of H1 in May with no
    # settlement loaded; C5 rejected by settlement.
    for n, (day, total, fund, status) in enumerate(
        [
            (date(2026, 3, 2), 100000, 80000, "settled"),
            (date(2026, 3, 5), 50000, 30000, "settled"),
            (date(2026, 3, 9), 20000, 15000, "settled"),
            (date(2026, 3, 20), 10000, 9000, "settled"),
            (date(2026, 5, 1), 40000, None, None),
            (date(2026, 3, 25), 70000, None, "rejected"),
        ]
    ):
        session.add(
            Claim(
                claim_id=f"C{n}",
                flagged=True,
                status="open",
                hospital_id="H1",
                discharge_date=day,
                total_fen=total,
                fraud_score=0.9 - n / 10,
            )
        )
        if status:
            session.add(
                Settlement(
                    claim_id=f"C{n}",
                    status=status,
                    total_fen=total,
                    fund_pay_fen=fund,
                    record_json="{}",
                )
            )
    session.commit()
    yield session
    session.close()
    engine.dispose()


def user(db: Session, name: str) -> User:
    found = db.scalar(select(User).where(User.name == name))
    assert found is not None
    return found


def audit_of(db: Session, claim_id: str | None = None) -> list[tuple[str, str]]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    if claim_id is not None:
        query = query.where(AuditEntry.claim_id == claim_id)
    return [(e.action, e.detail) for e in db.scalars(query)]


def request_documents(db: Session, who: str = "clara", claim_id: str = "C0") -> DocumentRequest:
    decisions.decide(db, user(db, who), claim_id, "request_documents", f"discharge summary {ID}")
    request = documents.outstanding(db, claim_id)
    assert request is not None
    return request


# --- notes -------------------------------------------------------------------------------


def test_a_note_is_masked_on_write_kept_in_order_and_audited(db):
    clara, sam = user(db, "clara"), user(db, "sam")
    notes.add_note(db, clara, "C0", f"  phoned the hospital about {ID}  ")
    notes.add_note(db, sam, "C0", "ask for the nursing records too")
    thread = notes.thread(db, "C0")
    assert [(n.user_name, n.role) for n in thread] == [("clara", "clerk"), ("sam", "supervisor")]
    assert thread[0].body == "phoned the hospital about 110101********4578"
    stored = " ".join(n.body for n in db.scalars(select(ClaimNote))) + str(audit_of(db))
    assert not ID_NUMBER.search(stored)
    assert audit_of(db, "C0")[0] == ("note", "phoned the hospital about 110101********4578")


def test_notes_are_append_only_and_need_a_reviewer_and_text(db):
    note = notes.add_note(db, user(db, "clara"), "C0", "first")
    note.body = "rewritten"
    with pytest.raises(PermissionError, match="append-only"):
        db.commit()
    db.rollback()
    with pytest.raises(NotAllowed, match="needs role clerk or supervisor"):
        notes.add_note(db, user(db, "dana"), "C0", "x")
    with pytest.raises(InvalidInput, match="cannot be empty"):
        notes.add_note(db, user(db, "clara"), "C0", "   ")
    with pytest.raises(NotFound):
        notes.add_note(db, user(db, "clara"), "nope", "x")
    assert [n.body for n in notes.thread(db, "C0")] == ["first"]


# --- document requests ---------------------------------------------------------------------


def test_requesting_documents_opens_a_request_and_a_second_waits_for_the_first(db):
    request = request_documents(db)
    assert (request.state, request.requested_by) == ("requested", "clara")
    assert request.asked == "discharge summary 110101********4578"
    assert db.get(Claim, "C0").status == "documents_requested"
    assert [a for a, _ in audit_of(db, "C0")] == ["decide", "documents_requested"]
    with pytest.raises(Conflict, match="documents are already requested"):
        decisions.decide(db, user(db, "clara"), "C0", "request_documents", "again")
    db.rollback()
    assert len(db.scalars(select(DocumentRequest)).all()) == 1
    assert len(db.scalars(select(Decision)).all()) == 1
    with pytest.raises(Conflict, match="C0: documents are already requested"):
        decisions.decide_many(db, user(db, "sam"), ["C1", "C0"], "request_documents", "bulk")
    assert db.get(Claim, "C1").status == "open"  # nothing decided when one is refused


def test_received_with_files_then_reviewed_then_asked_again(db, tmp_path):
    clara = user(db, "clara")
    store = tmp_path / "attachments"
    request = request_documents(db)
    uploads = [Upload("出院小结.pdf", PDF), Upload(f"../../{ID}.png", PNG)]
    documents.record_received(
        db, clara, request.id, uploads, "by post", directory=store, max_bytes=LIMIT
    )
    assert request.state == "received" and request.received_by == "clara"
    files = documents.attachments_of(db, "C0")
    assert [(f.file_name, f.content_type, f.size_bytes) for f in files] == [
        ("出院小结.pdf", "application/pdf", len(PDF)),
        ("110101********4578.png", "image/png", len(PNG)),
    ]
    on_disk = sorted(p.name for p in store.iterdir())
    assert on_disk == sorted(f.stored_name for f in files)
    assert all(re.fullmatch(r"[0-9a-f]{32}", name) for name in on_disk)
    assert (store / files[0].stored_name).read_bytes() == PDF
    documents.record_reviewed(db, clara, request.id, f"bills match the summary {ID}")
    assert request.state == "reviewed" and request.reviewed_note.endswith("110101********4578")
    assert [a for a, _ in audit_of(db, "C0")] == [
        "decide",
        "documents_requested",
        "documents_received",
        "documents_reviewed",
    ]
    assert not ID_NUMBER.search(str(audit_of(db)))
    # A reviewed request no longer blocks asking for more.
    decisions.decide(db, clara, "C0", "request_documents", "the nursing records")
    assert [r.state for r in documents.requests_of(db, "C0")] == ["reviewed", "requested"]


def test_invalid_transitions_are_refused_and_change_nothing(db, tmp_path):
    clara = user(db, "clara")
    store = tmp_path / "attachments"
    request = request_documents(db)
    with pytest.raises(Conflict, match="the documents are requested: only a request received"):
        documents.record_reviewed(db, clara, request.id, "too early")
    documents.record_received(
        db, clara, request.id, [Upload("a.pdf", PDF)], "", directory=store, max_bytes=LIMIT
    )
    with pytest.raises(Conflict, match="the documents are received: only a request requested"):
        documents.record_received(
            db, clara, request.id, [Upload("b.pdf", PDF)], "", directory=store, max_bytes=LIMIT
        )
    documents.record_reviewed(db, clara, request.id, "fine")
    for attempt in (
        lambda: documents.record_reviewed(db, clara, request.id, "again"),
        lambda: documents.record_received(
            db, clara, request.id, [Upload("c.pdf", PDF)], "", directory=store, max_bytes=LIMIT
        ),
    ):
        with pytest.raises(Conflict, match="the documents are reviewed"):
            attempt()
    assert len(list(store.iterdir())) == 1 and len(documents.attachments_of(db, "C0")) == 1
    with pytest.raises(NotFound, match="no such document request"):
        documents.record_reviewed(db, clara, 999, "x")


def test_files_are_checked_before_anything_is_stored(db, tmp_path):
    clara = user(db, "clara")
    store = tmp_path / "attachments"
    request = request_documents(db)

    def receive(*uploads: Upload) -> None:
        documents.record_received(
            db, clara, request.id, list(uploads), "", directory=store, max_bytes=LIMIT
        )

    with pytest.raises(TooLarge, match=r"big\.pdf is larger than the limit of 4,096 bytes"):
        receive(Upload("ok.pdf", PDF), Upload("big.pdf", PDF + bytes(LIMIT)))
    with pytest.raises(Unsupported, match=r"page\.pdf is not a PDF, PNG or JPEG file"):
        receive(Upload("page.pdf", b"<html><script>alert(1)</script></html>"))
    with pytest.raises(Unsupported, match=r"empty\.png is not a PDF"):
        receive(Upload("empty.png", b""))
    with pytest.raises(InvalidInput, match="attach the documents received"):
        receive()
    with pytest.raises(InvalidInput, match="at most 10 files"):
        receive(*[Upload(f"{n}.pdf", PDF) for n in range(11)])
    assert not store.exists() or list(store.iterdir()) == []
    assert request.state == "requested" and db.scalars(select(Attachment)).all() == []
    receive(Upload("exactly-the-limit.pdf", PDF + bytes(LIMIT - len(PDF))))
    assert request.state == "received"


def test_only_the_claims_clerk_or_a_supervisor_moves_its_documents(db, tmp_path):
    store = tmp_path / "attachments"
    request = request_documents(db)  # clara decided, so the claim is hers
    for name, error in (("colin", NotAllowed), ("dana", NotAllowed)):
        with pytest.raises(error):
            documents.record_received(
                db,
                user(db, name),
                request.id,
                [Upload("a.pdf", PDF)],
                "",
                directory=store,
                max_bytes=LIMIT,
            )
    documents.record_received(
        db,
        user(db, "sam"),
        request.id,
        [Upload("a.pdf", PDF)],
        "",
        directory=store,
        max_bytes=LIMIT,
    )
    attachment = documents.attachments_of(db, "C0")[0]
    with pytest.raises(NotAllowed, match="documents are for roles clerk and supervisor only"):
        documents.read_attachment(db, user(db, "dana"), attachment.id, directory=store)
    # any clerk may read them (as any clerk may open the claim), and it is audited
    found, data = documents.read_attachment(db, user(db, "colin"), attachment.id, directory=store)
    assert data == PDF and found.file_name == "a.pdf"
    assert audit_of(db, "C0")[-1] == ("attachment_download", f"attachment {attachment.id}")
    with pytest.raises(NotFound):
        documents.read_attachment(db, user(db, "colin"), 999, directory=store)


# --- amounts recovered -----------------------------------------------------------------------


def test_confirming_fraud_records_the_amount_recovered_up_to_the_fund_payment(db):
    clara, sam = user(db, "clara"), user(db, "sam")
    decision = decisions.decide(db, clara, "C0", "confirm_fraud", "upcoded", "upcoding", 80000)
    assert decision.recovered_fen == 80000 and db.get(Claim, "C0").recovered_fen == 80000
    assert audit_of(db, "C0")[-1] == (
        "decide",
        "confirm_fraud (upcoding), recovered 800.00 yuan: upcoded",
    )
    with pytest.raises(InvalidInput, match=r"300\.01 yuan is more than the 300\.00 yuan at stake"):
        decisions.decide(db, clara, "C1", "confirm_fraud", "x", "", 30001)
    with pytest.raises(InvalidInput, match="cannot be negative"):
        decisions.decide(db, clara, "C1", "confirm_fraud", "x", "", -1)
    with pytest.raises(InvalidInput, match="goes with confirming fraud only"):
        decisions.decide(db, clara, "C1", "clear", "x", "", 100)
    assert db.get(Claim, "C1").status == "open"
    # Without a settlement record the claim's total is the limit.
    decisions.decide(db, clara, "C4", "confirm_fraud", "x", "", 40000)
    # An override to "clear" takes the recovery back off the claim (the decision keeps it).
    decisions.decide(db, sam, "C0", "clear", "the hospital proved the bills")
    assert db.get(Claim, "C0").recovered_fen is None
    assert decision.recovered_fen == 80000


# --- hospital cases --------------------------------------------------------------------------


def test_a_case_groups_the_hospitals_flagged_claims_of_its_period_with_totals(db):
    clara, sam = user(db, "clara"), user(db, "sam")
    case = cases.open_case(db, sam, "H1", date(2026, 3, 1), date(2026, 3, 31), f"audit {ID}")
    assert case.state == "open" and case.note == "audit 110101********4578"
    decisions.decide(db, clara, "C0", "confirm_fraud", "x", "upcoding", 50000)
    decisions.decide(db, clara, "C1", "clear", "fine")
    claims = cases.case_claims(db, case)
    assert [c.claim_id for c in claims] == ["C0", "C1", "C2", "C3", "C5"]  # not May's C4
    by_id = {c.claim_id: c for c in claims}
    assert by_id["C0"].fraud_type == "upcoding" and by_id["C0"].recovered_fen == 50000
    assert by_id["C5"].undecidable and by_id["C5"].at_stake_fen == 0
    totals = cases.totals(claims)
    assert totals == cases.Totals(
        claims=5,
        decided=2,
        confirmed=1,
        cleared=1,
        undecided=2,  # C2 and C3; the rejected C5 cannot be decided
        at_stake_fen=80000 + 30000 + 15000 + 9000,
        recovered_fen=50000,
    )
    assert ("case_open", "case 1 H1 2026-03-01 to 2026-03-31: audit 110101********4578") in (
        audit_of(db)
    )


def test_a_case_closes_only_when_every_claim_is_decided_and_keeps_its_totals(db):
    clara, sam = user(db, "clara"), user(db, "sam")
    case = cases.open_case(db, sam, "H1", date(2026, 3, 1), date(2026, 3, 10), "audit")
    decisions.decide(db, clara, "C0", "confirm_fraud", "x", "", 12345)
    with pytest.raises(Conflict, match="2 claim\\(s\\) of this case are not decided yet"):
        cases.close_case(db, sam, case.id, "done")
    decisions.decide(db, clara, "C1", "clear", "x")
    decisions.decide(db, clara, "C2", "request_documents", "x")
    with pytest.raises(Conflict, match="1 claim\\(s\\)"):
        cases.close_case(db, sam, case.id, "done")  # waiting for documents is not decided
    decisions.decide(db, clara, "C2", "clear", "x")
    with pytest.raises(InvalidInput, match="say how the case ends"):
        cases.close_case(db, sam, case.id, " ")
    cases.close_case(db, sam, case.id, "recovered and fined")
    assert (case.state, case.closed_by, case.closed_claims) == ("closed", "sam", 3)
    assert (case.closed_at_stake_fen, case.closed_recovered_fen) == (125000, 12345)
    with pytest.raises(Conflict, match="the case is closed: it cannot be closed"):
        cases.close_case(db, sam, case.id, "again")
    cases.reopen_case(db, sam, case.id, "a claim was decided wrongly")
    assert case.state == "open" and case.closed_recovered_fen is None
    assert [a for a, _ in audit_of(db) if a.startswith("case_")] == [
        "case_open",
        "case_close",
        "case_reopen",
    ]


def test_cases_are_for_supervisors_and_never_overlap(db):
    clara, sam = user(db, "clara"), user(db, "sam")
    with pytest.raises(NotAllowed, match="needs role supervisor"):
        cases.open_case(db, clara, "H1", date(2026, 3, 1), date(2026, 3, 31), "x")
    with pytest.raises(NotFound, match="no such hospital"):
        cases.open_case(db, sam, "H9", date(2026, 3, 1), date(2026, 3, 31), "x")
    with pytest.raises(InvalidInput, match="ends before it begins"):
        cases.open_case(db, sam, "H1", date(2026, 3, 31), date(2026, 3, 1), "x")
    with pytest.raises(InvalidInput, match="say why"):
        cases.open_case(db, sam, "H1", date(2026, 3, 1), date(2026, 3, 31), "")
    first = cases.open_case(db, sam, "H1", date(2026, 3, 1), date(2026, 3, 31), "March")
    with pytest.raises(Conflict, match="case 1 already covers 2026-03-01 to 2026-03-31"):
        cases.open_case(db, sam, "H1", date(2026, 3, 31), date(2026, 5, 31), "overlaps")
    second = cases.open_case(db, sam, "H1", date(2026, 4, 1), date(2026, 5, 31), "April-May")
    assert [c.claim_id for c in cases.case_claims(db, second)] == ["C4"]
    with pytest.raises(NotAllowed):
        cases.close_case(db, clara, first.id, "x")
    assert [c.id for c in cases.hospital_cases(db, "H1")] == [second.id, first.id]
    assert db.scalars(select(HospitalCase)).all().__len__() == 2
