"""Operating the stream: a real Prometheus scrapes a worker, ``yibao status`` judges a live and a
dead broker in bounded time, a busy web port is one line, and a worker hands over the metrics
of the partitions it gives away.

Prometheus is Debian's binary (``apt-get install prometheus``, as .ci/run does): the
test skips without it on a workstation and fails in CI (CI=true).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from streams.broker import create_topics, free_port, start_broker, wait_for_port
from streams.replay import replay
from streams.topics import topic_layout
from testkit.sample_claims import mixed_claim_lines
from testkit.workers import start_worker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "yibao-alerts.yml"


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail("prometheus is missing: apt-get install prometheus (.ci/run does)")
        pytest.skip("prometheus is missing (apt-get install prometheus)")
    return found


def wait_until_ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.HTTPError, urllib.error.URLError, ConnectionError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} not ready within {timeout} s")
        time.sleep(0.5)


def yibao(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yibao.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def lag_partitions(metrics: str) -> set[int]:
    return {
        int(line.split('partition="')[1].split('"')[0])
        for line in metrics.splitlines()
        if line.startswith("yibao_consumer_lag{")
    }


@pytest.fixture
def broker():
    b = start_broker()
    create_topics(b.bootstrap, topic_layout(4))
    started: list = []
    b.start_worker = lambda *a, **kw: started.append(start_worker(*a, **kw)) or started[-1]
    yield b
    for w in started:
        w.stop(timeout=10)
    b.stop()


def test_a_busy_web_port_is_one_line_naming_the_setting(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}", "DATA_DIR": str(tmp_path)}
        done = yibao("stream", "--no-score", "--web-port", str(port), env=env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"yibao stream: port {port} on 127.0.0.1 is in use (another worker?); "
        "choose another with STREAM_WEB_PORT or --web-port"
    ]


def test_status_of_a_dead_broker_is_one_line_in_bounded_time(tmp_path):
    env = {
        "KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",  # nothing listens there
        "STREAM_WEB_PORT": str(free_port()),
        "DATA_DIR": str(tmp_path),
    }
    t0 = time.monotonic()
    done = yibao("status", "--timeout", "2", env=env)
    took = time.monotonic() - t0
    assert done.returncode == 1
    assert took < 30  # the interpreter's start included; the broker part is bounded by 2 s
    assert len(done.stdout.splitlines()) == 1 and "NOT REACHABLE" in done.stdout
    assert "Traceback" not in done.stderr and "ERROR" not in done.stderr
    as_json = json.loads(yibao("status", "--timeout", "2", "--json", env=env).stdout)
    assert as_json["broker_reachable"] is False and as_json["healthy"] is False

    # A port that accepts connections but never answers: the time limit is what ends it.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        env["KAFKA_BOOTSTRAP"] = f"127.0.0.1:{silent.getsockname()[1]}"
        t0 = time.monotonic()
        done = yibao("status", "--timeout", "2", env=env)
        assert time.monotonic() - t0 < 30
    assert done.returncode == 1 and "no answer in 2 s" in done.stdout


def test_prometheus_scrapes_a_worker_and_status_sees_it_healthy(broker, tmp_path):
    binary = prometheus_binary()
    worker = broker.start_worker(broker.bootstrap, tmp_path / "w", app_id="t-ops")
    worker.wait_ready()
    replay(mixed_claim_lines(200, seed=12), broker.bootstrap)
    worker.wait_processed(150)

    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {
                "job_name": "yibao-worker",
                "static_configs": [{"targets": [f"127.0.0.1:{worker.port}"]}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 (closed below)
    prometheus = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=60)
        # The port opens before the storage is loaded; until then every API call answers 503.
        wait_until_ready(f"http://127.0.0.1:{port}/-/ready", timeout=60)

        def query(expr: str) -> list[dict]:
            url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
            with urllib.request.urlopen(url, timeout=5) as answer:
                return json.load(answer)["data"]["result"]

        deadline = time.monotonic() + 60
        while not query("yibao_claims_in_total") and time.monotonic() < deadline:
            time.sleep(0.5)
        claims_in = query("sum(yibao_claims_in_total)")
        assert claims_in and float(claims_in[0]["value"][1]) >= 150
        assert query('up{job="yibao-worker"} == 1')
        assert query('yibao_model_info{version="none"}')
        assert query("yibao_settlement_latency_seconds_count")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/rules", timeout=5) as answer:
            groups = json.load(answer)["data"]["groups"]
        assert {g["name"] for g in groups} == {"yibao-worker", "yibao-review-follow"}
    finally:
        prometheus.terminate()
        prometheus.wait(30)
        log.close()

    env = {"KAFKA_BOOTSTRAP": broker.bootstrap, "DATA_DIR": str(tmp_path)}
    done = yibao(
        "status", "--json", "--worker", f"http://127.0.0.1:{worker.port}",
        "--group", "t-ops-claims", env=env,
    )  # fmt: skip
    found = json.loads(done.stdout)
    assert done.returncode == 0, found["problems"]
    assert found["healthy"] and found["topics"]["claims"] == 4
    assert found["workers"][0]["ready"] and found["workers"][0]["model"] == "none"
    assert found["workers"][0]["partitions"] == [0, 1, 2, 3]
    assert found["groups"][0]["group"] == "t-ops-claims" and found["groups"][0]["committed"]
    assert found["dead_letters"] >= 1  # mixed_claim_lines holds malformed ones
    text = yibao("status", "--worker", f"http://127.0.0.1:{worker.port}", env=env)
    assert text.returncode == 0 and text.stdout.splitlines()[-1] == "healthy"


def test_a_worker_stops_reporting_partitions_it_handed_over(broker, tmp_path):
    first = broker.start_worker(broker.bootstrap, tmp_path / "a", app_id="t-handover")
    first.wait_ready()
    replay(mixed_claim_lines(400, seed=13), broker.bootstrap)
    first.wait_processed(300)
    assert lag_partitions(first.get("/metrics").decode()) == {0, 1, 2, 3}

    second = broker.start_worker(broker.bootstrap, tmp_path / "b", app_id="t-handover")
    second.wait_ready()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        st = first.status()
        if st and st.get("ready") and len(st["partitions"]) == 2:
            break
        time.sleep(0.5)
    kept = set(first.wait_ready()["partitions"])
    assert len(kept) == 2
    metrics = first.get("/metrics").decode()
    assert lag_partitions(metrics) <= kept
    assert "yibao_partitions_owned 2.0" in metrics


def test_the_follower_serves_metrics_and_names_a_busy_port(tmp_path):
    from review.follow_metrics import FollowMetrics

    metrics = FollowMetrics()
    server = metrics.serve("127.0.0.1", 0)
    try:
        port = server.server_port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            assert "yibao_follow_last_batch_timestamp_seconds 0.0" in answer.read().decode()
        env = {
            "DATA_DIR": str(tmp_path),
            "FOLLOW_METRICS_PORT": str(port),  # taken by the server above
            "KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
        }
        done = yibao("review", "follow", "--until-idle", "1", env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"yibao review follow: cannot serve metrics on 127.0.0.1:{port} (Address already in use); "
        "choose another FOLLOW_METRICS_PORT (0: no metrics endpoint)"
    )
    assert "Traceback" not in done.stderr
