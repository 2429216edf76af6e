"""Loading labelled claims: rejected claims skipped and counted, labels file overrides."""

from __future__ import annotations

import json

from models.data import load_claims
from tests.claimgen import generate


def test_rejected_and_repeated_claims_are_skipped_and_counted(tmp_path) -> None:
    claims = generate(seed=3, claims=200, hospitals=10, fraud_hospitals=2)
    bad = dict(claims[0], claim_id="bad-1")
    bad["patient"] = dict(bad["patient"], person_id="123")
    path = tmp_path / "c.jsonl"
    path.write_text(
        "\n".join(
            [
                *(json.dumps(c) for c in claims),
                json.dumps(bad),
                "{not json",
                "",
                json.dumps(claims[5]),
            ]
        )
        + "\n"
    )
    loaded = load_claims(path)
    assert len(loaded.facts) == 200
    assert loaded.skipped == 3
    assert loaded.skipped_by_code == {
        "invalid_person_id": 1,
        "malformed": 1,
        "duplicate_claim_id": 1,
    }
    assert len(loaded.fingerprint) == 64


def test_labels_file_overrides_claim_labels(tmp_path) -> None:
    claims = generate(seed=4, claims=100, hospitals=10, fraud_hospitals=2)
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in claims))
    first, second = claims[0]["claim_id"], claims[1]["claim_id"]
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        json.dumps({"claim_id": first, "is_fraud": True, "fraud_type": "upcoding"})
        + "\n"
        + json.dumps({"claim_id": second, "is_fraud": False, "fraud_type": None})
        + "\n"
        + json.dumps({"claim_id": "unknown", "is_fraud": True, "fraud_type": "x"})
        + "\n"
    )
    plain = {f.claim_id: f for f in load_claims(path).facts}
    loaded = load_claims(path, labels)
    by_id = {f.claim_id: f for f in loaded.facts}
    assert loaded.relabelled == 2
    assert by_id[first].is_fraud is True and by_id[first].fraud_type == "upcoding"
    assert by_id[second].is_fraud is False and by_id[second].fraud_type is None
    others = [cid for cid in by_id if cid not in (first, second)]
    assert all(by_id[c].is_fraud == plain[c].is_fraud for c in others)
    assert loaded.fingerprint != load_claims(path).fingerprint


def test_labels_naming_no_claim_are_counted_and_masked(tmp_path) -> None:
    claims = generate(seed=4, claims=50, hospitals=5, fraud_hospitals=1)
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in claims))
    person_id = claims[0]["patient"]["person_id"]
    rows = [{"claim_id": claims[0]["claim_id"], "is_fraud": True, "fraud_type": "upcoding"}]
    rows += [{"claim_id": f"X{i}", "is_fraud": True, "fraud_type": None} for i in range(7)]
    rows.append({"claim_id": f"Z-{person_id}", "is_fraud": False, "fraud_type": None})
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    loaded = load_claims(path, labels)
    assert loaded.relabelled == 1
    assert loaded.unmatched_labels == 8
    assert len(loaded.unmatched_examples) == 5
    masked = f"Z-{person_id[:6]}{'*' * 8}{person_id[-4:]}"
    assert load_claims(path, labels).unmatched_examples[-1] == "X4"
    assert all(person_id not in e for e in loaded.unmatched_examples)
    only_odd = tmp_path / "odd.jsonl"
    only_odd.write_text(json.dumps(rows[-1]) + "\n")
    assert load_claims(path, only_odd).unmatched_examples == [masked]
    assert load_claims(path).unmatched_labels == 0
