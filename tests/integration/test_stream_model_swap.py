"""Hot model reload: a running worker scores with the champion, and with the new champion
once the alias moves, without a restart (real LightGBM models in a temp MLflow store)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from streams.broker import create_topics, start_broker
from streams.replay import replay
from streams.testing import read_topic, start_worker
from streams.topics import FRAUD_FLAGS, topic_layout

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "model"))
from claimgen import generate

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

MODEL = "swap-fraud"


@pytest.fixture
def store(tmp_path):
    from yibao.settings import get_settings

    mp = pytest.MonkeyPatch()
    mp.setenv("DATA_DIR", str(tmp_path / "var"))
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    mp.setenv("MODEL_NAME", MODEL)
    get_settings.cache_clear()
    data = tmp_path / "train.jsonl"
    claims = generate(seed=21, claims=1500, hospitals=30, fraud_hospitals=8)
    data.write_text("".join(json.dumps(c) + "\n" for c in claims))
    yield {"data": data, "var": tmp_path / "var"}
    mp.undo()
    get_settings.cache_clear()


def lines_of(seed: int, n: int) -> list[bytes]:
    return [json.dumps(c).encode() for c in generate(seed=seed, claims=n, hospitals=30)]


def wait_model(worker, version: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if f'yibao_model_info{{version="{version}"}} 1.0' in worker.get("/metrics").decode():
            return
        time.sleep(0.5)
    raise TimeoutError(f"worker did not load {version}: {worker.tail()}")


def test_worker_swaps_to_the_new_champion_without_restart(store, tmp_path):
    from models.registry import promote
    from models.train import train

    train(store["data"], rounds=30, early_stopping=10)  # version 1: champion
    broker = start_broker()
    worker = None
    try:
        create_topics(broker.bootstrap, topic_layout(4))
        env = {"DATA_DIR": str(store["var"]), "MODEL_NAME": MODEL, "MODEL_POLL_SECONDS": "1"}
        worker = start_worker(broker.bootstrap, tmp_path / "w", app_id="t-swap", env=env, args=())
        worker.wait_ready()
        wait_model(worker, f"{MODEL}/1")
        first = lines_of(31, 600)
        replay(first, broker.bootstrap)
        worker.wait_processed(len(first))
        flags_v1 = [json.loads(r.value) for r in read_topic(broker.bootstrap, FRAUD_FLAGS)]

        # version 2 (challenger): the same training, so it flags like version 1 does;
        # what is tested is the swap, not the model
        train(store["data"], rounds=30, early_stopping=10)
        promote(MODEL, "2", force=True)
        wait_model(worker, f"{MODEL}/2")
        second = lines_of(32, 600)
        replay(second, broker.bootstrap)
        worker.wait_processed(len(first) + len(second))
        flags = [json.loads(r.value) for r in read_topic(broker.bootstrap, FRAUD_FLAGS)]
        metrics = worker.get("/metrics").decode()
        pid = worker.process.pid
    finally:
        code = worker.stop() if worker is not None else 0
        broker.stop()
    assert code == 0  # SIGTERM: graceful exit

    # every claim was scored, the first batch by version 1, the second by version 2
    assert f'yibao_scored_total{{version="{MODEL}/1"}} {float(len(first))}' in metrics
    assert f'yibao_scored_total{{version="{MODEL}/2"}} {float(len(second))}' in metrics
    # flags (how many depends on the batches' order through the feature state, so it
    # may be none) name the version that scored them
    assert {f["model_version"] for f in flags_v1} <= {f"{MODEL}/1"}
    later = [f for f in flags if f["claim_id"].startswith("C32-")]
    assert {f["model_version"] for f in later} <= {f"{MODEL}/2"}
    assert worker.process.pid == pid  # same process throughout: no restart
    for f in flags:
        assert f["flagged"] is True
        assert 0.0 <= f["fraud_score"] <= 1.0
        assert set(f) >= {"claim_id", "threshold", "rule_hits", "reasons", "hospital_id", "total"}
