"""Broker loss: a real worker subprocess against the embedded broker, killed and restarted.

The embedded broker keeps everything in memory, so a restart is data loss: the
worker must say so and exit non-zero (for a supervisor to restart it), never
answer ready while nothing is consumed, and stop on SIGTERM while the broker
is down. The ``yibao broker`` wrapper must not leave Tansu behind, nor exit 0
when Tansu dies. Operator's view: docs/operator-runbook.md, "Broker outage".
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from kafka.errors import KafkaError

from streams.broker import create_topics, free_port, start_broker
from streams.replay import replay
from streams.topics import SETTLEMENTS, topic_layout
from testkit.sample_claims import mixed_claim_lines
from testkit.workers import WorkerProcess, process_gone, read_topic, start_worker
from yibao.supervisor import port_open

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

STOP_SECONDS = 10.0  # STREAM_STOP_SECONDS of the workers started here
STALE_SECONDS = 3.0  # streams.lifecycle.BrokerWatch.stale_after: /ready's allowance


@pytest.fixture
def workers():
    started: list[WorkerProcess] = []
    yield started
    for w in started:  # a failed test must not leave workers behind
        w.stop(timeout=5)


def _worker(bootstrap: str, tmp_path: Path, started: list, app_id: str) -> WorkerProcess:
    env = {"STREAM_STOP_SECONDS": str(STOP_SECONDS)}
    w = start_worker(bootstrap, tmp_path, app_id=app_id, env=env)
    started.append(w)
    return w


def _send_in_background(lines: list[bytes], bootstrap: str, rate: float) -> threading.Thread:
    def send() -> None:
        with contextlib.suppress(KafkaError):  # the broker is killed under it on purpose
            replay(lines, bootstrap, rate=rate)

    t = threading.Thread(target=send, daemon=True)
    t.start()
    return t


def _watch_ready(w: WorkerProcess, until: float) -> list[dict]:
    """Poll /ready until ``until`` (monotonic) or the worker exits; return the ready answers."""
    ready = []
    while time.monotonic() < until and w.process.poll() is None:
        st = w.status()
        if st and st.get("ready"):
            ready.append(st)
        time.sleep(0.2)
    return ready


def _client_lines(log: str) -> list[str]:
    return [
        line for line in log.splitlines() if '"logger": "aiokafka' in line or "kafka." in line[:80]
    ]


@pytest.mark.parametrize("busy", [True, False], ids=["claims-flowing", "idle"])
def test_broker_killed_and_restarted_empty_worker_exits_naming_the_cause(tmp_path, workers, busy):
    broker = start_broker()
    try:
        create_topics(broker.bootstrap, topic_layout(4))
        w = _worker(broker.bootstrap, tmp_path, workers, app_id="t-loss")
        w.wait_ready()
        lines = mixed_claim_lines(4000, seed=41)
        replay(lines[:800], broker.bootstrap)
        w.wait_processed(800)
        if busy:  # claims keep arriving while the broker dies
            _send_in_background(lines[800:], broker.bootstrap, rate=400)
            w.wait_processed(1000)
        else:  # everything answered and committed (commits follow within 250 ms)
            time.sleep(1.5)
        broker.process.kill()
        broker.process.wait()
        killed = time.monotonic()
        # nothing is consumed from here on: /ready may lag by its allowance, no more
        time.sleep(STALE_SECONDS + 1.0)
        ready_while_down = _watch_ready(w, killed + 10.0)
        # the in-memory broker comes back empty on the same port: data loss
        back = start_broker(broker.port)
        try:
            ready_after = _watch_ready(w, time.monotonic() + 60.0)
            try:
                code = w.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                code = None
        finally:
            back.stop()
    finally:
        broker.stop()
    log = w.log_path.read_text(errors="replace")
    assert ready_while_down == []
    assert ready_after == []  # an empty broker holds nothing to consume
    assert code not in (None, 0), log[-3000:]
    # one line for the operator, naming the cause, and the exit line
    failed = [line for line in log.splitlines() if "settlement agent failed:" in line]
    assert len(failed) == 1, log[-3000:]
    assert "broker lost its data" in failed[0]
    assert f"yibao stream: exit {code}: broker lost its data" in log
    # restarted by a supervisor, a worker of the group refuses to settle on the emptied broker
    again = subprocess.run(
        [
            *(sys.executable, "-m", "yibao.cli", "stream", "--app-id", "t-loss", "--no-score"),
            *("--web-port", str(free_port())),  # never the default 6066 another process holds
        ],
        env={**os.environ, "KAFKA_BOOTSTRAP": broker.bootstrap, "DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 3
    assert "refusing to start: the broker lost its data" in again.stderr
    # connection errors are rate-limited: a few lines per outage, not 160 a second
    client = _client_lines(log)
    assert len(client) < 40, "\n".join(client[:50])
    assert any("similar lines left out" in line for line in client)


def test_broker_paused_then_back_with_its_data_worker_resumes_or_reports(tmp_path, workers):
    """A broker unreachable for a while but keeping its data (SIGSTOP, then SIGCONT)."""
    broker = start_broker()
    try:
        create_topics(broker.bootstrap, topic_layout(4))
        w = _worker(broker.bootstrap, tmp_path, workers, app_id="t-pause")
        w.wait_ready()
        lines = mixed_claim_lines(2000, seed=47)
        replay(lines[:1000], broker.bootstrap)
        w.wait_processed(1000)
        broker.process.send_signal(signal.SIGSTOP)
        paused = time.monotonic()
        time.sleep(STALE_SECONDS + 1.0)
        ready_while_down = _watch_ready(w, paused + 10.0)
        broker.process.send_signal(signal.SIGCONT)
        replay(lines[1000:], broker.bootstrap)
        ids = {json.loads(line)["claim_id"] for line in lines if line.startswith(b"{")}
        answered: set[str] = set()
        deadline = time.monotonic() + 60
        while w.process.poll() is None and time.monotonic() < deadline and not ids <= answered:
            recs = read_topic(broker.bootstrap, SETTLEMENTS, idle=0.5, timeout=30)
            answered = {r.key.decode() for r in recs if r.key}
        code = w.process.poll()
        status = w.status() if code is None else None
    finally:
        broker.stop()
    log = w.log_path.read_text(errors="replace")
    assert ready_while_down == []
    if code is None:  # resumed: every claim answered, ready again
        assert ids <= answered, log[-3000:]
        assert status and status["ready"], status
        assert "consuming again" in log
    else:  # or gave up, saying why, for a supervisor to restart it
        assert code != 0
        assert "settlement agent failed:" in log, log[-3000:]


def test_sigterm_stops_the_worker_while_the_broker_is_down(tmp_path, workers):
    broker = start_broker()
    try:
        create_topics(broker.bootstrap, topic_layout(4))
        w = _worker(broker.bootstrap, tmp_path, workers, app_id="t-term")
        w.wait_ready()
        lines = mixed_claim_lines(3000, seed=43)
        replay(lines[:500], broker.bootstrap)
        w.wait_processed(500)
        _send_in_background(lines[500:], broker.bootstrap, rate=400)
        w.wait_processed(600)
        broker.process.kill()
        broker.process.wait()
        time.sleep(2.0)
        w.process.send_signal(signal.SIGTERM)
        try:
            code = w.process.wait(timeout=STOP_SECONDS + 15)
        except subprocess.TimeoutExpired:
            code = None
    finally:
        broker.stop()
    log = w.log_path.read_text(errors="replace")
    assert code is not None, "SIGTERM did not stop the worker: " + log[-3000:]
    # 0: stopped (what could not be committed is read again); 2: the stop ran out of time
    assert code in (0, 2), log[-3000:]
    assert "settlement agent stopped" in log or "stop took longer than" in log


def _yibao_broker(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "yibao.cli", "broker", "--port", str(port), "--partitions", "2"]
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    # the wrapper's own line, once the topics exist (the library's "embedded broker
    # listening" log line comes before them)
    while b"Ctrl-C stops it" not in log_path.read_bytes():
        assert proc.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.2)
    return proc


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and PR_SET_PDEATHSIG")
def test_sigkill_of_the_broker_wrapper_leaves_no_tansu(tmp_path):
    port = free_port()
    wrapper = _yibao_broker(port, tmp_path / "broker.log")
    tansu = _children(wrapper.pid)
    assert len(tansu) == 1
    wrapper.kill()
    wrapper.wait()
    assert process_gone(tansu[0], timeout=15)
    deadline = time.monotonic() + 10
    while port_open("127.0.0.1", port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not port_open("127.0.0.1", port)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_broker_wrapper_exits_non_zero_when_tansu_dies(tmp_path):
    port = free_port()
    log_path = tmp_path / "broker.log"
    wrapper = _yibao_broker(port, log_path)
    try:
        (tansu,) = _children(wrapper.pid)
        os.kill(tansu, signal.SIGKILL)
        code = wrapper.wait(timeout=30)
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
            wrapper.wait()
    out = log_path.read_text()
    assert code != 0
    assert f"tansu (pid {tansu}) killed by SIGKILL" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("yibao broker: tansu"), out


def test_ready_reports_consuming(tmp_path, workers):
    """The /ready body says whether the agent consumes (the field operators look at)."""
    broker = start_broker()
    try:
        create_topics(broker.bootstrap, topic_layout(4))
        w = _worker(broker.bootstrap, tmp_path, workers, app_id="t-ready")
        st = w.wait_ready()
        health = json.loads(w.get("/health"))
        assert w.stop() == 0
    finally:
        broker.stop()
    assert st["consuming"] is True
    assert health["ok"] is True and health["loop_running"] is True
