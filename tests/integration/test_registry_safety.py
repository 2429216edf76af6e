"""A failing model registry never moves the champion: a real `mlflow server` on sqlite.

Only "the model or its alias does not exist" means "no champion yet". Any other
error reading the registry (here: a server whose store breaks mid-way, then a
server that is gone) aborts the promotion and leaves the champion where it was,
since running stream workers hot-reload whatever the alias points to.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from streams.broker import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

NAME = "safety-fraud"


class Server:
    """An `mlflow server` subprocess on a sqlite store, stopped and started at will."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = root / "mlflow.db"
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - the server keeps it
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--backend-store-uri",
                f"sqlite:///{self.db}",
                "--artifacts-destination",
                (self.root / "artifacts").as_uri(),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers go with it on stop()
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"mlflow server did not answer: {self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def log_tail(self) -> str:
        return (self.root / "server.log").read_text(errors="replace")[-2000:]

    @contextmanager
    def broken_registry_table(self) -> Iterator[None]:
        """The registry's tag table goes missing under the running server, as in a
        half-applied migration: reading a registered model fails with a real server
        error (503 Service Unavailable), the kind a passing outage gives too."""
        with sqlite3.connect(self.db) as db:
            db.execute("ALTER TABLE registered_model_tags RENAME TO registered_model_tags_away")
        try:
            yield
        finally:
            with sqlite3.connect(self.db) as db:
                db.execute("ALTER TABLE registered_model_tags_away RENAME TO registered_model_tags")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    import mlflow

    mp = pytest.MonkeyPatch()
    # one attempt per request: a failure is reported at once, not after minutes of retries
    mp.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    mp.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    before = mlflow.get_tracking_uri()
    srv = Server(tmp_path_factory.mktemp("mlflow-server"))
    srv.start()
    mlflow.set_tracking_uri(srv.uri)
    try:
        _register_two_versions()
        yield srv
    finally:
        srv.stop()
        mlflow.set_tracking_uri(before)
        mp.undo()


def _register_two_versions() -> None:
    """Versions 1 (champion) and 2 (challenger) of NAME: small real LightGBM models."""
    import lightgbm as lgb
    import mlflow
    import mlflow.lightgbm

    from models.registry import CHALLENGER, CHAMPION

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0.5).astype(int)
    experiment = mlflow.create_experiment("safety")
    for seed in (1, 2):
        booster = lgb.train(
            {"objective": "binary", "verbose": -1, "seed": seed},
            lgb.Dataset(X, y),
            num_boost_round=3,
        )
        with mlflow.start_run(experiment_id=experiment):
            mlflow.lightgbm.log_model(booster, name="model", registered_model_name=NAME)
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(NAME, CHAMPION, "1")
    client.set_registered_model_alias(NAME, CHALLENGER, "1")


def _aliases() -> dict[str, str]:
    from mlflow import MlflowClient

    return {k: str(v) for k, v in MlflowClient().get_registered_model(NAME).aliases.items()}


def test_a_server_error_reading_the_champion_aborts_promotion(server: Server) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from models.errors import ModelError, PromotionRefused
    from models.registry import promote, set_aliases_after_training

    assert _aliases() == {"champion": "1", "challenger": "1"}
    with server.broken_registry_table():
        # The store fails for real: the read errs with a server error, not "does not exist".
        with pytest.raises(MlflowException) as read:
            MlflowClient().get_registered_model(NAME)
        assert read.value.error_code != "RESOURCE_DOES_NOT_EXIST"
        with pytest.raises(ModelError, match="cannot read the model registry") as aborted:
            promote(NAME, "2")
        assert not isinstance(aborted.value, PromotionRefused)
        assert f"the champion of {NAME} is left as it is" in str(aborted.value)
        with pytest.raises(ModelError, match="cannot read the model registry"):
            set_aliases_after_training(NAME, "2", beats_rules=True)
    # nothing moved: the champion (and even the challenger) are where they were
    assert _aliases() == {"champion": "1", "challenger": "1"}


def test_a_stopped_server_aborts_promotion(server: Server) -> None:
    from models.errors import ModelError
    from models.registry import promote

    server.stop()
    try:
        with pytest.raises(ModelError, match=f"cannot read the model registry at {server.uri}"):
            promote(NAME, "2")
    finally:
        server.start()
    assert _aliases()["champion"] == "1"


def test_only_a_missing_alias_or_model_means_no_champion(server: Server) -> None:
    from models.registry import champion_version, set_aliases_after_training

    assert champion_version("never-registered") is None
    assert champion_version(NAME) == "1"
    from mlflow import MlflowClient

    client = MlflowClient()
    client.delete_registered_model_alias(NAME, "champion")
    try:
        assert champion_version(NAME) is None
        # a model worse than the rules baseline is registered, never made champion
        assert set_aliases_after_training(NAME, "2", beats_rules=False) == ["challenger"]
        assert champion_version(NAME) is None
        assert set_aliases_after_training(NAME, "1", beats_rules=True) == [
            "challenger",
            "champion",
        ]
    finally:
        client.set_registered_model_alias(NAME, "champion", "1")
    assert _aliases()["champion"] == "1"
