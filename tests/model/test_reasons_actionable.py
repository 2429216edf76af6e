"""Reasons shown to clerks are things they can check, never structural facts."""

from __future__ import annotations

import numpy as np

from detection.features import FEATURE_NAMES
from detection.reasons import STRUCTURAL
from models.matrix import featurize
from models.score import TOP_REASONS, Scorer
from tests.model.facts import facts_of


def test_structural_features_never_appear_as_reasons(world) -> None:
    ordered, feats, _ = featurize(facts_of(world[:50]))
    # Contributions where the structural features push the score up the most.
    contrib = np.zeros(len(FEATURE_NAMES) + 1)
    for rank, name in enumerate(sorted(STRUCTURAL)):
        contrib[FEATURE_NAMES.index(name)] = 10.0 - rank
    contrib[FEATURE_NAMES.index("cost_vs_peer_ratio")] = 1.0
    contrib[FEATURE_NAMES.index("price_vs_code_max")] = 0.5
    record = Scorer(None)._record(ordered[0], feats[0], 0.9, contrib)
    shown = [r["feature"] for r in record["reasons"]]
    assert shown == ["cost_vs_peer_ratio", "price_vs_code_max"]
    assert len(shown) <= TOP_REASONS and not set(shown) & STRUCTURAL
