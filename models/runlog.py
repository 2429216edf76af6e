"""The MLflow record of one training run: parameters, tags, metrics, figures, artifacts, model.

Runs are named ``train-<first>-<last discharge date>-seed<n>`` and tagged with
the data fingerprint, the feature version and the split seed, so runs of the
same data or features line up in the MLflow UI's comparison view.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from detection.features import FEATURE_NAMES, FEATURE_VERSION
from models.data import LoadedClaims
from models.splits import Split, kept_out_digest

if TYPE_CHECKING:
    from models.train import Fitted, Prepared

log = logging.getLogger(__name__)


@dataclass
class RunRecord:
    """Everything a training run logs, gathered by the training stages."""

    data: Path
    loaded: LoadedClaims
    booster: Any  # lightgbm.Booster
    baselines: dict[str, Any]
    params: dict[str, Any]  # LightGBM parameters
    settings: dict[str, Any]  # split, capacity, sizes and rounds
    metrics: dict[str, float]
    seconds: dict[str, float]
    untouched: dict[str, np.ndarray]  # X and y of the untouched hospitals
    untouched_scores: dict[str, np.ndarray]  # per scorer, on the untouched hospitals
    untouched_digest: str
    period: tuple[date, date]  # first and last discharge date of the claims
    threshold: float
    capacity: float = 0.0
    calibration: dict[str, Any] | None = None  # Platt.to_dict(): raw score -> probability
    drift_reference: dict[str, Any] | None = None  # models.drift.reference of the training data
    untouched_schemes: dict[str, Any] | None = None  # scheme_metrics on the untouched hospitals

    def run_name(self, seed: int) -> str:
        first, last = self.period
        return f"train-{first:%Y%m%d}-{last:%Y%m%d}-seed{seed}"


def run_tags(record: RunRecord, seed: int) -> dict[str, str]:
    """Tags that tell runs apart in the UI's comparison: data, features, split."""
    from models.data import file_sha256
    from models.registry import CLAIMS_TAG, UNTOUCHED_TAG

    first, last = record.period
    return {
        "data_sha256": record.loaded.fingerprint,
        CLAIMS_TAG: file_sha256([record.data]),
        "data_file": record.data.name,
        "data_period": f"{first.isoformat()}..{last.isoformat()}",
        "feature_version": str(FEATURE_VERSION),
        "seed": str(seed),
        UNTOUCHED_TAG: record.untouched_digest,
        "yibao.stage": "train",
    }


def log_training_run(
    record: RunRecord,
    *,
    experiment: str,
    model_name: str,
    tracking_uri: str,
    local_store: Path | None,
    seed: int,
) -> tuple[str, str]:
    """Log the run and register its model; returns the run id and the new version."""
    import mlflow

    from models.tracking import configure_tracking, ensure_experiment

    configure_tracking(tracking_uri, local_store)
    experiment_id = ensure_experiment(experiment, local_store)
    loaded = record.loaded
    with mlflow.start_run(experiment_id=experiment_id, run_name=record.run_name(seed)) as run:
        record.booster.free_dataset()
        mlflow.log_params(
            {
                **{f"lgb_{k}": v for k, v in record.params.items()},
                **record.settings,
                "skipped": loaded.skipped,
                "relabelled": loaded.relabelled,
                "unmatched_labels": loaded.unmatched_labels,
                "feature_version": FEATURE_VERSION,
                "n_features": len(FEATURE_NAMES),
                "data_sha256": loaded.fingerprint,
            }
        )
        mlflow.set_tags(run_tags(record, seed))
        mlflow.log_metrics(record.metrics)
        mlflow.log_metrics({f"seconds_{k}": v for k, v in record.seconds.items()})
        y_test = record.untouched["y"]
        curves = {k: (y_test, v) for k, v in record.untouched_scores.items()}
        for name, fig in _plots(record.booster, curves).items():
            mlflow.log_figure(fig, name)
        from models.card import calibration_figure, model_card

        mlflow.log_figure(
            calibration_figure(y_test, record.untouched_scores["lightgbm"]), "calibration.png"
        )
        mlflow.log_text(model_card(record, record.untouched_schemes or {}), "model_card.md")
        mlflow.log_dict(
            {
                "feature_names": list(FEATURE_NAMES),
                "skipped_by_code": dict(loaded.skipped_by_code),
                "unmatched_label_examples": loaded.unmatched_examples,
            },
            "features.json",
        )
        if record.drift_reference is not None:
            from models.drift import REFERENCE_ARTIFACT

            mlflow.log_dict(record.drift_reference, REFERENCE_ARTIFACT)
        _log_artifacts(record)
        version = _log_model(record, model_name)
        return str(run.info.run_id), version


