"""The second claims world (tests/othergen.py) makes valid, labelled, deterministic claims."""

from __future__ import annotations

import json
from collections import Counter

from detection.facts import facts_from_claim
from settlement.claim import parse_claim
from settlement.jsonio import decode_claim
from settlement.policy_loader import load_policy_dir
from tests.othergen import SCHEMES, generate

BOOK = load_policy_dir(None)


def test_claims_pass_the_claim_contract_and_carry_labels() -> None:
    claims = generate(seed=5, claims=3000)
    assert len(claims) == 3000
    for obj in claims:
        check = parse_claim(decode_claim(json.dumps(obj)), BOOK)
        assert check.claim is not None, (obj["claim_id"], check.issues)
        facts = facts_from_claim(check.claim)
        assert facts.is_fraud == (obj["fraud_type"] is not None)
    kinds = Counter(c["fraud_type"] for c in claims if c["is_fraud"])
    assert set(kinds) <= set(SCHEMES)
    assert len(kinds) >= 4
    assert 0.005 < sum(kinds.values()) / len(claims) < 0.15


def test_same_seed_same_claims_other_seed_other_world() -> None:
    assert generate(seed=2, claims=500) == generate(seed=2, claims=500)
    ids = {c["hospital"]["hospital_id"] for c in generate(seed=3, claims=500)}
    assert ids.isdisjoint({c["hospital"]["hospital_id"] for c in generate(seed=2, claims=500)})
