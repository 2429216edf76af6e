"""Platt calibration, the capacity threshold and the calibration error, on cases checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from models.calibration import (
    Platt,
    capacity_threshold,
    expected_calibration_error,
    fit_platt,
    flagged_share,
)


def test_ece_is_the_claim_weighted_gap_per_bin() -> None:
    # bin 0.1-0.2: mean score 0.15, fraud rate 0 (2 claims); bin 0.9-1.0: mean 0.95,
    # fraud rate 1/2 (2 claims): (2 * 0.15 + 2 * 0.45) / 4 = 0.3
    scores = np.array([0.1, 0.2 - 1e-9, 0.9, 1.0])
    labels = np.array([0, 0, 1, 0])
    assert expected_calibration_error(scores, labels) == pytest.approx(0.3)
    assert expected_calibration_error(np.array([]), np.array([])) is None


def test_scores_that_are_fraud_rates_have_no_calibration_error() -> None:
    scores = np.array([0.25] * 4 + [0.75] * 4)
    labels = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    assert expected_calibration_error(scores, labels) == pytest.approx(0.0)


def test_platt_turns_overconfident_scores_into_fraud_rates() -> None:
    # Raw scores claim twice the log-odds they should: the truth is sigmoid(z / 2).
    rng = np.random.default_rng(0)
    z = rng.normal(-3.0, 2.0, 50_000)
    truth = 1 / (1 + np.exp(-z / 2))
    y = (rng.random(len(z)) < truth).astype(int)
    raw = 1 / (1 + np.exp(-z))
    platt = fit_platt(raw, y)
    assert platt.slope == pytest.approx(0.5, abs=0.05)
    before = expected_calibration_error(raw, y)
    after = expected_calibration_error(platt.apply(raw), y)
    assert before is not None and after is not None
    assert after < 0.01 < before


def test_platt_keeps_the_ranking_and_makes_no_ties() -> None:
    raw = np.linspace(0.9, 0.999999, 200)
    out = Platt(slope=0.7, intercept=-2.0).apply(raw)
    assert np.all(np.diff(out) > 0)


def test_a_model_saved_without_calibration_keeps_its_scores() -> None:
    raw = np.array([0.001, 0.3, 0.97])
    assert Platt.from_dict(None).apply(raw) == pytest.approx(raw)
    stored = Platt(slope=0.8, intercept=-1.5).to_dict()
    assert Platt.from_dict(stored) == Platt(slope=0.8, intercept=-1.5)
    with pytest.raises(ValueError, match="platt"):
        Platt.from_dict({"method": "isotonic"})


def test_the_capacity_threshold_flags_the_capacity_share() -> None:
    scores = np.random.default_rng(1).random(10_000)
    threshold = capacity_threshold(scores, 0.02)
    share = flagged_share(scores, threshold)
    assert share == pytest.approx(0.02, abs=0.0002)
    assert flagged_share(np.array([]), threshold) is None
