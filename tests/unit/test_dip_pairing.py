"""Pairing claim lines with settlement records: what counts, and the shortcuts' fallbacks."""

from __future__ import annotations

import io
import json

import pytest

from dip.errors import PairingError
from dip.pairing import PairingCounts, settled_inpatient_cases

CLAIM = {
    "claim_id": "P1",
    "claim_type": "inpatient",
    "hospital": {"hospital_id": "H1", "region": "441800", "level": 3.0},
    "admission_date": "2026-03-01",
    "discharge_date": "2026-03-05",
    "diagnosis": "K35.8",
    "procedures": ["47.01"],
    "items": [{"code": "X", "category": "A", "amount": "10.00"}],
}
RECORD = {
    "claim_id": "P1",
    "status": "settled",
    "claim_type": "inpatient",
    "total": "10.00",
    "fund_pay": "7.50",
}


def cases(claims: list[object], records: list[object], spaced: bool = False) -> list[object]:
    separators = (", ", ": ") if spaced else (",", ":")

    def text(values: list[object]) -> bytes:
        return b"".join(
            (v if isinstance(v, bytes) else json.dumps(v, separators=separators).encode()) + b"\n"
            for v in values
        )

    return list(
        settled_inpatient_cases(
            io.BytesIO(text(claims)), io.BytesIO(text(records)), PairingCounts()
        )
    )


@pytest.mark.parametrize(
    "items",
    [
        [{"code": "a]b", "category": "A", "amount": "10.00"}],  # a ] in a string
        [{"code": "X", "category": "A", "amount": "10.00", "tags": [["x"], []]}],  # nested arrays
        [],
    ],
)
@pytest.mark.parametrize("spaced", [False, True])
def test_a_claim_is_read_whatever_its_items_hold(items: list[object], spaced: bool) -> None:
    (case,) = cases([{**CLAIM, "items": items}], [RECORD], spaced)
    assert (case.claim_id, case.level, case.procedures, case.total_fen, case.fund_pay_fen) == (
        "P1",
        3,
        ("47.01",),
        1000,
        750,
    )


def test_only_settled_inpatient_records_are_cases() -> None:
    claims = [CLAIM, {**CLAIM, "claim_id": "P2"}, {**CLAIM, "claim_id": "P3"}, CLAIM]
    records = [
        RECORD,
        {"claim_id": "P2", "status": "rejected", "errors": []},
        {**RECORD, "claim_id": "P3", "claim_type": "outpatient"},
        {**RECORD, "status": "duplicate"},
    ]
    assert [c.claim_id for c in cases(claims, records)] == ["P1"]
    assert [c.claim_id for c in cases(claims, records, spaced=True)] == ["P1"]


def test_a_line_that_is_not_json_pairs_with_its_fallback_id() -> None:
    line = b"{not json"
    assert cases(
        [line, CLAIM], [{"claim_id": "line:1", "status": "rejected", "errors": []}, RECORD]
    )


@pytest.mark.parametrize("spaced", [False, True])
def test_a_different_claim_id_is_a_pairing_error(spaced: bool) -> None:
    with pytest.raises(PairingError, match="do not answer each other"):
        cases(
            [CLAIM, {**CLAIM, "claim_id": "P2"}], [{**RECORD, "status": "rejected"}, RECORD], spaced
        )
    with pytest.raises(PairingError, match="do not answer each other"):
        cases([CLAIM], [{**RECORD, "claim_id": "P9"}], spaced)


def test_different_counts_are_a_pairing_error() -> None:
    with pytest.raises(PairingError, match="more records"):
        cases([CLAIM], [RECORD, RECORD])
    with pytest.raises(PairingError, match="fewer records"):
        cases([CLAIM, CLAIM], [RECORD])
    with pytest.raises(PairingError, match="not JSON"):
        cases([CLAIM], [b"{broken"])
