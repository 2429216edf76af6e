"""Per-scheme and per-slice metrics of `yibao evaluate`, on cases small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from models.metrics import scheme_metrics, slice_metrics, top_share


def test_a_scheme_is_ranked_against_honest_claims_only() -> None:
    # a: found at the top; b: ranked below every honest claim. Pooled together, b's
    # claims would push a's AP down and a's would lift b's: per scheme they must not.
    scores = np.array([0.9, 0.8, 0.1, 0.05, 0.5, 0.4, 0.3, 0.2])
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    types = ["a", "a", "b", "b", None, None, None, None]
    out = scheme_metrics(scores, labels, types, capacity=0.25)
    assert out["a"] == {"ap": 1.0, "recall_at_capacity": 1.0, "claims": 2}
    # b's two claims rank 5th and 6th among b and the 4 honest ones: AP = (1/5 + 2/6) / 2
    assert out["b"]["ap"] == pytest.approx((1 / 5 + 2 / 6) / 2)
    assert out["b"]["recall_at_capacity"] == 0.0
    assert set(out) == {"a", "b"}


def test_a_fraudulent_claim_without_a_type_is_unspecified() -> None:
    out = scheme_metrics(np.array([0.9, 0.1]), np.array([1, 0]), [None, None], capacity=0.5)
    assert out == {"unspecified": {"ap": 1.0, "recall_at_capacity": 1.0, "claims": 1}}


def test_slices_rank_within_and_count_recall_in_the_one_queue() -> None:
    scores = np.array([0.9, 0.2, 0.8, 0.7, 0.1, 0.3])
    labels = np.array([1, 0, 0, 1, 1, 0])
    regions = ["r1", "r1", "r2", "r2", "r2", "r3"]
    # capacity 2 of 6 claims: the queue holds the claims scored 0.9 and 0.8
    out = slice_metrics(scores, labels, regions, capacity=1 / 3)
    assert out["r1"] == {"ap": 1.0, "recall_at_capacity": 1.0, "claims": 2, "positives": 1}
    # r2: fraud scored 0.7 and 0.1, honest 0.8: AP = (1/2 + 2/3) / 2; neither fraud queued
    assert out["r2"]["ap"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert out["r2"]["recall_at_capacity"] == 0.0
    assert (out["r2"]["claims"], out["r2"]["positives"]) == (3, 2)
    # one class only: AP undefined, recall undefined without fraud
    assert out["r3"] == {"ap": None, "recall_at_capacity": None, "claims": 1, "positives": 0}


def test_the_queue_is_the_top_share_with_ties_in_file_order() -> None:
    flagged = top_share(np.array([0.5, 0.9, 0.5, 0.5]), capacity=0.5)
    assert flagged.tolist() == [True, True, False, False]
    assert top_share(np.array([0.1, 0.2]), capacity=0.0001).sum() == 1  # at least one


def test_the_commands_default_capacity_is_the_library_one() -> None:
    from models.metrics import DEFAULT_CAPACITY
    from yibao.commands import detect

    assert detect.DEFAULT_CAPACITY == DEFAULT_CAPACITY
