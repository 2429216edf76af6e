"""The stream's DIP tally against `yibao dip month`: a real worker, a replay of simulated
claims with DIP cases, one SIGKILL mid-stream, then `/dip` equal to the command's output
on the same claims file and its `yibao settle` output."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
from pathlib import Path

import pytest

from streams.broker import create_topics, start_broker
from streams.replay import replay
from streams.tables import CHANGELOG_SUFFIX, decode_entry
from streams.topics import SETTLEMENTS, topic_layout
from testkit.workers import read_topic, start_worker, wait_for_claims

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
CLI = [sys.executable, "-m", "yibao.cli"]


def yibao(*args: str | Path) -> str:
    return subprocess.run(
        [*CLI, *map(str, args)], check=True, capture_output=True, text=True
    ).stdout


def dip_claims(tmp_path: Path) -> tuple[Path, list[bytes]]:
    """Simulated claims; some in-patient stays given a procedure and secondary diagnoses
    (no operative group in the bundled catalogues: unassigned), five resubmitted, one
    line that is not JSON."""
    simulated = tmp_path / "simulated.jsonl"
    yibao("simulate", "--seed", "4", "--claims", "2500", "-o", simulated)
    lines = []
    for i, line in enumerate(simulated.read_bytes().splitlines()):
        obj = json.loads(line)
        if obj["claim_type"] == "inpatient" and i % 9 == 0:
            obj["procedures"] = ["47.01", "96.0800x005"]
            obj["diagnoses"] = ["I10", "E11.9"]
        lines.append(json.dumps(obj, ensure_ascii=False).encode())
    lines += [*lines[10:15], b"this is not json"]
    claims = tmp_path / "claims.jsonl"
    claims.write_bytes(b"\n".join(lines) + b"\n")
    return claims, lines


@pytest.fixture
def broker():
    b = start_broker()
    create_topics(b.bootstrap, topic_layout(4))
    yield b
    b.stop()


def test_dip_totals_survive_a_sigkill_and_equal_yibao_dip_month(broker, tmp_path):
    claims, lines = dip_claims(tmp_path)
    settlements = tmp_path / "settlements.jsonl"
    yibao("settle", claims, "-o", settlements)
    periods = sorted(
        {json.loads(line)["discharge_date"][:7] for line in lines if line.startswith(b"{")}
    )
    expected = {
        period: [
            json.loads(row)
            for row in yibao("dip", "month", "--period", period, claims, settlements).splitlines()
        ]
        for period in periods
    }
    every_month = [r for period in periods for r in expected[period]]
    assert sum(r["cases"] for r in every_month) > 300

    workers = []
    try:
        worker = start_worker(broker.bootstrap, tmp_path, app_id="t-dip")
        workers.append(worker)
        worker.wait_ready()
        sender = threading.Thread(
            target=replay, args=(lines, broker.bootstrap), kwargs={"rate": 500}
        )
        sender.start()
        worker.wait_processed(800)
        worker.kill()  # mid-stream: entries written, offsets not all committed
        answered = len(read_topic(broker.bootstrap, SETTLEMENTS, idle=0.3))
        assert 0 < answered < len(lines)

        worker = start_worker(broker.bootstrap, tmp_path, app_id="t-dip")
        workers.append(worker)
        worker.wait_ready()
        ids = {json.loads(line)["claim_id"] for line in lines if line.startswith(b"{")}
        wait_for_claims(broker.bootstrap, SETTLEMENTS, ids)
        sender.join()
        dip = json.loads(worker.get("/dip"))
        march = json.loads(worker.get("/dip?period=2026-03"))
        with pytest.raises(urllib.error.HTTPError) as bad:
            worker.get("/dip?period=2026-13")
    finally:
        for w in workers:
            w.stop(timeout=20)
    assert dip["partitions"] == [0, 1, 2, 3]
    assert dip["records"] == every_month
    assert march["records"] == expected["2026-03"]
    assert bad.value.code == 400
    # still one changelog entry per settled claim; the DIP cases carry their points
    changelog = read_topic(broker.bootstrap, "t-dip-claims" + CHANGELOG_SUFFIX, idle=0.3)
    entries = [decode_entry(r.value) for r in changelog if r.value]
    assert len(entries) == len({e["o"][0] for e in entries})
    cases = [json.loads(row) for row in yibao("dip", "cases", claims, settlements).splitlines()]
    grouped = [c for c in cases if c["status"] == "grouped"]
    assert {e["o"][0]: e["dip"] for e in entries if e["dip"]} == {
        c["claim_id"]: [c["hospital_id"], int(c["points"].replace(".", ""))] for c in grouped
    }
    assert {c["status"] for c in cases} == {"grouped", "unassigned", "excluded"}
