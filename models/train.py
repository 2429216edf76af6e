"""Train the LightGBM fraud model and record everything about it in MLflow.

Validation is split by hospital (a model must generalise to hospitals it has
not seen), class imbalance is handled with ``scale_pos_weight``, and boosting
stops early on the validation split. The run holds parameters, metrics, plots,
the data fingerprint, the held-out rows (features only, no identifiers), the
fitted baselines and the registered model with its signature.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detection.features import FEATURE_NAMES, FEATURE_VERSION
from models.errors import TrainingDataError
from models.metrics import DEFAULT_CAPACITY

log = logging.getLogger(__name__)

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.1,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_bin": 255,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
    "seed": 7,
}
# Scores may only rise with the claim's cost relative to its peers. That
# includes the cost against its DIP group: an ultra-low case is suspicious,
# but a model that scores a claim lower for billing more would reward padding
# a bill; cheap stays are left to the hospital's ultra-low rate and the
# OUTPATIENT_CASE_ADMITTED red flag (docs/detection.md).
MONOTONE_UP = (
    "dip_cost_ratio",
    "cost_vs_peer_ratio",
    "cost_peer_z",
    "price_vs_code_max",
    "price_vs_code_mean",
    "cost_vs_own_hospital",
    "price_vs_own_hospital_max",
)


@dataclass
class TrainResult:
    """The handles a caller passes on: run id and registered model URI."""

    run_id: str
    model_uri: str
    version: str
    aliases: list[str]
    metrics: dict[str, float]
    seconds: dict[str, float]


def split_by_hospital(
    hospital_ids: list[str], valid_share: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation row indices, no hospital on both sides."""
    from sklearn.model_selection import GroupShuffleSplit

    splitter = GroupShuffleSplit(n_splits=1, test_size=valid_share, random_state=seed)
    train_idx, valid_idx = next(splitter.split(np.zeros(len(hospital_ids)), groups=hospital_ids))
    return np.sort(train_idx), np.sort(valid_idx)


def fit_booster(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_valid: np.ndarray | None,
    y_valid: np.ndarray | None,
    params: dict[str, Any] | None = None,
    rounds: int = 1000,
    early_stopping: int = 200,
) -> Any:
    """A LightGBM booster with imbalance weighting and early stopping on validation.

    Without validation rows it boosts exactly ``rounds`` rounds (a refit).
    """
    import lightgbm as lgb

    pos = max(int(y_train.sum()), 1)
    merged = {**DEFAULT_PARAMS, **(params or {})}
    merged.setdefault("scale_pos_weight", (len(y_train) - pos) / pos)
    merged["monotone_constraints"] = [1 if n in MONOTONE_UP else 0 for n in FEATURE_NAMES]
    merged["metric"] = ["average_precision", "auc"]
    train_set = lgb.Dataset(X_train, y_train, feature_name=list(FEATURE_NAMES), free_raw_data=True)
    if X_valid is None:  # a refit with a known number of rounds
        return lgb.train(merged, train_set, num_boost_round=rounds)
    valid_set = lgb.Dataset(X_valid, y_valid, reference=train_set)
    return lgb.train(
        merged,
        train_set,
        num_boost_round=rounds,
        valid_sets=[valid_set],
        valid_names=["valid"],
        callbacks=[lgb.early_stopping(early_stopping, first_metric_only=True, verbose=False)],
    )


