"""The audit rules in the stream: the same hits as ``yibao rules check`` on the same claims,
across a graceful stop and a SIGKILL (the windows are snapshotted with the feature memory
and the claims committed since are learned again)."""

from __future__ import annotations

import io
import json
import time

import pytest

from detection.rule_batch import hits_by_claim
from detection.rule_engine import RuleEngine
from detection.rule_state import RuleState
from detection.rulebook_loader import load_rule_dir
from settlement.policy_loader import load_policy_dir
from simulator.config import SimConfig
from simulator.generate import simulate_lines
from streams.broker import create_topics, start_broker
from streams.replay import replay
from streams.topics import FRAUD_FLAGS, topic_layout
from testkit.workers import metric_samples, read_topic, start_worker
from tests.model_store import model_store

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(400)]

MODEL = "audit-fraud"


@pytest.fixture
def store(tmp_path):
    with model_store(tmp_path, MODEL) as made:
        yield made


def _committed(worker) -> int:
    status = worker.status()
    return sum(v for k, v in status["committed"].items() if k.startswith("claims:"))


def test_stream_hits_equal_batch_hits_across_a_kill(store, tmp_path):
    from models.registry import promote
    from models.train import train

    train(store["data"], **store["train_args"], rounds=30, early_stopping=10)
    promote(MODEL, "1", force=True)
    config = SimConfig(seed=13, claims=1_500, days=60, rule_violation_rate=0.1)
    lines = [line.rstrip("\n").encode() for line in simulate_lines(config)]
    first, second, third = lines[:500], lines[500:1000], lines[1000:]
    with io.BytesIO(b"\n".join(lines) + b"\n") as fh:
        batch = hits_by_claim(
            RuleEngine(load_rule_dir(None)), RuleState(), load_policy_dir(None), fh
        )
    certain = {cid for cid, hits in batch.items() if any(h["result"] == "certain" for h in hits)}
    assert len(certain) > 20

    broker = start_broker()
    env = {"DATA_DIR": str(store["var"]), "MODEL_NAME": MODEL, "FEATURE_SNAPSHOT_SECONDS": "3600"}
    workers = []

    def start(name: str):
        w = start_worker(broker.bootstrap, tmp_path / name, app_id="t-audit", env=env, args=())
        workers.append(w)
        w.wait_ready()
        deadline = time.monotonic() + 60
        while f'version="{MODEL}/1"' not in w.get("/metrics").decode():
            assert time.monotonic() < deadline, w.tail()
            time.sleep(0.5)
        return w

    try:
        create_topics(broker.bootstrap, topic_layout(4))
        one = start("one")
        replay(first, broker.bootstrap)
        one.wait_processed(len(first))
        assert one.stop() == 0  # graceful: snapshot of the features and the rule windows

        two = start("two")
        replay(second, broker.bootstrap)
        two.wait_processed(len(second))
        deadline = time.monotonic() + 30
        while _committed(two) < len(first) + len(second) and time.monotonic() < deadline:
            time.sleep(0.1)
        two.kill()  # the windows of `second` are only in the claim topics now

        three = start("three")
        replay(third, broker.bootstrap)
        three.wait_processed(len(third))
        time.sleep(1.0)
        flags = read_topic(broker.bootstrap, FRAUD_FLAGS, idle=1.0, timeout=60)
        metrics = three.get("/metrics").decode()
        stages = metric_samples(metrics, "yibao_stage_cpu_seconds_total", "stage")
        assert three.stop() == 0
    finally:
        for w in workers:
            w.stop()
        broker.stop()

    streamed: dict[str, list] = {}
    for rec in flags:
        flag = json.loads(rec.value)
        hits = flag["audit_hits"]
        # a flag sent twice (redelivered after the kill) says the same both times
        assert streamed.setdefault(flag["claim_id"], hits) == hits
        assert flag["flagged_by_rule"] == (flag["claim_id"] in certain)
    for claim_id, hits in streamed.items():
        assert hits == batch[claim_id], claim_id
    assert certain <= set(streamed)
    # Where the worker's CPU went, by stage: every stage ran (a model was loaded).
    assert set(stages) == {"settle", "rules", "features", "model"}
    assert all(seconds > 0 for seconds in stages.values()), stages
