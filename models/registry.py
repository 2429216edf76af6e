"""The model registry: load a model by URI, list versions, move the champion alias.

Aliases: ``challenger`` marks the newest trained version, ``champion`` the one
scoring in production. :func:`promote` moves ``champion`` to a version only
when it beats the current champion and the rules baseline on claims neither
model was fitted on (or on demand). Only "the alias does not exist" reads as
"no champion yet": any other error reading the registry aborts a promotion,
since a running stream hot-reloads whatever ``champion`` points to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from detection.features import FEATURE_NAMES, FEATURE_VERSION
from models.calibration import Platt
from models.compiled import CompiledPredictor, compile_booster
from models.errors import ModelError, PromotionRefused

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
# The untouched slice: claims of hospitals no fitting step saw (not boosting, early
# stopping, refit or baselines), with their rules-only scores.
HELDOUT_ARTIFACT = "heldout/untouched.npz"
BASELINES_ARTIFACT = "baselines/baselines.joblib"
UNTOUCHED_TAG = "untouched_slice"  # digest of the training data and the untouched hospitals
CLAIMS_TAG = "claims_sha256"  # sha256 of the claims file the run was trained on


@dataclass
class LoadedModel:
    """A LightGBM booster with what scoring needs to know about it."""

    booster: Any  # lightgbm.Booster
    threshold: float
    label: str  # "yibao-fraud/3", shown as model_version in score records
    run_id: str | None
    feature_version: str
    calibration: Platt = field(default_factory=Platt)  # identity for older models
    capacity: float | None = None  # the share of new claims the threshold should flag
    # The booster compiled to machine code (models.compiled); None: Booster.predict.
    compiled: CompiledPredictor | None = None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Calibrated scores: the chance each claim is fraudulent."""
        if self.compiled is not None:
            raw = self.compiled.predict(X)
        else:
            raw = np.asarray(self.booster.predict(X, num_threads=1 if len(X) < 500 else 0))
        return self.calibration.apply(raw)

    def compile(self, cache_dir: Path) -> bool:
        """Score from now on through the booster compiled to machine code; False: not possible.

        Compiles once per model and host (cached in ``cache_dir``); slow the first
        time (seconds to a minute for a thousand trees), so callers that must keep
        scoring run it on another thread: until it returns, ``Booster.predict`` scores.
        """
        self.compiled = compile_booster(self.booster, cache_dir)
        return self.compiled is not None


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
    # The version too: it is bumped when a feature keeps its name but changes meaning.
    if names != list(FEATURE_NAMES) or str(meta.get("feature_version")) != str(FEATURE_VERSION):
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
        calibration=Platt.from_dict(meta.get("calibration")),
        capacity=float(meta["capacity"]) if meta.get("capacity") else None,
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


def load_drift_reference(run_id: str) -> dict[str, Any] | None:
    """The training data's per-feature bins and shares, or None for runs made before."""
    import json

    import mlflow

    from models.drift import REFERENCE_ARTIFACT

    try:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=REFERENCE_ARTIFACT)
    except Exception:  # missing artifact: MLflow raises its own exception types
        return None
    with open(path, encoding="utf-8") as fh:
        loaded: dict[str, Any] = json.load(fh)
    return loaded


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Compressed arrays written straight to ``path`` (no copy of them in memory)."""
    with open(path, "wb") as out:
        np.savez_compressed(out, **arrays)  # type: ignore[arg-type]


def champion_version(name: str) -> str | None:
    """The version the ``champion`` alias points to; None only when there is none.

    "None" means the registered model or its alias does not exist. Any other
    failure (a server error, an unreachable or broken store) raises: treating it
    as "no champion" would promote a model without comparing it.

    Raises:
        ModelError: the registry could not be read.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        aliases = MlflowClient().get_registered_model(name).aliases
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise ModelError(f"{_store_error(exc)}; the champion of {name} is left as it is") from exc
    except Exception as exc:  # a bad URI or driver fails before MLflow wraps it
        raise ModelError(f"{_store_error(exc)}; the champion of {name} is left as it is") from exc
    version = aliases.get(CHAMPION)
    return None if version is None else str(version)


def set_aliases_after_training(name: str, version: str, *, beats_rules: bool) -> list[str]:
    """Mark a new version ``challenger``; also ``champion`` when there is none yet.

    Args:
        name: registered model name.
        version: the new version.
        beats_rules: whether the version beat the rules baseline on its untouched
            hospitals; a version that does not is never made champion here.

    Raises:
        ModelError: the champion alias could not be read (nothing is changed then).
    """
    from mlflow import MlflowClient

    previous = champion_version(name)  # read first: a failure changes nothing
    client = MlflowClient()
    client.set_registered_model_alias(name, CHALLENGER, version)
    aliases = [CHALLENGER]
    if previous is None and beats_rules:  # the first model worth the clerks' time
        client.set_registered_model_alias(name, CHAMPION, version)
        aliases.append(CHAMPION)
    elif previous is None:
        log.warning(
            "%s/%s does not beat the rules baseline on its untouched hospitals: "
            "registered as challenger, not made champion",
            name,
            version,
        )
    return aliases


