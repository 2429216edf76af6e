"""Feature state machine: stream order equals batch, causality, no identifiers."""

from __future__ import annotations

import json
import pickle
import random

import pytest

from detection.facts import ClaimFacts, facts_from_claim
from detection.features import FEATURE_NAMES, FeatureState, batch_features
from settlement.claim import parse_claim
from settlement.jsonio import decode_claim
from settlement.policy_loader import load_policy_dir
from tests.claimgen import generate

BOOK = load_policy_dir(None)


def to_facts(objs: list[dict]) -> list[ClaimFacts]:
    out = []
    for obj in objs:
        check = parse_claim(decode_claim(json.dumps(obj)), BOOK)
        assert check.claim is not None, check.issues
        out.append(facts_from_claim(check.claim))
    return out


@pytest.fixture(scope="module")
def claims() -> list[dict]:
    return generate(seed=11, claims=1500, hospitals=25, fraud_hospitals=6)


def test_stream_one_by_one_equals_batch(claims: list[dict]) -> None:
    shuffled = claims[:]
    random.Random(3).shuffle(shuffled)
    batch = batch_features(to_facts(shuffled))
    # The stream: each claim arrives as a JSON line, in event order, decoded and scored alone.
    lines = [json.dumps(c) for c in sorted(claims, key=lambda c: to_facts([c])[0].sort_key)]
    state = FeatureState()
    stream = []
    for line in lines:
        claim = parse_claim(decode_claim(line), BOOK).claim
        assert claim is not None
        stream.append(state.update_and_features(facts_from_claim(claim)))
    assert [f.claim_id for f in stream] == [f.claim_id for f in batch]
    assert [f.values for f in stream] == [f.values for f in batch]


def test_features_use_past_claims_only(claims: list[dict]) -> None:
    facts = sorted(to_facts(claims), key=lambda c: c.sort_key)
    full = batch_features(facts)
    prefix = batch_features(facts[:700])
    assert [f.values for f in prefix] == [f.values for f in full[:700]]


def test_state_survives_pickling(claims: list[dict]) -> None:
    facts = sorted(to_facts(claims), key=lambda c: c.sort_key)
    state = FeatureState()
    batch_features(facts[:800], state)
    restored = pickle.loads(pickle.dumps(state))
    assert [f.values for f in batch_features(facts[800:], restored)] == [
        f.values for f in batch_features(facts)[800:]
    ]


def test_renaming_identifiers_changes_no_feature(claims: list[dict]) -> None:
    renamed = json.loads(json.dumps(claims))
    for c in renamed:
        c["hospital"]["hospital_id"] = "X" + c["hospital"]["hospital_id"][::-1]
    a = batch_features(to_facts(claims))
    b = batch_features(to_facts(renamed))
    assert [f.values for f in a] == [f.values for f in b]


def test_no_identifier_is_a_feature() -> None:
    for name in FEATURE_NAMES:
        assert not name.endswith("_id") and "region" not in name and name != "diagnosis"
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)


def test_features_are_finite(claims: list[dict]) -> None:
    import math

    for f in batch_features(to_facts(claims)):
        assert all(math.isfinite(v) for v in f.values)
