"""MLflow set-up: the tracking URI from the settings, default a sqlite store in DATA_DIR.

Called by the commands when they start, never at import time.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def configure_tracking() -> str:
    """Point MLflow at the configured store and return its URI.

    ``MLFLOW_TRACKING_URI`` wins; otherwise ``sqlite:///$DATA_DIR/mlflow.db``
    (the data folder is created; see :func:`ensure_experiment` for artifacts).
    """
    import mlflow

    from yibao.settings import get_settings

    settings = get_settings()
    uri = settings.tracking_uri()
    if not settings.mlflow_tracking_uri:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Progress bars of artifact downloads would mix into the commands' JSON output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(uri)
    log.debug("MLflow tracking at %s", uri)
    return uri


def artifact_location() -> str | None:
    """Where new experiments keep artifacts when the store is a local sqlite file."""
    from yibao.settings import get_settings

    settings = get_settings()
    if settings.mlflow_tracking_uri:
        return None
    return (settings.data_dir / "mlartifacts").resolve().as_uri()


def ensure_experiment(name: str) -> str:
    """The id of experiment ``name``, created (with a local artifact folder) if missing."""
    import mlflow

    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    return str(mlflow.create_experiment(name, artifact_location=artifact_location()))
