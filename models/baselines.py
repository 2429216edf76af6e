"""Baselines measured beside the model: rules only, logistic regression, IsolationForest.

The learned baselines are fitted on the same training features as the model
(a random sample of at most ``BASELINE_ROWS`` of its training claims) and
saved with its MLflow run, so `yibao evaluate` compares like with like.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from detection.features import Features
from detection.rules import rules_score

# The learned baselines fit on at most this many training rows (drawn at random):
# logistic regression copies its rows to float64 several times over, and a
# baseline's metrics need no more claims than this to be stable.
BASELINE_ROWS = 200_000


def baseline_rows(rows: np.ndarray, seed: int = 0, limit: int = BASELINE_ROWS) -> np.ndarray:
    """The training rows the baselines fit on: all of them, or ``limit`` drawn by ``seed``."""
    if len(rows) <= limit:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))


def rules_scores(features: Sequence[Features]) -> np.ndarray:
    """The rules-only score of each claim."""
    return np.fromiter((rules_score(f) for f in features), dtype=np.float64, count=len(features))


def _squash(X: np.ndarray) -> np.ndarray:
    # Ratios and counts are heavy-tailed; a signed log keeps a linear model sane.
    squashed: np.ndarray = np.sign(X) * np.log1p(np.abs(X))
    return squashed


def fit_baselines(X: np.ndarray, y: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """Fit logistic regression (class-balanced) and IsolationForest on training rows."""
    from sklearn.ensemble import IsolationForest
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    logreg = make_pipeline(
        FunctionTransformer(_squash),
        StandardScaler(),
        LogisticRegression(class_weight="balanced", max_iter=500),
    )
    logreg.fit(X, y)
    iforest = IsolationForest(n_estimators=100, max_samples=512, random_state=seed, n_jobs=1)
    iforest.fit(_squash(X))
    return {"logistic_regression": logreg, "isolation_forest": iforest}


def baseline_scores(fitted: dict[str, Any], X: np.ndarray) -> dict[str, np.ndarray]:
    """Scores of each fitted baseline (higher = more suspicious)."""
    out: dict[str, np.ndarray] = {}
    if "logistic_regression" in fitted:
        out["logistic_regression"] = fitted["logistic_regression"].predict_proba(X)[:, 1]
    if "isolation_forest" in fitted:
        out["isolation_forest"] = -fitted["isolation_forest"].score_samples(_squash(X))
    return out
