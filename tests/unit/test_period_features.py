"""The hospital's period means: so far in the fold (the stream), over the whole period in batch."""

from __future__ import annotations

import numpy as np
import pytest

from detection.feature_names import FEATURE_INDEX, PERIOD_BASES, PERIOD_PREFIX
from detection.features import FeatureState, batch_features, sort_claims, whole_period
from models.data import LoadedClaims, valid_facts
from models.matrix import featurize
from simulator.config import SimConfig
from simulator.generate import simulate_lines


@pytest.fixture(scope="module")
def claims():
    lines = [line.encode() for line in simulate_lines(SimConfig(seed=21, claims=900, days=90))]
    return sort_claims(valid_facts(lines, LoadedClaims(facts=[]), None))


def _columns(feats, names) -> np.ndarray:
    return np.array([[f.values[FEATURE_INDEX[n]] for n in names] for f in feats])


def test_the_fold_gives_the_mean_over_the_hospitals_claims_so_far(claims) -> None:
    feats = batch_features(claims)
    bases = _columns(feats, PERIOD_BASES)
    means = _columns(feats, [PERIOD_PREFIX + n for n in PERIOD_BASES])
    hospitals = [c.hospital_id for c in claims]
    assert len(set(hospitals)) > 3
    for hospital in sorted(set(hospitals)):
        rows = [i for i, h in enumerate(hospitals) if h == hospital]
        counts = np.arange(1, len(rows) + 1)[:, None]
        want = np.cumsum(bases[rows], axis=0) / counts
        np.testing.assert_allclose(means[rows], want, rtol=1e-12, atol=1e-12)


def test_a_review_period_gives_every_claim_its_hospitals_final_mean(claims) -> None:
    state = FeatureState()
    feats = batch_features(claims, state)
    period = whole_period(claims, feats, state)
    names = [PERIOD_PREFIX + n for n in PERIOD_BASES]
    hospitals = [c.hospital_id for c in claims]
    folded, final = _columns(feats, names), _columns(period, names)
    for hospital in sorted(set(hospitals)):
        rows = [i for i, h in enumerate(hospitals) if h == hospital]
        # the value the fold reached at the hospital's last claim, for all its claims
        np.testing.assert_array_equal(final[rows], np.tile(folded[rows[-1]], (len(rows), 1)))
    # every other feature is the fold's
    others = [i for i, n in enumerate(FEATURE_INDEX) if not n.startswith(PERIOD_PREFIX)]
    np.testing.assert_array_equal(
        np.array([f.values for f in period])[:, others],
        np.array([f.values for f in feats])[:, others],
    )


def test_featurize_takes_the_whole_period_only_when_asked(claims) -> None:
    _, _, so_far = featurize(claims)
    _, _, whole = featurize(claims, period=True)
    period_cols = [FEATURE_INDEX[PERIOD_PREFIX + n] for n in PERIOD_BASES]
    assert not np.array_equal(so_far[:, period_cols], whole[:, period_cols])
    # the last claim of the file: its hospital's mean so far is already the final one
    np.testing.assert_array_equal(so_far[-1], whole[-1])