def list_versions(name: str) -> list[dict[str, Any]]:
    """Every version of the model, newest first, with aliases and untouched-hospital PR-AUC.

    The PR-AUC is the registered model's on the hospitals its run kept out of every
    fitting step (``test_claim_pr_auc``); runs made before that slice existed show
    None rather than their validation split's number, which early stopping and the
    refit had seen. A model that is not registered yet has no versions: the list is
    empty.

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
                "test_claim_pr_auc": metrics.get("test_claim_pr_auc"),
                "test_rules_only_claim_pr_auc": metrics.get("test_rules_only_claim_pr_auc"),
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
class HeldOut:
    """Claims to compare models on, with their rules-only scores and where they come from."""

    X: np.ndarray
    y: np.ndarray
    rules: np.ndarray
    source: str
    claims_sha256: str | None = None  # of the claims file (None for a run's untouched slice)


@dataclass
class PromotionResult:
    """What :func:`promote` decided and on which numbers."""

    version: str
    previous: str | None
    promoted: bool
    challenger_pr_auc: float | None
    champion_pr_auc: float | None
    forced: bool
    rules_pr_auc: float | None = None
    compared_on: str | None = None


def promote(
    name: str,
    version: str,
    *,
    force: bool = False,
    heldout: HeldOut | None = None,
) -> PromotionResult:
    """Move the ``champion`` alias to ``version`` if it beats the champion and the rules.

    Both models are scored on claims neither was fitted on: ``heldout`` when given
    (a file that must not be either run's training file), else the untouched slice
    stored with the candidate's run, usable only when the champion's run kept the
    same slice out (same data, same split).

    Args:
        name: registered model name.
        version: the candidate version.
        force: promote without comparing (an operator's decision, logged).
        heldout: claims to compare on, with their rules-only scores.

    Raises:
        PromotionRefused: the candidate does not beat the champion or the rules.
        ModelError: the registry cannot be read, or the version or data to compare
            on does not exist (the champion is left as it is).
    """
    from mlflow import MlflowClient
    from sklearn.metrics import average_precision_score

    previous = champion_version(name)
    if force or previous == str(version):
        MlflowClient().set_registered_model_alias(name, CHAMPION, version)
        log.warning("champion of %s set to version %s (forced=%s)", name, version, force)
        return PromotionResult(str(version), previous, True, None, None, force)
    candidate = load_model(f"models:/{name}/{version}")
    champion = None
    if previous is not None:
        try:
            champion = load_model(f"models:/{name}/{previous}")
        except ModelError as exc:
            raise PromotionRefused(
                f"champion {name}/{previous} cannot be compared ({exc}); use --force to replace it"
            ) from exc
    data = _comparison_data(candidate, champion, heldout)
    if not 0 < int(data.y.sum()) < len(data.y):
        raise ModelError(f"{data.source} needs both fraud and non-fraud claims to compare")
    new_auc = float(average_precision_score(data.y, candidate.predict(data.X)))
    rules_auc = float(average_precision_score(data.y, data.rules))
    old_auc = None
    if champion is not None:
        old_auc = float(average_precision_score(data.y, champion.predict(data.X)))
        if new_auc <= old_auc:
            raise PromotionRefused(
                f"version {version} does not beat champion {previous} on {data.source}: "
                f"PR-AUC {new_auc:.4f} <= {old_auc:.4f}; use --force to promote anyway"
            )
    if new_auc <= rules_auc:
        raise PromotionRefused(
            f"version {version} does not beat the rules baseline on {data.source}: "
            f"PR-AUC {new_auc:.4f} <= {rules_auc:.4f}; use --force to promote anyway"
        )
    MlflowClient().set_registered_model_alias(name, CHAMPION, version)
    return PromotionResult(
        str(version), previous, True, new_auc, old_auc, False, rules_auc, data.source
    )


def _comparison_data(
    candidate: LoadedModel, champion: LoadedModel | None, heldout: HeldOut | None
) -> HeldOut:
    """The claims to compare on, refused when either model was fitted on them."""
    runs = [m for m in (candidate, champion) if m is not None and m.run_id is not None]
    tags = {m.label: _run_tags(m.run_id) for m in runs if m.run_id is not None}
    if heldout is not None:
        for label, run_tags in tags.items():
            if heldout.claims_sha256 and run_tags.get(CLAIMS_TAG) == heldout.claims_sha256:
                raise ModelError(
                    f"{heldout.source} is the file {label} was trained on; "
                    "compare on claims neither model was fitted on"
                )
        return heldout
    slice_tag = tags.get(candidate.label, {}).get(UNTOUCHED_TAG)
    if candidate.run_id is None or slice_tag is None:
        raise ModelError(
            f"{candidate.label} has no untouched slice stored with its run (trained before "
            "yibao kept one); compare on a file neither model was fitted on with --data FILE"
        )
    if champion is not None and tags.get(champion.label, {}).get(UNTOUCHED_TAG) != slice_tag:
        raise ModelError(
            f"champion {champion.label} was trained on other data or another split, so it "
            f"may have been fitted on the untouched hospitals of {candidate.label}; compare "
            "on a file neither model was fitted on with --data FILE"
        )
    arrays = load_run_npz(candidate.run_id, HELDOUT_ARTIFACT)
    return HeldOut(
        X=arrays["X"],
        y=arrays["y"],
        rules=arrays["rules"],
        source=f"the untouched hospitals of {candidate.label}",
    )


def _run_tags(run_id: str) -> dict[str, str]:
    from mlflow import MlflowClient

    tags: dict[str, str] = MlflowClient().get_run(run_id).data.tags
    return tags
