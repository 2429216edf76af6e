"""Evaluate a registered model on labelled claims, beside the three baselines.

The logistic-regression and IsolationForest baselines are the ones fitted
with the model's training run (same training data); the rules need no fitting.
Beside the overall numbers: the model's per fraud scheme, per hospital region
and per hospital level, and :func:`log_evaluation` records them all in MLflow.
"""

from __future__ import annotations

import logging
import re
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
    from models.calibration import expected_calibration_error, flagged_share
    from models.data import load_claims
    from models.matrix import featurize, labels_of
    from models.metrics import ranking_metrics, scheme_metrics, slice_metrics
    from models.registry import load_baselines, load_model

    model = load_model(model_uri)
    loaded = load_claims(data, labels, book)
    ordered, feats, X = featurize(loaded.facts, period=True)
    y = labels_of(ordered)
    hospitals = [f.hospital_id for f in ordered]
    common = {
        "claims": len(y),
        "fraud_rate": float(y.mean()) if len(y) else 0.0,
        "skipped": loaded.skipped,
        "capacity": capacity,
    }
    result: dict[str, Any] = {"model": model.label, **common}
    scores = model.predict(X)
    result.update(ranking_metrics(scores, y, hospitals, capacity))
    # The model's stored threshold, chosen on unseen hospitals to flag `capacity`
    # of new claims: the share it flags here is what the clerks would receive.
    result["threshold"] = model.threshold
    result["flagged_share"] = flagged_share(scores, model.threshold)
    result["ece"] = expected_calibration_error(scores, y)
    result["per_scheme"] = scheme_metrics(scores, y, [f.fraud_type for f in ordered], capacity)
    result["per_region"] = slice_metrics(scores, y, [f.hospital_region for f in ordered], capacity)
    result["per_level"] = slice_metrics(
        scores, y, [str(f.hospital_level) for f in ordered], capacity
    )
    result["data_sha256"] = loaded.fingerprint
    result["unmatched_labels"] = loaded.unmatched_labels
    result["unmatched_label_examples"] = loaded.unmatched_examples
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
    result["audit_rules"] = _audit_rules(data, ordered, scores, y, capacity, book)
    return result


def _audit_rules(
    data: Path, ordered: list[Any], scores: Any, y: Any, capacity: float, book: object | None
) -> dict[str, Any]:
    """The audit-rule catalogue alone, the model alone and both at the review capacity
    (docs/rules.md). A positive is a fraud label or an injected rule violation
    (the simulator's ``rule_violations``)."""
    import json

    from detection.rule_batch import hits_by_claim
    from detection.rule_engine import RuleEngine
    from detection.rule_metrics import rules_and_model_at_capacity
    from detection.rule_state import RuleState
    from detection.rulebook_loader import load_rule_dir
    from models.data import bundled_book

    with open(data, "rb") as fh:
        hits = hits_by_claim(
            RuleEngine(load_rule_dir(None)),
            RuleState(),
            book or bundled_book(),  # type: ignore[arg-type]
            fh,
        )
    violated: set[str] = set()
    with open(data, "rb") as fh:
        for line in fh:
            if b'"rule_violations"' in line:
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict) and obj.get("rule_violations"):
                    violated.add(str(obj.get("claim_id")))
    ids = [f.claim_id for f in ordered]
    positives = [bool(y[i]) or c in violated for i, c in enumerate(ids)]
    table = rules_and_model_at_capacity(ids, positives, [float(s) for s in scores], hits, capacity)
    return {
        "positives": sum(positives),
        "rule_violations": sum(1 for c in ids if c in violated),
        "claims_with_certain_hits": sum(
            1 for c in ids if any(h["result"] == "certain" for h in hits.get(c, ()))
        ),
        "claims_with_hits": sum(1 for c in ids if hits.get(c)),
        **table,
    }


# MLflow metric names allow letters, digits and _ - . / : and spaces.
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-./: ]")


def evaluation_metrics(result: dict[str, Any]) -> dict[str, float]:
    """The result's numbers as MLflow metrics: ``claim_pr_auc``, ``ap.<scheme>``,
    ``recall_at_capacity.<scheme>``, ``ap.region.<region>``, ``ap.level.<level>``,
    ``rules_only.claim_pr_auc``... (undefined values left out)."""
    out: dict[str, float] = {}

    def put(name: str, value: Any) -> None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[_UNSAFE.sub("_", name)] = float(value)

    for key, value in result.items():
        put(key, value)
    for scheme, row in result.get("per_scheme", {}).items():
        for key in ("ap", "recall_at_capacity", "claims"):
            put(f"{key}.{scheme}", row[key])
    for group, field in (("region", "per_region"), ("level", "per_level")):
        for name, row in result.get(field, {}).items():
            for key in ("ap", "recall_at_capacity", "claims", "positives"):
                put(f"{key}.{group}.{name}", row[key])
    for baseline, row in result.get("baselines", {}).items():
        for key, value in row.items():
            put(f"{baseline}.{key}", value)
    for plan, row in result.get("audit_rules", {}).items():
        if isinstance(row, dict):
            for key, value in row.items():
                if key.startswith("amount_at_stake"):
                    value = float(value)
                put(f"{plan}.{key}", value)
    return out


def log_evaluation(
    result: dict[str, Any], *, data: Path, model_uri: str, experiment_id: str
) -> str:
    """Record one evaluation as an MLflow run of the experiment; returns the run id.

    The run is named ``evaluate-<model>-<data file>`` and tagged with the model,
    the data fingerprint and the feature version, beside the training runs.
    """
    import mlflow

    from detection.features import FEATURE_VERSION

    label = str(result["model"]).replace("/", "-v")
    name = f"evaluate-{label}-{data.stem}"
    with mlflow.start_run(experiment_id=experiment_id, run_name=name) as run:
        mlflow.set_tags(
            {
                "yibao.stage": "evaluate",
                "model": str(result["model"]),
                "model_uri": model_uri,
                "data_file": data.name,
                "data_sha256": str(result.get("data_sha256", "")),
                "feature_version": str(FEATURE_VERSION),
            }
        )
        mlflow.log_params({"capacity": result["capacity"], "claims": result["claims"]})
        mlflow.log_metrics(evaluation_metrics(result))
        mlflow.log_dict(_rounded(result), "evaluation.json")
        return str(run.info.run_id)


def _rounded(value: Any) -> Any:
    """Floats to 6 decimals: the exact values are the run's metrics, and a long run
    of float digits must not read as an identity number to a scan of the artifacts."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value