def _plots(booster: Any, curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    figures = {}
    gain = booster.feature_importance(importance_type="gain")
    order = np.argsort(gain)
    fig, ax = plt.subplots(figsize=(7, 8))
    ax.barh([FEATURE_NAMES[i] for i in order], gain[order])
    ax.set_xlabel("total gain")
    ax.set_title("Feature importance")
    fig.tight_layout()
    figures["feature_importance.png"] = fig
    fig, ax = plt.subplots(figsize=(6, 5))
    for label, (y, s) in curves.items():
        precision, recall, _ = precision_recall_curve(y, s)
        ax.plot(recall, precision, label=label)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Precision-recall on held-out hospitals")
    ax.legend()
    fig.tight_layout()
    figures["precision_recall.png"] = fig
    return figures


def train(
    data: Path,
    labels: Path | None = None,
    *,
    experiment: str = "yibao-fraud",
    model_name: str,
    tracking_uri: str,
    local_store: Path | None = None,
    book: object | None = None,
    params: dict[str, Any] | None = None,
    valid_share: float = 0.25,
    seed: int = 7,
    capacity: float = DEFAULT_CAPACITY,
    rounds: int = 1000,
    early_stopping: int = 200,
    refit: bool = True,
) -> TrainResult:
    """Train, evaluate on held-out hospitals, log to MLflow and register the model.

    Args:
        data: labelled claims JSONL.
        labels: optional labels JSONL overriding the claims' own labels.
        experiment: MLflow experiment name.
        model_name: registered model name.
        tracking_uri: the MLflow tracking store.
        local_store: the folder of a local store (created; artifacts beside it), None
            for a server.
        book: the settlement policies that validate the claims (None: bundled).
        params: LightGBM parameters overriding the defaults.
        valid_share: share of hospitals held out for validation.
        seed: split seed.
        capacity: share of claims flagged; sets the score threshold.
        rounds: maximum boosting rounds.
        early_stopping: rounds without improvement before stopping. Generous on
            purpose: the held-out hospitals hold only a handful of fraudulent
            ones, so their PR-AUC curve is noisy, and stopping 50 rounds after a
            bump stopped at 230-500 rounds while other simulations' PR-AUC kept
            rising to about 1,000 rounds.
        refit: after early stopping, refit on all hospitals with the best number of
            rounds (the model learns from every fraudulent hospital; the logged
            validation metrics stay those of the split model).

    Returns:
        Run id, model URI, version and aliases, validation metrics and timings.
    """
    import joblib
    import mlflow
    import mlflow.lightgbm
    from mlflow.models import infer_signature

    from models.baselines import baseline_scores, fit_baselines, rules_scores
    from models.data import load_claims
    from models.matrix import featurize, labels_of
    from models.metrics import ranking_metrics
    from models.registry import (
        BASELINES_ARTIFACT,
        HELDOUT_ARTIFACT,
        save_npz,
        set_aliases_after_training,
    )
    from models.tracking import configure_tracking, ensure_experiment

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    loaded = load_claims(data, labels, book)
    seconds["load"] = time.perf_counter() - t0
    t = time.perf_counter()
    ordered, feats, X = featurize(loaded.facts)
    y = labels_of(ordered)
    seconds["features"] = time.perf_counter() - t
    if len(y) < 50 or not 0 < int(y.sum()) < len(y):
        raise TrainingDataError(
            f"{data}: need at least 50 valid claims with both fraud and non-fraud labels "
            f"(got {len(y)} claims, {int(y.sum())} fraud)"
        )
    hospitals = [f.hospital_id for f in ordered]
    train_idx, valid_idx = split_by_hospital(hospitals, valid_share, seed)
    if not 0 < int(y[valid_idx].sum()) < len(valid_idx):
        raise TrainingDataError("the validation hospitals hold only one class; add data")

    t = time.perf_counter()
    booster = fit_booster(
        X[train_idx], y[train_idx], X[valid_idx], y[valid_idx], params, rounds, early_stopping
    )
    seconds["boosting"] = time.perf_counter() - t
    X_valid, y_valid = X[valid_idx], y[valid_idx]
    valid_hosp = [hospitals[i] for i in valid_idx]
    valid_scores = booster.predict(X_valid, num_iteration=booster.best_iteration)
    best_iteration = max(int(booster.best_iteration), 1)
    if refit:
        t = time.perf_counter()
        split_booster = booster
        booster = fit_booster(X, y, None, None, params, best_iteration)
        seconds["refit"] = time.perf_counter() - t
        del split_booster
    # Flag the top `capacity` share of claims the model has not seen: quantiles of
    # in-sample scores sit too high (the model has learnt those claims), so new
    # claims would be flagged far less often than the clerks' capacity.
    threshold = float(np.quantile(valid_scores, 1.0 - capacity))

    t = time.perf_counter()
    fitted = fit_baselines(X[train_idx], y[train_idx], seed)
    seconds["baselines"] = time.perf_counter() - t
    scorers = {"lightgbm": valid_scores, "rules_only": rules_scores([feats[i] for i in valid_idx])}
    scorers.update(baseline_scores(fitted, X_valid))
    metrics: dict[str, float] = {}
    for label, scores in scorers.items():
        prefix = "valid_" if label == "lightgbm" else f"valid_{label}_"
        for key, value in ranking_metrics(scores, y_valid, valid_hosp, capacity).items():
            if value is not None:
                metrics[prefix + key] = float(value)
    metrics["best_iteration"] = float(best_iteration)
    metrics["threshold"] = threshold

    configure_tracking(tracking_uri, local_store)
    experiment_id = ensure_experiment(experiment, local_store)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        booster.free_dataset()
        mlflow.log_params(
            {
                **{f"lgb_{k}": v for k, v in {**DEFAULT_PARAMS, **(params or {})}.items()},
                "scale_pos_weight": round(
                    (len(train_idx) - y[train_idx].sum()) / max(int(y[train_idx].sum()), 1), 4
                ),
                "valid_share": valid_share,
                "split_seed": seed,
                "capacity": capacity,
                "claims": len(y),
                "fraud_claims": int(y.sum()),
                "skipped": loaded.skipped,
                "relabelled": loaded.relabelled,
                "feature_version": FEATURE_VERSION,
                "n_features": len(FEATURE_NAMES),
                "data_sha256": loaded.fingerprint,
                "max_rounds": rounds,
                "early_stopping_rounds": early_stopping,
                "refit_on_all": refit,
            }
        )
        mlflow.set_tags({"data_sha256": loaded.fingerprint, "data_file": Path(data).name})
        mlflow.log_metrics(metrics)
        mlflow.log_metrics({f"seconds_{k}": v for k, v in seconds.items()})
        for name, fig in _plots(
            booster,
            {k: (y_valid, v) for k, v in scorers.items()},
        ).items():
            mlflow.log_figure(fig, name)
        mlflow.log_dict(
            {"feature_names": list(FEATURE_NAMES), "skipped_by_code": dict(loaded.skipped_by_code)},
            "features.json",
        )
        with tempfile.TemporaryDirectory() as tmp:
            held = Path(tmp) / "heldout.npz"
            held.write_bytes(save_npz({"X": X_valid, "y": y_valid}))
            mlflow.log_artifact(str(held), Path(HELDOUT_ARTIFACT).parent.as_posix())
            base = Path(tmp) / "baselines.joblib"
            joblib.dump(fitted, base)
            mlflow.log_artifact(str(base), Path(BASELINES_ARTIFACT).parent.as_posix())
        signature = infer_signature(_frame(X_valid[:50]), booster.predict(X_valid[:50]))
        info = mlflow.lightgbm.log_model(
            booster,
            name="model",
            signature=signature,
            registered_model_name=model_name,
            metadata={
                "threshold": threshold,
                "feature_names": list(FEATURE_NAMES),
                "feature_version": FEATURE_VERSION,
                "capacity": capacity,
            },
        )
        version = str(info.registered_model_version)
        run_id = run.info.run_id
    aliases = set_aliases_after_training(model_name, version)
    seconds["total"] = time.perf_counter() - t0
    log.info("trained %s/%s in %.1fs: %s", model_name, version, seconds["total"], seconds)
    return TrainResult(
        run_id=run_id,
        model_uri=f"models:/{model_name}/{version}",
        version=version,
        aliases=aliases,
        metrics=metrics,
        seconds=seconds,
    )


def _frame(X: np.ndarray) -> Any:
    import pandas as pd

    return pd.DataFrame(X, columns=list(FEATURE_NAMES))
