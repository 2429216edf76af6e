"""Behavioural tests: what must hold for any model we ship, whatever its accuracy."""

from __future__ import annotations

import copy
import json

import numpy as np

from detection.features import FeatureState, batch_features
from models.matrix import to_matrix
from models.score import Scorer, hospital_table
from tests.model.facts import facts_of

RECORD_KEYS = {
    "claim_id",
    "fraud_score",
    "flagged",
    "threshold",
    "model_version",
    "rule_hits",
    "reasons",
    "hospital_id",
    "insured_region",
    "scheme",
    "claim_type",
    "discharge_date",
    "total",
}


def _inflate(obj: dict, factor: int) -> dict:
    out = copy.deepcopy(obj)
    for item in out["items"]:
        fen = round(float(item["amount"]) * 100) * factor
        item["amount"] = f"{fen // 100}.{fen % 100:02d}"
    return out


def _history(world: list[dict], n: int) -> tuple[FeatureState, list[dict]]:
    facts = sorted(facts_of(world), key=lambda c: c.sort_key)
    by_id = {c["claim_id"]: c for c in world}
    state = FeatureState()
    batch_features(facts[:n], state)
    return state, [by_id[f.claim_id] for f in facts[n:]]


def test_inflating_amounts_never_lowers_the_score(world, quick_model) -> None:
    state, later = _history(world, 3000)
    scorer = Scorer(quick_model, state)
    checked = 0
    for obj in later[:300]:
        base = state.peek_features(facts_of([obj])[0])
        # An exact copy of an earlier bill stops being one when inflated: not this test's case.
        if base["identical_bill"] or base["duplicate_bills"]:
            continue
        for factor in (2, 3, 10):
            bigger = state.peek_features(facts_of([_inflate(obj, factor)])[0])
            s0, _ = scorer.predict(to_matrix([base]), contributions=False)
            s1, _ = scorer.predict(to_matrix([bigger]), contributions=False)
            assert s1[0] >= s0[0] - 1e-12, (obj["claim_id"], factor, s0[0], s1[0])
        checked += 1
    assert checked > 200


def test_identical_claims_score_identically(world, quick_model) -> None:
    state, later = _history(world, 3500)
    scorer = Scorer(quick_model, state)
    for obj in later[:50]:
        twin = {**obj, "claim_id": obj["claim_id"] + "-twin"}
        a, b = (state.peek_features(facts_of([o])[0]) for o in (obj, twin))
        assert a.values == b.values
        sa, _ = scorer.predict(to_matrix([a, b]), contributions=False)
        assert sa[0] == sa[1]
    # Scoring the same file twice gives the same records.
    first = Scorer(quick_model).score_batch(facts_of(world[:800]))
    again = Scorer(quick_model).score_batch(facts_of(world[:800]))
    assert first == again


def test_renaming_hospitals_changes_no_score(world, quick_model) -> None:
    renamed = json.loads(json.dumps(world[:2000]))
    for c in renamed:
        c["hospital"]["hospital_id"] = "Z-" + c["hospital"]["hospital_id"].lower()
    a = Scorer(quick_model).score_batch(facts_of(world[:2000]))
    b = Scorer(quick_model).score_batch(facts_of(renamed))
    assert [r["fraud_score"] for r in a] == [r["fraud_score"] for r in b]
    assert [r["reasons"] for r in a] == [r["reasons"] for r in b]


def test_score_records_follow_the_format(world, quick_model) -> None:
    facts = facts_of(world[:1000])
    records = Scorer(quick_model).score_batch(facts)
    for rec in records:
        assert set(rec) == RECORD_KEYS
        assert 0.0 <= rec["fraud_score"] <= 1.0
        assert rec["flagged"] == (rec["fraud_score"] >= rec["threshold"])
        for reason in rec["reasons"]:
            assert set(reason) == {"feature", "value", "contribution", "text"}
            assert reason["contribution"] > 0 and reason["text"]
        for hit in rec["rule_hits"]:
            assert set(hit) == {"code", "reason"}
    assert any(rec["reasons"] for rec in records)
    table = hospital_table(sorted(facts, key=lambda c: c.sort_key), records)
    assert [r["rank"] for r in table] == list(range(1, len(table) + 1))
    assert set(table[0]) == {
        "hospital_id",
        "region",
        "level",
        "risk_score",
        "rank",
        "claims",
        "flagged",
        "top_reasons",
    }


def test_stream_scoring_equals_batch_scoring(world, quick_model) -> None:
    facts = sorted(facts_of(world[:400]), key=lambda c: c.sort_key)
    batch = Scorer(quick_model).score_batch(facts)
    streamer = Scorer(quick_model)
    stream = [streamer.score_next(f) for f in facts]
    assert [r["claim_id"] for r in stream] == [r["claim_id"] for r in batch]
    assert np.allclose(
        [r["fraud_score"] for r in stream], [r["fraud_score"] for r in batch], rtol=0, atol=1e-12
    )
