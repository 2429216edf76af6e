"""Invariants of settlement, checked on generated claims (hypothesis)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.batch import settle_lines
from settlement.engine import Settler
from settlement.idnumber import check_character
from settlement.money import parse_fen_text
from settlement.policy_loader import load_policy_dir
from settlement.state import SpillingState

from .reference_settlement import reference_settle

POLICIES = Path(__file__).parent / "golden_policies"
BOOK = load_policy_dir(POLICIES)
# The 2026 version of each test policy, as plain data for the reference.
PLAIN_POLICY = {
    path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))["versions"][-1]
    for path in POLICIES.glob("*.yaml")
}
AMOUNT_FIELDS = (
    "total",
    "category_self_pay",
    "eligible",
    "deductible",
    "fund_pay",
    "over_cap",
    "over_price",
    "ci_pay",
    "ma_pay",
)


def person(n: int) -> str:
    first = f"4418021980{(n % 12) + 1:02d}{(n % 28) + 1:02d}{n % 1000:03d}"
    return first + check_character(first)


cents = st.integers(min_value=0, max_value=5_000_000)
amount_text = cents.map(lambda c: f"{c // 100}.{c % 100:02d}")


@st.composite
def claims(draw: st.DrawFn, claim_id: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["inpatient", "outpatient", "ltc"]))
    insured = draw(st.sampled_from(["441800", "440100"]))
    region = insured if kind == "ltc" else draw(st.sampled_from(["441800", "440100", "440300"]))
    month = draw(st.integers(1, 12))
    stay = 0 if kind == "outpatient" else draw(st.integers(0, 20))
    items = draw(
        st.lists(
            st.fixed_dictionaries(
                {"code": st.just("X"), "category": st.sampled_from("ABC"), "amount": amount_text}
            ),
            min_size=1,
            max_size=6,
        )
    )
    claim: dict[str, Any] = {
        "claim_id": claim_id,
        "claim_type": kind,
        "submitted_at": "2026-12-31T09:00:00+08:00",
        "patient": {
            "person_id": person(draw(st.integers(0, 3))),
            "scheme": draw(st.sampled_from(["employee", "resident"])),
            "insured_region": insured,
            "intercity_registered": draw(st.booleans()),
        },
        "hospital": {"hospital_id": "H1", "region": region, "level": draw(st.integers(1, 3))},
        "admission_date": f"2026-{month:02d}-01",
        "discharge_date": f"2026-{month:02d}-{1 + stay:02d}",
        "diagnosis": "J18.9",
        "items": items,
    }
    if kind == "ltc":
        claim["ltc"] = {
            "setting": draw(st.sampled_from(["institutional", "home"])),
            "days": draw(st.integers(1, stay + 1)),
        }
    return claim


@st.composite
def claim_batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 12))
    batch = [draw(claims(f"C{n}")) for n in range(count)]
    # re-send a few claims (possibly changed) to exercise duplicates
    for n in draw(st.lists(st.integers(0, count - 1), max_size=3)):
        batch.append(draw(claims(f"C{n}")))
    return batch


def settle_all(batch: list[dict[str, Any]], settler: Settler | None = None) -> list[dict[str, Any]]:
    lines = "\n".join(json.dumps(claim) for claim in batch).encode("utf-8")
    return list(settle_lines(settler or Settler(BOOK), io.BytesIO(lines)))


@settings(max_examples=300, deadline=None)
@given(claim_batches())
def test_engine_agrees_with_the_reference_to_the_fen(batch: list[dict[str, Any]]) -> None:
    records = settle_all(batch)
    expected = reference_settle(batch, PLAIN_POLICY)
    for record, want in zip(records, expected, strict=True):
        for key, value in want.items():
            assert record[key] == value, (key, record, want)


@settings(max_examples=200, deadline=None)
@given(claim_batches())
def test_amounts_add_up_and_are_never_negative(batch: list[dict[str, Any]]) -> None:
    for record in settle_all(batch):
        assert record["status"] in ("settled", "duplicate")
        fen = {key: parse_fen_text(record[key]) for key in (*AMOUNT_FIELDS, "patient_pay")}
        assert all(value >= 0 for value in fen.values()), record
        # section 6: patient_pay after all layers (ci_pay and ma_pay are 0 here: no section 8)
        assert fen["fund_pay"] + fen["ci_pay"] + fen["ma_pay"] + fen["patient_pay"] == fen["total"]
        assert fen["over_price"] == fen["ci_pay"] == fen["ma_pay"] == 0
        assert fen["category_self_pay"] + fen["eligible"] == fen["total"]
        assert fen["fund_pay"] <= fen["eligible"]


@settings(max_examples=150, deadline=None)
@given(claim_batches())
def test_settling_the_same_claims_again_never_pays_twice(batch: list[dict[str, Any]]) -> None:
    settler = Settler(BOOK)
    first = settle_all(batch, settler)
    again = settle_all(batch, settler)
    assert all(record["status"] == "duplicate" for record in again)
    paid_first = {r["claim_id"]: r["fund_pay"] for r in first if r["status"] == "settled"}
    for record in again:
        assert record["fund_pay"] == paid_first[record["claim_id"]]
        assert {k: v for k, v in record.items() if k != "status"} == {
            k: v
            for k, v in next(r for r in first if r["claim_id"] == record["claim_id"]).items()
            if k != "status"
        }


@settings(max_examples=150, deadline=None)
@given(claim_batches())
def test_a_fund_payment_never_takes_the_year_past_the_cap(batch: list[dict[str, Any]]) -> None:
    paid: dict[str, int] = {}  # person -> fund paid this year (all claims are in 2026)
    by_id = {claim["claim_id"]: claim for claim in reversed(batch)}  # first occurrence wins
    for record in settle_all(batch):
        claim = by_id[record["claim_id"]]
        if record["status"] != "settled" or claim["claim_type"] == "ltc":
            continue
        patient = claim["patient"]
        cap_fen = (
            PLAIN_POLICY[patient["insured_region"]]["schemes"][patient["scheme"]]["annual_cap"]
            * 100
        )
        before = paid.get(patient["person_id"], 0)
        fund = parse_fen_text(record["fund_pay"])
        over = parse_fen_text(record["over_cap"])
        if fund:
            assert before + fund <= cap_fen, (before, fund, cap_fen)
        if over:
            assert before + fund >= cap_fen, "over_cap only once the cap is reached"
        paid[patient["person_id"]] = before + fund


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=40), st.binary(max_size=40).map(repr)), max_size=8))
def test_every_nonblank_line_gets_exactly_one_answer(lines: list[str]) -> None:
    text = "\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines)
    records = list(settle_lines(Settler(BOOK), io.BytesIO(text.encode("utf-8"))))
    nonblank = [line for line in text.encode("utf-8").split(b"\n") if line.strip()]
    assert len(records) == len(nonblank)
    assert all(record["status"] == "rejected" or "fund_pay" in record for record in records)


@settings(max_examples=60, deadline=None)
@given(claim_batches())
def test_spilling_state_answers_like_the_in_memory_state(batch: list[dict[str, Any]]) -> None:
    spilling = SpillingState(flush_every=2, filter_bits=1 << 6)  # tiny: forces disk and collisions
    try:
        doubled = batch + batch
        assert settle_all(doubled, Settler(BOOK, spilling)) == settle_all(doubled)
    finally:
        spilling.close()
