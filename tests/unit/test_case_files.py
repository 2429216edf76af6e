"""Pure rules of the case files: request and case states, amounts recovered, attachment files."""

from __future__ import annotations

import re

import pytest

from review import attachments
from review.errors import Conflict, InvalidInput
from review.services import cases, documents, recovery

ID = "110101199003074578"  # an identity number (a valid check digit)
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16


def test_a_document_request_goes_requested_then_received_then_reviewed():
    assert documents.next_state("requested", "receive") == "received"
    assert documents.next_state("received", "review") == "reviewed"


@pytest.mark.parametrize(
    ("state", "event", "message"),
    [
        ("requested", "review", "the documents are requested: only a request received can be"),
        ("received", "receive", "the documents are received: only a request requested can be"),
        ("reviewed", "receive", "the documents are reviewed"),
        ("reviewed", "review", "the documents are reviewed"),
        ("requested", "approve", "nothing can be marked approve"),
    ],
)
def test_every_other_document_transition_is_a_conflict_naming_the_state(state, event, message):
    with pytest.raises(Conflict, match=message):
        documents.next_state(state, event)


def test_a_case_closes_and_reopens_and_nothing_else():
    assert cases.next_state("open", "close") == "closed"
    assert cases.next_state("closed", "reopen") == "open"
    with pytest.raises(Conflict, match="the case is closed: it cannot be closed"):
        cases.next_state("closed", "close")
    with pytest.raises(Conflict, match="the case is open: it cannot be reopened"):
        cases.next_state("open", "reopen")


@pytest.mark.parametrize(
    ("typed", "fen"),
    [("1234.5", 123450), ("0", 0), ("0.01", 1), (" 1,234.56 ", 123456), ("", None), (None, None)],
)
def test_recovered_yuan_in_the_form_is_fen_in_storage(typed, fen):
    assert recovery.parse_recovered_yuan(typed) == fen


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-5", "not a non-negative amount"),
        ("-0", "not a non-negative amount"),
        ("12.345", "more than 2 decimal places"),
        ("1e3", "not a non-negative amount"),
        ("twelve", "not a non-negative amount"),
        ("123456789", "over the maximum"),
        ("9" * 200, "longer than 100 characters"),
    ],
)
def test_a_recovered_amount_that_is_not_yuan_is_refused_naming_it(typed, message):
    with pytest.raises(InvalidInput, match=f"amount recovered: .*{message}"):
        recovery.parse_recovered_yuan(typed)


def test_the_amount_at_stake_is_what_the_fund_paid():
    assert recovery.amount_at_stake(50000, "settled", 32100) == 32100
    assert recovery.amount_at_stake(50000, "rejected", None) == 0
    assert recovery.amount_at_stake(50000, "duplicate", 32100) == 0
    assert recovery.amount_at_stake(50000, None, None) == 50000  # no settlement loaded
    assert recovery.amount_at_stake(None, None, None) == 0


def test_a_recovery_is_between_nothing_and_the_amount_at_stake():
    assert recovery.check_recovered(0, 100) == 0
    assert recovery.check_recovered(100, 100) == 100
    with pytest.raises(InvalidInput, match="cannot be negative"):
        recovery.check_recovered(-1, 100)
    with pytest.raises(InvalidInput, match=r"1\.01 yuan is more than the 1\.00 yuan at stake"):
        recovery.check_recovered(101, 100)


def test_files_are_known_by_their_first_bytes_only():
    assert attachments.sniff(PDF) == "application/pdf"
    assert attachments.sniff(PNG) == "image/png"
    assert attachments.sniff(JPEG) == "image/jpeg"
    assert attachments.sniff(b"<!doctype html><script>alert(1)</script>") is None
    assert attachments.sniff(b"GIF89a") is None
    assert attachments.sniff(b"") is None
    assert attachments.sniff(b" %PDF-1.4") is None  # not at the start


@pytest.mark.parametrize(
    ("uploaded", "kind", "kept"),
    [
        ("scan.png", "application/pdf", "scan.pdf"),  # the content decides the extension
        ("../../../etc/passwd", "application/pdf", "passwd.pdf"),
        ("..\\..\\windows\\win.ini", "image/png", "win.png"),
        ("/abs/path/出院小结.PDF", "application/pdf", "出院小结.pdf"),
        ("photo.jpeg", "image/jpeg", "photo.jpg"),
        ("a<b>\"c'\x00\x1f;d.pdf", "application/pdf", "a_b__c____d.pdf"),
        ("..", "application/pdf", "document.pdf"),
        ("", "image/png", "document.png"),
        (".hidden.pdf", "application/pdf", "hidden.pdf"),
    ],
)
def test_an_uploaded_name_is_cut_to_a_safe_display_name(uploaded, kind, kept):
    assert attachments.safe_name(uploaded, kind) == kept


def test_an_identity_number_in_a_file_name_is_masked_and_long_names_are_cut():
    name = attachments.safe_name(f"病历 {ID}.pdf", "application/pdf")
    assert not ID_NUMBER.search(name) and name.startswith("病历 110101") and name.endswith(".pdf")
    assert len(attachments.safe_name("x" * 500 + ".png", "image/png")) == 104


def test_a_download_name_has_an_ascii_fallback_and_the_utf8_name():
    header = attachments.content_disposition('出院 "小结".pdf')
    assert header.startswith('attachment; filename="')
    fallback = header.split('"')[1]
    assert fallback.isascii() and '"' not in fallback and fallback.endswith(".pdf")
    assert "filename*=UTF-8''%E5%87%BA%E9%99%A2" in header


def test_only_names_this_module_made_are_read_from_disk(tmp_path):
    name = attachments.new_stored_name()
    assert re.fullmatch(r"[0-9a-f]{32}", name) and name != attachments.new_stored_name()
    path = attachments.write_file(tmp_path / "attachments", name, PDF)
    assert path.read_bytes() == PDF and (path.stat().st_mode & 0o777) == 0o600
    assert (path.parent.stat().st_mode & 0o777) == 0o700
    for bad in ("../review.db", "/etc/passwd", name + "/..", name.upper(), ""):
        with pytest.raises(ValueError, match="not a stored attachment name"):
            attachments.stored_path(tmp_path, bad)
    with pytest.raises(FileExistsError):
        attachments.write_file(tmp_path / "attachments", name, PNG)  # never overwritten


def test_recoveries_by_month_count_claims_and_sum_fen():
    from review import indicators as ind

    rows = ind.recoveries_by_month([("2026-04", 1, 5000), ("2026-03", 2, 12345)])
    assert rows == [
        {"month": "2026-03", "claims_recovered": 2, "recovered": "123.45"},
        {"month": "2026-04", "claims_recovered": 1, "recovered": "50.00"},
    ]
