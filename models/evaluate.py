"""Evaluate a registered model on labelled claims, beside the three baselines.

The logistic-regression and IsolationForest baselines are the ones fitted
with the model's training run (same training data); the rules need no fitting.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from models.metrics import DEFAULT_CAPACITY

log = logging.getLogger(__name__)


def evaluate(
    data: Path,
    model_uri: str,
    *,
    labels: Path | None = None,
    capacity: float = DEFAULT_CAPACITY,
    book: object | None = None,
) -> dict[str, Any]:
    """Claim and hospital ranking metrics of the model and the baselines.

    Args:
        data: labelled claims JSONL.
        model_uri: the model to evaluate (``models:/name@champion`` ...).
        labels: optional labels file overriding the claims' labels.
        capacity: share of claims reviewed.
        book: the settlement policies that validate the claims (None: bundled).

    Returns:
        One JSON-ready object; ``baselines`` holds the same keys per baseline.
    """
    from models.baselines import baseline_scores, fit_baselines, rules_scores
    from models.data import load_claims
    from models.matrix import featurize, labels_of
    from models.metrics import ranking_metrics
    from models.registry import load_baselines, load_model

    model = load_model(model_uri)
    loaded = load_claims(data, labels, book)
    ordered, feats, X = featurize(loaded.facts)
    y = labels_of(ordered)
    hospitals = [f.hospital_id for f in ordered]
    common = {
        "claims": len(y),
        "fraud_rate": float(y.mean()) if len(y) else 0.0,
        "skipped": loaded.skipped,
        "capacity": capacity,
    }
    result: dict[str, Any] = {"model": model.label, **common}
    result.update(ranking_metrics(model.predict(X), y, hospitals, capacity))
    fitted = load_baselines(model.run_id) if model.run_id else None
    fitted_on = "training data of the model's run"
    if fitted is None:
        log.warning("model run has no baselines; fitting them on the evaluation data itself")
        fitted = fit_baselines(X, y)
        fitted_on = "evaluation data (in-sample)"
    scorers = {"rules_only": rules_scores(feats), **baseline_scores(fitted, X)}
    result["baselines"] = {
        name: {**common, **ranking_metrics(scores, y, hospitals, capacity)}
        for name, scores in scorers.items()
    }
    result["baselines_fitted_on"] = fitted_on
    return result
