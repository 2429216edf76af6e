"""The model registry: load a model by URI, list versions, move the champion alias.

Aliases: ``challenger`` marks the newest trained version, ``champion`` the one
scoring in production. :func:`promote` moves ``champion`` to a version only
when it beats the current champion on the same held-out data (or on demand).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from detection.features import FEATURE_NAMES, FEATURE_VERSION
from models.errors import ModelError, PromotionRefused

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
HELDOUT_ARTIFACT = "heldout/heldout.npz"
BASELINES_ARTIFACT = "baselines/baselines.joblib"


@dataclass
class LoadedModel:
    """A LightGBM booster with what scoring needs to know about it."""

    booster: Any  # lightgbm.Booster
    threshold: float
    label: str  # "yibao-fraud/3", shown as model_version in score records
    run_id: str | None
    feature_version: str

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(X, num_threads=1 if len(X) < 500 else 0))


def default_uri(model_name: str) -> str:
    """``models:/<name>@champion``: the registered model's champion."""
    return f"models:/{model_name}@{CHAMPION}"


def _resolve(uri: str) -> tuple[str, Any | None]:
    """A label for the model and its registry version object (None for runs:/ URIs)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    if uri.startswith("models:/"):
        rest = uri[len("models:/") :]
        if "@" in rest:
            name, alias = rest.split("@", 1)
            try:
                mv = client.get_model_version_by_alias(name, alias)
            except Exception as exc:  # the registry raises its own MlflowException
                raise ModelError(f"no model version {uri}: train one first ({exc})") from exc
        else:
            name, version = rest.rsplit("/", 1)
            mv = client.get_model_version(name, version)
        return f"{mv.name}/{mv.version}", mv
    return uri, None


def load_model(uri: str) -> LoadedModel:
    """Load a registered LightGBM model and its scoring metadata.

    Args:
        uri: ``models:/name@alias``, ``models:/name/3`` or ``runs:/<id>/model``.

    Raises:
        ModelError: the model does not exist or was trained on other features.
    """
    import mlflow
    import mlflow.lightgbm

    label, mv = _resolve(uri)
    source = f"models:/{mv.name}/{mv.version}" if mv is not None else uri
    info = mlflow.models.get_model_info(source)
    meta = info.metadata or {}
    names = list(meta.get("feature_names", []))
    if names != list(FEATURE_NAMES):
        raise ModelError(
            f"{label} was trained on features {meta.get('feature_version', '?')} that differ "
            f"from this code's version {FEATURE_VERSION}; retrain it with `yibao train`"
        )
    booster = mlflow.lightgbm.load_model(source)
    return LoadedModel(
        booster=booster,
        threshold=float(meta.get("threshold", 0.5)),
        label=label,
        run_id=mv.run_id if mv is not None else info.run_id,
        feature_version=str(meta.get("feature_version")),
    )


def load_run_npz(run_id: str, artifact: str) -> dict[str, np.ndarray]:
    """Arrays saved with a run (held-out features and labels)."""
    import mlflow

    path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact)
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def load_baselines(run_id: str) -> dict[str, Any] | None:
    """The baselines fitted with a model's run, or None when the run has none."""
    import joblib
    import mlflow

    try:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=BASELINES_ARTIFACT)
    except Exception:  # missing artifact: MLflow raises its own exception types
        return None
    loaded: dict[str, Any] = joblib.load(path)
    return loaded


