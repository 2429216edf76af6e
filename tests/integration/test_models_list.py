"""`yibao models list` on a real MLflow store: an empty registry is not an error, a dead one is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.broker import free_port

pytestmark = pytest.mark.integration


def _models_list(tracking_uri: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "var"),
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MODEL_NAME": "empty-fraud",
        # an unreachable server fails at once instead of after minutes of retries
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    }
    return subprocess.run(
        [sys.executable, "-m", "yibao.cli", "models", "list", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_empty_registry_is_listed_as_empty(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = _models_list(uri, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "no versions of model empty-fraud are registered yet; "
        "train one with `yibao train --data ...`"
    )
    as_json = _models_list(uri, tmp_path, "--json", "--model-name", "other")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == []


def test_an_unreachable_tracking_server_is_an_error(tmp_path: Path) -> None:
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done = _models_list(uri, tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"error: cannot read the model registry at {uri} (MLFLOW_TRACKING_URI):" in done.stderr
    assert "Traceback" not in done.stderr
