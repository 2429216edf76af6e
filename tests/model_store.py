"""A private MLflow store and a small labelled training file for stream tests with a model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.claimgen import generate


@contextmanager
def model_store(tmp_path: Path, model: str) -> Iterator[dict[str, Any]]:
    """DATA_DIR under ``tmp_path`` (its own MLflow store), MODEL_NAME ``model``, training data.

    Yields ``data`` (claims JSONL), ``var`` (the data folder) and ``train_args``
    (what ``models.train.train`` takes besides the data); the environment and
    the settings cache are restored afterwards.
    """
    from yibao.settings import get_settings

    mp = pytest.MonkeyPatch()
    mp.setenv("DATA_DIR", str(tmp_path / "var"))
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    mp.setenv("MODEL_NAME", model)
    get_settings.cache_clear()
    try:
        data = tmp_path / "train.jsonl"
        claims = generate(seed=21, claims=1500, hospitals=30, fraud_hospitals=8)
        data.write_text("".join(json.dumps(c) + "\n" for c in claims))
        settings = get_settings()
        train_args = {
            "model_name": model,
            "tracking_uri": settings.tracking_uri(),
            "local_store": settings.data_dir,
        }
        yield {"data": data, "var": tmp_path / "var", "train_args": train_args}
    finally:
        mp.undo()
        get_settings.cache_clear()
