"""MLflow set-up: point MLflow at a tracking store, and create experiments with artifacts
where the store wants them.

The command line passes the configured store (``yibao.settings``: the tracking
URI, else a sqlite file in DATA_DIR); nothing here reads settings or runs at
import time.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

# MLflow 3's UI opens an experiment in its GenAI view unless the experiment tag
# ``mlflow.experimentKind`` says otherwise (the UI reads the tag, and its
# "experiment type" selector writes it); "custom_model_development" is the
# model-training view with runs, metrics and charts side by side.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_TRAINING_KIND = "custom_model_development"


def configure_tracking(uri: str, local_dir: Path | None = None) -> str:
    """Point MLflow at the tracking store ``uri`` and return it.

    Args:
        uri: the tracking URI.
        local_dir: the folder of a local store (created if missing), or None
            for a server.
    """
    import mlflow

    if local_dir is not None:
        local_dir.mkdir(parents=True, exist_ok=True)
    # Progress bars of artifact downloads would mix into the commands' JSON output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(uri)
    log.debug("MLflow tracking at %s", uri)
    return uri


def artifact_location(local_dir: Path | None) -> str | None:
    """Where new experiments keep artifacts: beside a local store, else the server decides."""
    if local_dir is None:
        return None
    return (local_dir / "mlartifacts").resolve().as_uri()


def ensure_experiment(name: str, local_dir: Path | None = None) -> str:
    """The id of experiment ``name``, created if missing (artifacts beside a local store).

    The experiment is marked a model-training experiment, so the MLflow UI opens
    it on its runs; an experiment made by an older yibao gets the mark too, one
    whose kind someone chose in the UI keeps that choice.
    """
    import mlflow

    found = mlflow.get_experiment_by_name(name)
    if found is None:
        return str(
            mlflow.create_experiment(
                name,
                artifact_location=artifact_location(local_dir),
                tags={EXPERIMENT_KIND_TAG: MODEL_TRAINING_KIND},
            )
        )
    if EXPERIMENT_KIND_TAG not in found.tags:
        mlflow.MlflowClient().set_experiment_tag(
            found.experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING_KIND
        )
    return str(found.experiment_id)