def save_npz(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def set_aliases_after_training(name: str, version: str) -> list[str]:
    """Mark a new version ``challenger``; also ``champion`` when there is none yet."""
    from mlflow import MlflowClient

    client = MlflowClient()
    client.set_registered_model_alias(name, CHALLENGER, version)
    aliases = [CHALLENGER]
    try:
        client.get_model_version_by_alias(name, CHAMPION)
    except Exception:  # no champion yet: the first model takes the role
        client.set_registered_model_alias(name, CHAMPION, version)
        aliases.append(CHAMPION)
    return aliases


def list_versions(name: str) -> list[dict[str, Any]]:
    """Every version of the model, newest first, with aliases and held-out PR-AUC.

    A model that is not registered yet has no versions: the list is empty.

    Raises:
        ModelError: the tracking store cannot be read (unreachable server, bad URI).
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        client = MlflowClient()
        aliases = client.get_registered_model(name).aliases
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return []
        raise ModelError(_store_error(exc)) from exc
    except Exception as exc:  # a bad URI or driver fails before MLflow wraps it
        raise ModelError(_store_error(exc)) from exc
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    rows: list[dict[str, Any]] = []
    for mv in client.search_model_versions(f"name='{name}'"):
        run = client.get_run(mv.run_id) if mv.run_id else None
        metrics = run.data.metrics if run else {}
        rows.append(
            {
                "version": str(mv.version),
                "aliases": sorted(by_version.get(str(mv.version), [])),
                "run_id": mv.run_id,
                "created": mv.creation_timestamp,
                "valid_claim_pr_auc": metrics.get("valid_claim_pr_auc"),
                "data_sha256": (run.data.tags.get("data_sha256") if run else None),
            }
        )
    rows.sort(key=lambda r: int(r["version"]), reverse=True)
    return rows


def _store_error(exc: Exception) -> str:
    import mlflow

    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"cannot read the model registry at {mlflow.get_tracking_uri()} "
        f"(MLFLOW_TRACKING_URI): {first}"
    )


@dataclass
class PromotionResult:
    """What :func:`promote` decided and on which numbers."""

    version: str
    previous: str | None
    promoted: bool
    challenger_pr_auc: float | None
    champion_pr_auc: float | None
    forced: bool


def promote(
    name: str,
    version: str,
    *,
    force: bool = False,
    heldout: tuple[np.ndarray, np.ndarray] | None = None,
) -> PromotionResult:
    """Move the ``champion`` alias to ``version`` if it beats the champion.

    Both models are scored on the same held-out rows: ``heldout`` when given,
    else the held-out split saved with the candidate's training run.

    Args:
        name: registered model name.
        version: the candidate version.
        force: promote without comparing (an operator's decision, logged).
        heldout: feature matrix and labels to compare on.

    Raises:
        PromotionRefused: the candidate does not beat the champion.
        ModelError: the version or its held-out data does not exist.
    """
    from mlflow import MlflowClient
    from sklearn.metrics import average_precision_score

    client = MlflowClient()
    try:
        current = client.get_model_version_by_alias(name, CHAMPION)
        previous: str | None = str(current.version)
    except Exception:
        previous = None
    if force or previous is None or previous == str(version):
        client.set_registered_model_alias(name, CHAMPION, version)
        log.warning("champion of %s set to version %s (forced=%s)", name, version, force)
        return PromotionResult(str(version), previous, True, None, None, force)
    candidate = load_model(f"models:/{name}/{version}")
    try:
        champion = load_model(f"models:/{name}/{previous}")
    except ModelError as exc:
        raise PromotionRefused(
            f"champion {name}/{previous} cannot be compared ({exc}); use --force to replace it"
        ) from exc
    if heldout is None:
        if candidate.run_id is None:
            raise ModelError(f"{name}/{version} has no run with held-out data")
        arrays = load_run_npz(candidate.run_id, HELDOUT_ARTIFACT)
        heldout = (arrays["X"], arrays["y"])
    X, y = heldout
    if not 0 < int(y.sum()) < len(y):
        raise ModelError("held-out data needs both fraud and non-fraud claims to compare")
    new_auc = float(average_precision_score(y, candidate.predict(X)))
    old_auc = float(average_precision_score(y, champion.predict(X)))
    if new_auc <= old_auc:
        raise PromotionRefused(
            f"version {version} does not beat champion {previous} on the same held-out data: "
            f"PR-AUC {new_auc:.4f} <= {old_auc:.4f}; use --force to promote anyway"
        )
    client.set_registered_model_alias(name, CHAMPION, version)
    return PromotionResult(str(version), previous, True, new_auc, old_auc, False)