def _log_artifacts(record: RunRecord) -> None:
    """The untouched rows (features, labels, rules scores; no identifiers) and the baselines."""
    import joblib
    import mlflow

    from models.registry import BASELINES_ARTIFACT, HELDOUT_ARTIFACT, write_npz

    with tempfile.TemporaryDirectory() as tmp:
        held = Path(tmp) / Path(HELDOUT_ARTIFACT).name
        arrays = {**record.untouched, "rules": record.untouched_scores["rules_only"]}
        write_npz(held, arrays)
        mlflow.log_artifact(str(held), Path(HELDOUT_ARTIFACT).parent.as_posix())
        base = Path(tmp) / Path(BASELINES_ARTIFACT).name
        joblib.dump(record.baselines, base)
        mlflow.log_artifact(str(base), Path(BASELINES_ARTIFACT).parent.as_posix())


def _log_model(record: RunRecord, model_name: str) -> str:
    import mlflow.lightgbm
    import pandas as pd
    from mlflow.models import infer_signature

    sample = pd.DataFrame(record.untouched["X"][:50], columns=list(FEATURE_NAMES))
    signature = infer_signature(sample, record.booster.predict(record.untouched["X"][:50]))
    info = mlflow.lightgbm.log_model(
        record.booster,
        name="model",
        signature=signature,
        registered_model_name=model_name,
        metadata={
            "threshold": record.threshold,
            "feature_names": list(FEATURE_NAMES),
            "feature_version": FEATURE_VERSION,
            "capacity": record.capacity,
            "calibration": record.calibration or {},
        },
    )
    return str(info.registered_model_version)


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
    ax.set_title("Precision-recall on untouched hospitals")
    ax.legend()
    fig.tight_layout()
    figures["precision_recall.png"] = fig
    return figures


def beats_rules(metrics: dict[str, float], label: str) -> bool:
    """Whether the model beats the rules baseline on its untouched hospitals (warns if not)."""
    model = metrics.get("test_claim_pr_auc", float("nan"))
    rules = metrics.get("test_rules_only_claim_pr_auc", float("nan"))
    if model > rules:
        return True
    log.warning(
        "%s does not beat the rules baseline on untouched hospitals (PR-AUC %.4f <= %.4f): "
        "registered, never promoted automatically",
        label,
        model,
        rules,
    )
    return False


def run_record(
    data: Path,
    prep: Prepared,
    split: Split,
    fitted: Fitted,
    metrics: dict[str, float],
    test_scores: dict[str, np.ndarray],
    params: dict[str, Any] | None,
    settings: dict[str, Any],
) -> RunRecord:
    """What the MLflow run records, from the training stages' results."""
    from models.drift import reference_of_columns
    from models.metrics import scheme_metrics
    from models.train import DEFAULT_PARAMS

    table = prep.table
    # the registered booster's weight: the refit's rows (all but the untouched), else train's
    fitted_rows = split.fit if settings.get("refit_on_train_and_valid") else split.train
    sizes = {
        "scale_pos_weight": (params or {}).get(
            "scale_pos_weight", _pos_weight(prep.y[fitted_rows])
        ),
        "claims": len(prep.y),
        "fraud_claims": int(prep.y.sum()),
        "untouched_claims": len(split.test),
    }
    return RunRecord(
        data=data,
        loaded=prep.loaded,
        booster=fitted.booster,
        baselines=fitted.baselines,
        params={**DEFAULT_PARAMS, **(params or {})},
        settings={**settings, **sizes},
        metrics=metrics,
        seconds={},
        # float32: the values the model learnt from (and scored, and the baselines too)
        untouched={"X": table.matrix(split.test), "y": prep.y[split.test]},
        untouched_scores=test_scores,
        untouched_digest=kept_out_digest(prep.loaded.fingerprint, table.hospital_ids(split.test)),
        period=(date.fromordinal(table.period[0]), date.fromordinal(table.period[1])),
        threshold=fitted.threshold,
        capacity=float(settings["capacity"]),
        calibration=fitted.calibration.to_dict(),
        drift_reference=reference_of_columns(
            lambda j: table.column(FEATURE_NAMES[j]), FEATURE_NAMES
        ),
        untouched_schemes=scheme_metrics(
            test_scores["lightgbm"],
            prep.y[split.test],
            table.fraud_types_of(split.test),
            float(settings["capacity"]),
        ),
    )


def _pos_weight(y: np.ndarray) -> float:
    return round((len(y) - int(y.sum())) / max(int(y.sum()), 1), 4)
