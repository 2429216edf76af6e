"""``yibao stream --processes 2`` against the embedded broker: two worker processes of one
group answer every claim exactly once, with the very answers of one process; the
supervisor stops both on SIGTERM, stops the other when one dies, and its workers
do not outlive a SIGKILLed supervisor.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from settlement.jsonio import encode_record
from streams.broker import create_topics, start_broker
from streams.replay import read_topic, replay
from streams.tables import CHANGELOG_SUFFIX, decode_entry
from streams.topics import SETTLEMENTS, topic_layout
from testkit.sample_claims import mixed_claim_lines
from testkit.workers import WorkerProcess, process_gone, start_worker
from tests.integration.test_stream import assert_matches_batch, decoded

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]


def start_set(bootstrap: str, data_dir: Path, app_id: str, n: int) -> list[WorkerProcess]:
    """``yibao stream --processes n``: the supervisor as the first item's process, and a
    handle per worker (its web port) to read its /ready."""
    args = ("--no-score", "--processes", str(n))
    sup = start_worker(bootstrap, data_dir, app_id=app_id, args=args)
    return [WorkerProcess(sup.process, sup.port + i, sup.log_path) for i in range(n)]


def settle_with(n: int, lines: list[bytes], tmp_path: Path) -> tuple[list, list, list]:
    """Replay ``lines`` into a fresh broker, settle them with ``n`` processes, stop (SIGTERM).

    Returns (settlement records, changelog entries, each worker's /ready at the end).
    """
    broker = start_broker()
    try:
        create_topics(broker.bootstrap, topic_layout(4))
        replay(lines, broker.bootstrap)
        workers = start_set(broker.bootstrap, tmp_path / f"p{n}", f"t-proc{n}", n)
        try:
            for w in workers:
                w.wait_ready(120)
            deadline = time.monotonic() + 180
            while sum((w.status() or {}).get("processed", 0) for w in workers) < len(lines):
                assert time.monotonic() < deadline, workers[0].tail()
                time.sleep(0.3)
            status = [w.status() for w in workers]
            pids = {s["pid"] for s in status}
            started = workers[0].process.pid
            # one process: the worker itself; several: children of the supervisor
            assert pids == {started} if n == 1 else started not in pids
            records = read_topic(broker.bootstrap, SETTLEMENTS, want=len(lines), timeout=120)
            # nothing more arrives: every message was answered once
            assert len(read_topic(broker.bootstrap, SETTLEMENTS, idle=1.0)) == len(records)
            changelog = read_topic(broker.bootstrap, f"t-proc{n}-claims" + CHANGELOG_SUFFIX)
        finally:
            code = workers[0].stop(timeout=60)
        assert code == 0, workers[0].tail()  # SIGTERM: every worker stopped gracefully
        log = workers[0].log_path.read_text("utf-8", "replace")
        assert log.count("settlement agent stopped") == n
        entries = [decode_entry(r.value) for r in changelog if r.value]
        return decoded(records), entries, status
    finally:
        broker.stop()


def test_two_processes_answer_every_claim_once_as_one_process_does(tmp_path):
    lines = mixed_claim_lines(3000, seed=37)
    one, one_entries, _ = settle_with(1, lines, tmp_path)
    two, two_entries, status = settle_with(2, lines, tmp_path)

    # two worker processes, each its own pid, splitting the four partitions
    assert len({s["pid"] for s in status}) == 2
    parts = [set(s["partitions"]) for s in status]
    assert parts[0] and parts[1] and not parts[0] & parts[1]
    assert parts[0] | parts[1] == {0, 1, 2, 3}
    assert all(s["processed"] > 0 for s in status)

    # exactly one answer per message, and the same answers as one process and as batch
    assert len(two) == len(one) == len(lines)

    def answers(records: list[dict]) -> Counter[str]:
        # a message without a claim id is named by where it landed (topic:partition:
        # offset), and the replay sends those unkeyed, to any partition: leave the name out
        return Counter(
            encode_record({**r, "claim_id": "-"} if ":" in r["claim_id"] else r) for r in records
        )

    assert answers(two) == answers(one)
    assert_matches_batch(lines, two)
    # one state entry per settled claim, as with one process
    assert len(two_entries) == len({e["o"][0] for e in two_entries}) == len(one_entries)
    assert Counter(r["status"] for r in two)["duplicate"] == 5


def test_supervisor_stops_the_set_when_a_worker_dies_and_workers_die_with_it(tmp_path):
    broker = start_broker()
    try:
        create_topics(broker.bootstrap, topic_layout(4))
        workers = start_set(broker.bootstrap, tmp_path / "a", "t-die", 2)
        sup = workers[0].process
        try:
            pids = [w.wait_ready(120)["pid"] for w in workers]
            os.kill(pids[1], signal.SIGKILL)  # a worker dies: the other is stopped too
            assert sup.wait(60) == 1
            assert process_gone(pids[0], 5)
        finally:
            workers[0].stop(timeout=30)
        log = workers[0].log_path.read_text("utf-8", "replace")
        assert f"worker process 1 (pid {pids[1]}) killed by SIGKILL on its own" in log
        assert "settlement agent stopped" in log  # the other one stopped gracefully

        # a SIGKILLed supervisor: its workers get SIGTERM from the kernel and stop
        workers = start_set(broker.bootstrap, tmp_path / "b", "t-orphan", 2)
        try:
            pids = [w.wait_ready(120)["pid"] for w in workers]
            workers[0].kill()
            assert all(process_gone(pid, 40) for pid in pids), workers[0].tail()
        finally:
            for pid in pids:
                if not process_gone(pid, 0.1):
                    os.kill(pid, signal.SIGKILL)
    finally:
        broker.stop()
