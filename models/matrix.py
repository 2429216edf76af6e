"""Feature matrices: claim features as numpy rows for a model, in memory.

Training streams them to a float32 file instead (:mod:`models.featurefile`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from detection.facts import ClaimFacts
from detection.features import (
    FEATURE_NAMES,
    Features,
    FeatureState,
    batch_features,
    whole_period,
)


def to_matrix(features: Sequence[Features]) -> np.ndarray:
    """Rows of feature values (float64, columns in ``FEATURE_NAMES`` order)."""
    if not features:
        return np.zeros((0, len(FEATURE_NAMES)))
    return np.array([f.values for f in features], dtype=np.float64)


def labels_of(facts: Sequence[ClaimFacts]) -> np.ndarray:
    """1 for claims labelled fraud, else 0 (unlabelled counts as not fraud)."""
    return np.fromiter((1 if f.is_fraud else 0 for f in facts), dtype=np.int8, count=len(facts))


def featurize(
    facts: Sequence[ClaimFacts], state: FeatureState | None = None, *, period: bool = False
) -> tuple[list[ClaimFacts], list[Features], np.ndarray]:
    """Claims in event order, their features and the feature matrix.

    ``period``: the claims are a review period (a file scored or evaluated as a
    whole): each claim's ``period_*`` features are its hospital's means over the
    whole period (:func:`detection.features.whole_period`), as in training. False
    (the stream's batches): the means so far.
    """
    ordered = sorted(facts, key=lambda c: c.sort_key)
    state = state if state is not None else FeatureState()
    feats = batch_features(ordered, state)
    if period:
        feats = whole_period(ordered, feats, state)
    return ordered, feats, to_matrix(feats)
