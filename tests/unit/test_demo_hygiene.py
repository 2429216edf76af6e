"""What ``make demo`` writes stays under DATA_DIR (var/), and ``make clean`` removes it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from yibao.commands.detect import _local_store
from yibao.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_settings(monkeypatch):
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_artifacts_go_beside_a_sqlite_store_named_by_the_environment(fresh_settings, tmp_path):
    # make demo sets MLFLOW_TRACKING_URI for its commands: artifacts must not go to ./mlruns
    fresh_settings.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'var' / 'mlflow.db'}")
    assert _local_store() == tmp_path / "var"


def test_artifacts_go_beside_the_default_store(fresh_settings, tmp_path):
    fresh_settings.delenv("MLFLOW_TRACKING_URI", raising=False)
    fresh_settings.setenv("DATA_DIR", str(tmp_path / "data"))
    assert _local_store() == (tmp_path / "data").resolve()


def test_a_tracking_server_keeps_its_own_artifacts(fresh_settings):
    fresh_settings.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    assert _local_store() is None


def test_make_clean_removes_what_the_demo_and_mlflow_wrote():
    plan = subprocess.run(
        ["make", "-n", "clean"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    removed = {
        word for line in plan.splitlines() if line.startswith("rm ") for word in line.split()
    }
    assert {"var", "mlruns", "mlartifacts", "mlflow.db", ".venv"} <= removed


def test_a_workers_faust_directory_is_under_the_data_directory(tmp_path):
    # Faust's default, "<app id>-data", is relative to the working directory: tests
    # and benchmarks run from the repository left t-ops-data/ and bench-data/ there.
    from streams.app import create_app

    data_dir = tmp_path / "var {x}"  # braces: Faust formats the setting
    app, _agent = create_app(Settings(data_dir=data_dir), app_id="t-ops", score=False)
    assert Path(app.conf.datadir) == data_dir / "faust" / "t-ops"
    assert Path(app.conf.tabledir).is_relative_to(data_dir)
    assert Path(app.conf.datadir).is_dir(), "Faust itself makes only the last folder"


def test_make_clean_removes_faust_directories_left_in_the_working_directory(tmp_path):
    (tmp_path / "t-ops-data" / "v1" / "tables").mkdir(parents=True)
    (tmp_path / "bench-data" / "v1").mkdir(parents=True)
    (tmp_path / "my-data").mkdir()  # not Faust's: kept
    (tmp_path / "var" / "faust" / "yibao-stream" / "v1").mkdir(parents=True)
    subprocess.run(
        ["make", "-s", "-C", str(tmp_path), "-f", str(ROOT / "Makefile"), "clean"],
        capture_output=True,
        check=True,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-data"]
