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
    """The id of experiment ``name``, created if missing (artifacts beside a local store)."""
    import mlflow

    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    return str(mlflow.create_experiment(name, artifact_location=artifact_location(local_dir)))
