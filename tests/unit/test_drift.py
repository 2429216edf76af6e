"""Population stability index per feature against the training data's deciles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.drift import PSI_THRESHOLD, drift, psi, reference


def test_psi_of_two_share_vectors_by_hand() -> None:
    # (0.5 - 0.25) ln 2 + (0.5 - 0.75) ln (2/3)
    expected = 0.25 * math.log(2) - 0.25 * math.log(2 / 3)
    assert psi(np.array([0.25, 0.75]), np.array([0.5, 0.5])) == pytest.approx(expected)
    assert psi(np.array([0.3, 0.7]), np.array([0.3, 0.7])) == 0.0


def test_the_training_data_itself_does_not_drift_and_a_shifted_feature_does() -> None:
    rng = np.random.default_rng(0)
    train = np.column_stack([rng.normal(0, 1, 20_000), rng.integers(0, 3, 20_000)])
    ref = reference(train, ["amount", "level"])
    assert len(ref["amount"]["edges"]) == 9  # deciles
    assert len(ref["level"]["edges"]) == 3  # a feature of three values keeps few bins
    same = drift(ref, train, ["amount", "level"])
    assert max(same.values()) < 1e-9
    new = np.column_stack([rng.normal(0.5, 1, 5_000), rng.integers(0, 3, 5_000)])
    moved = drift(ref, new, ["amount", "level"])
    assert moved["amount"] > PSI_THRESHOLD > moved["level"]


def test_a_feature_the_reference_lacks_is_an_error() -> None:
    ref = reference(np.zeros((10, 1)), ["a"])
    with pytest.raises(ValueError, match="'b'"):
        drift(ref, np.zeros((10, 1)), ["b"])
