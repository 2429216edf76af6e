"""The stream worker against the embedded Tansu broker: same fen as batch settlement, dead
letters, operator pages, crash (SIGKILL) and restart, two workers in one group.

Each test starts its own broker on a free port (it starts in milliseconds) and
real ``yibao stream`` worker processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter, defaultdict

import pytest
from aiokafka.partitioner import murmur2

from settlement.clearing import clear_period
from settlement.engine import Settler
from settlement.jsonio import encode_record
from settlement.policy_loader import load_policy_dir
from streams.broker import create_topics, start_broker
from streams.replay import replay, route
from streams.tables import CHANGELOG_SUFFIX, decode_entry
from streams.topics import CLAIMS_DLQ, SETTLEMENTS, topic_layout
from testkit.sample_claims import MALFORMED_LINES, mixed_claim_lines
from testkit.workers import read_topic, start_worker, wait_for_claims
from tests.section8_world import with_section8_patients, write_section8_policies

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def batch_records(lines: list[bytes], policies=None) -> list[dict]:
    settler = Settler(load_policy_dir(policies))
    return [settler.settle_json(line, f"line:{i}") for i, line in enumerate(lines, 1)]


def decoded(records: list) -> list[dict]:
    return [json.loads(r.value) for r in records]


def assert_matches_batch(lines: list[bytes], stream: list[dict], policies=None) -> None:
    """Stream answers == batch answers, claim by claim (re-sent identical answers allowed)."""
    batch = batch_records(lines, policies)
    expected = Counter(encode_record(r) for r in batch if not r["claim_id"].startswith("line:"))
    got_all = [r for r in stream if ":" not in r["claim_id"]]
    # A crash may make the worker answer a claim again with the very same record:
    # consumers dedupe by (claim_id, status); the multiset of distinct answers must match.
    got = Counter(encode_record(r) for r in got_all)
    assert set(got) == set(expected)
    for body, n in expected.items():
        assert got[body] >= n
    # never two different answers of the same status for one claim (no double payment)
    bodies: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in got_all:
        bodies[(r["claim_id"], r["status"])].add(encode_record(r))
    assert all(len(b) == 1 for b in bodies.values())
    # fund-paid accumulators: settled fund_pay per person-year, deduped, equals batch
    assert fund_paid_by_claim(got_all) == fund_paid_by_claim(batch)


def fund_paid_by_claim(records: list[dict]) -> dict[str, str]:
    return {r["claim_id"]: r["fund_pay"] for r in records if r["status"] == "settled"}


@pytest.fixture
def broker():
    b = start_broker()
    create_topics(b.bootstrap, topic_layout(4))
    started: list = []
    b.start_worker = lambda *a, **kw: started.append(start_worker(*a, **kw)) or started[-1]
    yield b
    for w in started:  # a failed test must not leave workers behind
        w.stop(timeout=10)
    b.stop()


def test_stream_equals_batch_and_dead_letters(broker, tmp_path):
    lines = mixed_claim_lines(1500, seed=11)
    replay(lines, broker.bootstrap)
    worker = broker.start_worker(broker.bootstrap, tmp_path, app_id="t-equal")
    try:
        worker.wait_ready()
        worker.wait_processed(len(lines))
        settlements = read_topic(broker.bootstrap, SETTLEMENTS, want=len(lines))
        dlq = read_topic(broker.bootstrap, CLAIMS_DLQ, want=len(MALFORMED_LINES) + 3)
        metrics = worker.get("/metrics").decode()
        health = json.loads(worker.get("/health"))
        clearing = json.loads(worker.get("/clearing"))
    finally:
        assert worker.stop() == 0  # SIGTERM: graceful
    records = decoded(settlements)
    assert len(records) == len(lines)  # exactly one answer per message without crashes
    assert_matches_batch(lines, records)
    assert Counter(r["status"] for r in records)["duplicate"] == 5

    # every rejected message: a rejected record (malformed ones named
    # <topic>:<partition>:<offset>), and a dead letter holding the original bytes,
    # where it came from and why
    rejected_lines = [line for line, r in zip(lines, batch_records(lines), strict=True)
                      if r["status"] == "rejected"]  # fmt: skip
    assert len(rejected_lines) == len(MALFORMED_LINES) + 3
    assert sorted(r.value for r in dlq) == sorted(rejected_lines)
    by_id = {r["claim_id"]: r for r in records}
    for letter in dlq:
        headers = {k: v.decode() for k, v in letter.headers}
        coords = ":".join(headers[f"yibao.source.{k}"] for k in ("topic", "partition", "offset"))
        assert headers["yibao.source.topic"] == route(letter.value)[1]
        reasons = json.loads(headers["yibao.reasons"])
        assert {e["code"] for e in reasons} & {"malformed", "invalid_person_id"}
        claim_id = headers["yibao.claim_id"]
        assert by_id[claim_id]["status"] == "rejected"
        assert by_id[claim_id]["errors"] == reasons
        if letter.value == b"this is not json":
            assert claim_id == coords
    assert by_id["M-1"]["status"] == "rejected"
    # each settled claim's answer is in its claim's partition number (one person's
    # answers in order, like the claims): the claim topics are keyed by person id
    partition_of = {}
    for line in lines:
        key, _topic = route(line)
        claim = json.loads(line) if key else None
        if isinstance(claim, dict) and isinstance(claim.get("claim_id"), str):
            partition_of[claim["claim_id"]] = (murmur2(key) & 0x7FFFFFFF) % 4
    settled = [r for r in settlements if json.loads(r.value)["status"] == "settled"]
    assert len(settled) > 1000
    assert all(r.partition == partition_of[r.key.decode()] for r in settled)
    # invalid identity numbers are rejected (and dead-lettered, above)
    assert {"invalid_person_id"} <= {
        e["code"] for r in records if r["claim_id"].startswith("X") for e in r["errors"]
    }

    assert "yibao_dlq_total 6.0" in metrics
    assert "yibao_internal_errors_total 0.0" in metrics
    assert 'yibao_records_out_total{topic="settlements"}' in metrics
    assert "yibao_settlement_latency_seconds_count" in metrics
    assert 'yibao_model_info{version="none"} 1.0' in metrics
    assert health["ok"] is True
    gross = Counter()
    for r in batch_records(lines):
        if r["status"] == "settled" and r["intercity"]:
            key = (r["discharge_date"][:7], r["insured_region"], r["treatment_region"])
            gross[key] += int(r["fund_pay"].replace(".", ""))
    assert {
        (row["period"], row["debtor"], row["creditor"]): row["fund_pay_fen"]
        for row in clearing["totals"]
    } == dict(gross)


def test_sigkill_and_restart_lose_nothing_and_pay_nothing_twice(broker, tmp_path):
    # people crossing their caps with claims at home and away: a different order of
    # their claims would pay different amounts than batch settlement of the file
    lines = mixed_claim_lines(6000, seed=21)
    worker = broker.start_worker(broker.bootstrap, tmp_path, app_id="t-kill")
    worker.wait_ready()
    # the claims arrive while the worker runs; it is killed mid-stream, then again
    # while it works through the backlog the first kill left
    sender = threading.Thread(target=replay, args=(lines, broker.bootstrap), kwargs={"rate": 3000})
    sender.start()
    worker.wait_processed(1500)
    worker.kill()
    before = len(read_topic(broker.bootstrap, SETTLEMENTS, idle=0.3))
    assert 0 < before < len(lines)
    worker = broker.start_worker(broker.bootstrap, tmp_path, app_id="t-kill")
    worker.wait_ready()
    worker.wait_processed(1000)
    worker.kill()

    worker = broker.start_worker(broker.bootstrap, tmp_path, app_id="t-kill")
    try:
        worker.wait_ready()
        ids = {json.loads(line)["claim_id"] for line in lines[: -len(MALFORMED_LINES)]}
        settlements = wait_for_claims(broker.bootstrap, SETTLEMENTS, ids)
    finally:
        assert worker.stop() == 0
        sender.join()
    records = decoded(settlements)
    assert_matches_batch(lines, records)
    statuses = Counter((r["claim_id"], r["status"]) for r in records)
    # a claim sent once is never answered "duplicate": the restart recognised its own messages
    assert sum(1 for (_cid, st) in statuses if st == "duplicate") == 5
    changelog = read_topic(broker.bootstrap, "t-kill-claims" + CHANGELOG_SUFFIX, idle=0.3)
    entries = [decode_entry(r.value) for r in changelog if r.value]
    # `yibao clearing` on a dump of the settlements topic (re-sent records included)
    # nets what batch settlement nets
    dump = tmp_path / "settlements.jsonl"
    env = {**os.environ, "KAFKA_BOOTSTRAP": broker.bootstrap}
    cli = [sys.executable, "-m", "yibao.cli"]
    subprocess.run([*cli, "topic-dump", SETTLEMENTS, "-o", str(dump)], env=env, check=True)
    assert len(dump.read_bytes().splitlines()) == len(records)
    out = subprocess.run(
        [*cli, "clearing", "--period", "2026-03", str(dump)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    got = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert got and got == clear_period(batch_records(lines), "2026-03")
    # one state entry per settled claim: nothing was paid (or counted) twice
    assert len(entries) == len({e["o"][0] for e in entries})
    assert len(entries) == len({r["claim_id"] for r in records if r["status"] == "settled"})


def test_sigkill_keeps_the_section_8_accumulators(broker, tmp_path):
    # policies with 8.5 deductibles, critical illness, assistance, categories and
    # catalogues: a lost or doubled admission, CI or assistance total would change
    # the amounts of the person's later claims (every amount is compared with batch)
    policies = write_section8_policies(tmp_path / "policies")
    lines = with_section8_patients(mixed_claim_lines(3000, seed=23))
    env = {"POLICIES_DIR": str(policies)}
    worker = broker.start_worker(broker.bootstrap, tmp_path, app_id="t-kill8", env=env)
    worker.wait_ready()
    sender = threading.Thread(target=replay, args=(lines, broker.bootstrap), kwargs={"rate": 2000})
    sender.start()
    worker.wait_processed(1000)
    worker.kill()
    worker = broker.start_worker(broker.bootstrap, tmp_path, app_id="t-kill8", env=env)
    try:
        worker.wait_ready()
        ids = {json.loads(line)["claim_id"] for line in lines[: -len(MALFORMED_LINES)]}
        settlements = wait_for_claims(broker.bootstrap, SETTLEMENTS, ids)
    finally:
        assert worker.stop() == 0
        sender.join()
    records = decoded(settlements)
    assert_matches_batch(lines, records, policies)
    settled = [r for r in records if r["status"] == "settled"]
    assert any(r["ci_pay"] != "0.00" for r in settled)
    assert any(r["ma_pay"] != "0.00" for r in settled)
    changelog = read_topic(broker.bootstrap, "t-kill8-claims" + CHANGELOG_SUFFIX, idle=0.3)
    entries = [decode_entry(r.value) for r in changelog if r.value]
    assert len(entries) == len({e["o"][0] for e in entries})
    assert any(e["totals"] and e["totals"][3] for e in entries)  # a CI payment in an entry


def test_two_workers_share_the_partitions(broker, tmp_path):
    lines = mixed_claim_lines(3000, seed=31)
    first = broker.start_worker(broker.bootstrap, tmp_path / "a", app_id="t-pair")
    second = broker.start_worker(broker.bootstrap, tmp_path / "b", app_id="t-pair")
    try:
        first.wait_ready()
        second.wait_ready()
        replay(lines, broker.bootstrap)
        ids = {json.loads(line)["claim_id"] for line in lines[: -len(MALFORMED_LINES)]}
        settlements = wait_for_claims(broker.bootstrap, SETTLEMENTS, ids)
        parts = [set(first.wait_ready()["partitions"]), set(second.wait_ready()["partitions"])]
        done = [first.status()["processed"], second.status()["processed"]]
    finally:
        codes = [first.stop(), second.stop()]
    assert codes == [0, 0]
    assert parts[0] and parts[1] and not parts[0] & parts[1]
    assert parts[0] | parts[1] == {0, 1, 2, 3}
    assert all(n > 0 for n in done)
    assert_matches_batch(lines, decoded(settlements))
