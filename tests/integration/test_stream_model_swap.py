"""Hot model reload: a running worker scores with the champion, and with the new champion
once the alias moves, without a restart (real LightGBM models in a temp MLflow store)."""

from __future__ import annotations

import json
import time

import pytest

from detection.features import FEATURE_VERSION
from streams.broker import create_topics, start_broker
from streams.replay import replay
from streams.topics import FRAUD_FLAGS, topic_layout
from testkit.workers import read_topic, start_worker
from tests.claimgen import generate
from tests.model_store import model_store

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

MODEL = "swap-fraud"


@pytest.fixture
def store(tmp_path):
    with model_store(tmp_path, MODEL) as made:
        yield made


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

    train(store["data"], **store["train_args"], rounds=30, early_stopping=10)  # version 1
    # In this small world the model need not beat the rules, and then training does not
    # make it champion; an operator's forced promotion does (what is tested is the swap).
    promote(MODEL, "1", force=True)
    broker = start_broker()
    worker = None
    try:
        create_topics(broker.bootstrap, topic_layout(4))
        env = {"DATA_DIR": str(store["var"]), "MODEL_NAME": MODEL, "MODEL_POLL_SECONDS": "1"}
        worker = start_worker(broker.bootstrap, tmp_path / "w", app_id="t-swap", env=env, args=())
        worker.wait_ready()
        wait_model(worker, f"{MODEL}/1")
        # compiled on a background thread (models/compiled.py), into the data folder
        compiled = wait_log(worker, "scoring through the compiled model")
        assert compiled["model"] == f"{MODEL}/1"
        assert list((store["var"] / "compiled-models").glob("*.o"))
        first = lines_of(31, 600)
        replay(first, broker.bootstrap)
        worker.wait_processed(len(first))
        flags_v1 = [json.loads(r.value) for r in read_topic(broker.bootstrap, FRAUD_FLAGS)]

        # version 2 (challenger): the same training, so it flags like version 1 does;
        # what is tested is the swap, not the model
        train(store["data"], **store["train_args"], rounds=30, early_stopping=10)
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


def wait_log(worker, message: str, timeout: float = 180.0) -> dict:
    """The first log event with ``message``, waiting for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = _log_events(worker, message)
        if events:
            return events[0]
        time.sleep(0.5)
    raise TimeoutError(f"worker did not log {message!r}: {worker.tail()}")


def _settled_claims(lines: list[bytes]) -> list:
    """The validated claims a fresh settler settles (what the stream's feature memory learns)."""
    from settlement.claim import parse_claim
    from settlement.engine import Settler
    from settlement.jsonio import decode_claim
    from settlement.policy_loader import load_policy_dir

    book = load_policy_dir(None)
    settler = Settler(book)
    out = []
    for i, line in enumerate(lines):
        record = settler.settle_json(line, f"line:{i}")
        if record["status"] == "settled":
            out.append(parse_claim(decode_claim(line), book).claim)
    return out


def _log_events(worker, message: str) -> list[dict]:
    events = []
    for line in worker.log_path.read_text(errors="replace").splitlines():
        if message in line and line.lstrip().startswith("{"):
            events.append(json.loads(line))
    return events


def test_restarted_worker_keeps_its_fraud_feature_memory(store, tmp_path):
    """Snapshot at a graceful stop; after a SIGKILL, the snapshot plus the claims committed
    since it (read again from the claim topics) rebuild the memory: each claim once."""
    from detection.facts import facts_from_claim
    from detection.features import FeatureState, batch_features
    from models.registry import promote
    from models.train import train
    from streams.feature_snapshot import load_snapshot, snapshot_path

    train(store["data"], **store["train_args"], rounds=30, early_stopping=10)
    promote(MODEL, "1", force=True)  # champion even if it does not beat the rules here
    first = lines_of(41, 500)
    second = lines_of(42, 400)
    # a resubmitted claim id (answered "duplicate") and a line that is not JSON: never learned
    second += [first[3], b"{not json"]
    n_first = len(_settled_claims(first))
    everything = _settled_claims(first + second)
    n_second = len(everything) - n_first
    assert n_first == 500 and n_second == 400

    broker = start_broker()
    env = {
        "DATA_DIR": str(store["var"]),
        "MODEL_NAME": MODEL,
        "FEATURE_SNAPSHOT_SECONDS": "3600",  # only the stop's snapshot
    }
    workers = []

    def start(name: str):
        w = start_worker(broker.bootstrap, tmp_path / name, app_id="t-mem", env=env, args=())
        workers.append(w)
        w.wait_ready()
        wait_model(w, f"{MODEL}/1")
        return w

    try:
        create_topics(broker.bootstrap, topic_layout(4))
        one = start("one")
        assert one.status()["feature_claims"] == 0  # nothing to restore yet
        replay(first, broker.bootstrap)
        one.wait_processed(len(first))
        assert one.stop() == 0  # graceful: writes the snapshot
        path = snapshot_path(store["var"], "t-mem-claims", [0, 1, 2, 3])
        assert path.exists()

        two = start("two")
        assert two.status()["feature_claims"] == n_first  # restored, nothing to learn again
        replay(second, broker.bootstrap)
        two.wait_processed(len(second))
        # killed once every message is committed and learned (what a restart must rebuild)
        sent = len(first) + len(second)
        deadline = time.monotonic() + 30  # the last batch's offsets are committed within 0.25 s
        while time.monotonic() < deadline:
            status = two.status()
            committed = sum(v for k, v in status["committed"].items() if k.startswith("claims:"))
            if committed >= sent and status["feature_claims"] >= len(everything):
                break
            time.sleep(0.1)
        two.kill()  # no snapshot of the second part

        three = start("three")
        restored = three.status()["feature_claims"]
        assert three.stop() == 0
        # written by three's graceful stop
        snap = load_snapshot(path, "t-mem-claims", FEATURE_VERSION)
    finally:
        for w in workers:
            w.stop()
        broker.stop()

    # A new broker with empty topics (the demo's in-memory broker after a restart): the
    # snapshot describes other data, so the worker starts cold instead of trusting it.
    broker = start_broker()
    try:
        create_topics(broker.bootstrap, topic_layout(4))
        four = start("four")
        cold = four.status()["feature_claims"]
        assert four.stop() == 0
    finally:
        broker.stop()
    assert cold == 0
    refused = _log_events(four, "feature snapshot not used")
    assert refused and "not those it was taken from" in refused[-1]["reason"]

    assert restored == n_first + n_second
    events = _log_events(three, "feature memory restored")
    assert events and events[-1]["claims_from_snapshot"] == n_first
    assert events[-1]["claims_relearned"] == n_second

    # Order-free parts of the memory equal those of one learned from scratch
    assert snap is not None
    got = snap.state
    want = FeatureState()
    batch_features([facts_from_claim(c) for c in everything], want)
    assert got.claims_seen == want.claims_seen == len(everything)
    assert got.bills.by_hash == want.bills.by_hash
    assert got.casemix.hospital_dx == want.casemix.hospital_dx
    assert got.casemix.peer_dx_code == want.casemix.peer_dx_code
    assert {p: len(e) for p, e in got.person.episodes.items()} == {
        p: len(e) for p, e in want.person.episodes.items()
    }
    assert {h: s.n for h, s in got.hospital.hospitals.items()} == {
        h: s.n for h, s in want.hospital.hospitals.items()
    }
