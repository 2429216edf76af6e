"""Out-of-fold scores for claims a model was trained on, folds by hospital.

A model scores the claims it learnt far too confidently: the queue's top page
would read 1.000 throughout and flag several times the clerks' capacity. Here
the hospitals are dealt into K folds, and each fold is scored by a booster
refitted, with the registered model's parameters and rounds, on the other
folds only. Calibration, threshold and label stay the registered model's, so
the scores read like the ones new claims will get.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from models.errors import TrainingDataError
from models.registry import LoadedModel

log = logging.getLogger(__name__)

DEFAULT_FOLDS = 5


def hospital_folds(hospital_ids: Sequence[str], folds: int, seed: int = 7) -> list[np.ndarray]:
    """Row indices of ``folds`` groups of whole hospitals (shuffled by ``seed``)."""
    if folds < 2:
        raise ValueError(f"cross-fitting needs at least 2 folds, not {folds}")
    unique = sorted(set(hospital_ids))
    if len(unique) < folds:
        raise TrainingDataError(f"{len(unique)} hospitals cannot fill {folds} folds")
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = {unique[h]: k % folds for k, h in enumerate(order)}
    which = np.fromiter((fold_of[h] for h in hospital_ids), dtype=np.int64, count=len(hospital_ids))
    return [np.flatnonzero(which == k) for k in range(folds)]


def run_training_setup(run_id: str) -> tuple[dict[str, Any], int]:
    """The LightGBM parameters and the boosting rounds of a model's training run."""
    from mlflow import MlflowClient

    from models.train import DEFAULT_PARAMS

    run = MlflowClient().get_run(run_id)
    params: dict[str, Any] = {}
    for key, default in DEFAULT_PARAMS.items():
        text = run.data.params.get(f"lgb_{key}")
        if text is None:
            continue
        if isinstance(default, bool):
            params[key] = text == "True"
        else:
            params[key] = type(default)(text)
    rounds = int(run.data.metrics.get("best_iteration", 300))
    return params, max(rounds, 1)


def fold_models(
    model: LoadedModel,
    X: np.ndarray,
    y: np.ndarray,
    hospital_ids: Sequence[str],
    *,
    params: dict[str, Any],
    rounds: int,
    folds: int = DEFAULT_FOLDS,
    seed: int = 7,
) -> Iterator[tuple[np.ndarray, LoadedModel]]:
    """Per fold: its rows and a model fitted on the other folds' claims.

    Args:
        model: the registered model (calibration, threshold and label are kept).
        X: feature matrix of the labelled claims, event order.
        y: their labels.
        hospital_ids: their hospitals.
        params: LightGBM parameters of the model's run.
        rounds: boosting rounds of the model's run.
        folds: number of hospital folds.
        seed: how hospitals are dealt into folds.
    """
    from models.train import fit_booster

    if not 0 < int(y.sum()) < len(y):
        raise TrainingDataError("cross-fitting needs labelled claims of both classes")
    label = f"{model.label} (cross-fitted)"
    for k, rows in enumerate(hospital_folds(hospital_ids, folds, seed)):
        rest = np.setdiff1d(np.arange(len(y)), rows, assume_unique=True)
        booster = fit_booster(X[rest], y[rest], None, None, params, rounds)
        log.info("fold %d/%d: fitted on %d claims, scores %d", k + 1, folds, len(rest), len(rows))
        yield rows, replace(model, booster=booster, label=label)
