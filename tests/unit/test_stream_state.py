"""The stream worker's pure parts: changelogged shard state, sample claims, routing, logs."""

from __future__ import annotations

import json
import logging

from settlement.claim import parse_claim
from settlement.engine import Settler
from settlement.idnumber import check_character
from settlement.policy_loader import load_policy_dir
from settlement.state import SettledOutcome
from streams.logs import JsonFormatter
from streams.metrics import StreamMetrics
from streams.replay import route
from streams.routing import (
    MAX_HOPS,
    forward_headers,
    hops_of,
    kind_of,
    origin_of,
    person_partition,
)
from streams.tables import PartitionShard, ShardState, clearing_totals, decode_entry
from streams.topics import CLAIMS
from testkit.sample_claims import MALFORMED_LINES, make_claims, mixed_claim_lines

BOOK = load_policy_dir(None)


def settle_into(shard: PartitionShard, lines: list[bytes]) -> tuple[list[dict], list[bytes]]:
    """Settle lines the way the worker does; return records and the changelog values."""
    state = ShardState(shard)
    settler = Settler(BOOK, state)
    records = []
    for offset, line in enumerate(lines):
        state.use(("claims.realtime", 0, offset))
        records.append(settler.settle_json(line, f"claims.realtime:0:{offset}"))
    return records, [value for _key, value in state.take_pending()]


def test_one_changelog_entry_per_settled_claim_carries_its_accumulator_delta():
    lines = mixed_claim_lines(200, seed=1)
    records, entries = settle_into(PartitionShard(), lines)
    settled = [r for r in records if r["status"] == "settled"]
    assert len(entries) == len(settled)
    for rec, value in zip(settled, entries, strict=True):
        entry = decode_entry(value)
        assert entry["o"][0] == rec["claim_id"]
        fen = int(rec["fund_pay"].replace(".", ""))
        if rec["claim_type"] == "inpatient":  # every admission counts (spec 8.5)
            assert entry["acc"][1] == fen
            assert entry["totals"] == [1, int(rec["deductible"].replace(".", "")), 0, 0, 0, 0]
        elif rec["claim_type"] == "outpatient" and fen:
            assert entry["acc"][1] == fen
            assert entry["totals"] is None
        else:
            assert entry["acc"] is None
            assert entry["totals"] is None


def test_recovery_from_the_changelog_rebuilds_the_same_state_and_is_idempotent():
    live = PartitionShard()
    _records, entries = settle_into(live, mixed_claim_lines(300, seed=2))
    recovered = PartitionShard()
    assert all(recovered.apply(decode_entry(v)) for v in entries)
    assert not any(recovered.apply(decode_entry(v)) for v in entries)  # applied twice: no-op
    assert recovered.settled == live.settled
    assert recovered.fund_paid == live.fund_paid
    assert recovered.totals == live.totals
    assert recovered.source == live.source
    assert recovered.clearing == live.clearing


def test_recovered_state_answers_resubmissions_as_duplicates_with_the_first_amounts():
    lines = mixed_claim_lines(50, seed=3)[:50]
    first, entries = settle_into(PartitionShard(), lines)
    recovered = PartitionShard()
    for v in entries:
        recovered.apply(decode_entry(v))
    again, new_entries = settle_into(recovered, lines)
    assert new_entries == []
    for a, b in zip(first, again, strict=True):
        assert b["status"] == "duplicate"
        assert {**b, "status": "settled"} == a


def test_clearing_totals_count_settled_intercity_claims_by_month_and_pair():
    shard = PartitionShard()
    records, _ = settle_into(shard, mixed_claim_lines(400, seed=4))
    rows = clearing_totals([shard])
    expected: dict[tuple[str, str, str], list[int]] = {}
    for r in records:
        if r["status"] == "settled" and r["intercity"]:
            key = (r["discharge_date"][:7], r["insured_region"], r["treatment_region"])
            row = expected.setdefault(key, [0, 0])
            row[0] += int(r["fund_pay"].replace(".", ""))
            row[1] += 1
    assert {
        (r["period"], r["debtor"], r["creditor"]): [r["fund_pay_fen"], r["claims"]] for r in rows
    } == expected
    assert rows == sorted(rows, key=lambda r: (r["period"], r["debtor"], r["creditor"]))


def test_sample_claims_are_valid_and_deterministic():
    claims = make_claims(300, seed=9)
    assert claims == make_claims(300, seed=9)
    for c in claims:
        pid = c["patient"]["person_id"]
        assert check_character(pid[:17]) == pid[17]
        check = parse_claim(c, BOOK)
        assert check.claim is not None, check.issues


def test_replay_sends_both_kinds_to_one_log_keyed_by_person():
    local = make_claims(1, seed=5, intercity_share=0.0)[0]
    away = make_claims(1, seed=6, intercity_share=1.0)[0]
    key, topic = route(json.dumps(local).encode())
    assert (key, topic) == (local["patient"]["person_id"].encode(), CLAIMS)
    assert route(json.dumps(away).encode()) == (away["patient"]["person_id"].encode(), CLAIMS)
    assert (kind_of(local), kind_of(away)) == ("realtime", "intercity")
    for line in [*MALFORMED_LINES, b"[" * 5000, b'{"patient": {"person_id": 7}}']:
        assert route(line) == (None, CLAIMS)


def test_a_person_maps_to_the_partition_kafkas_default_partitioner_picks():
    from kafka.partitioner.default import murmur2 as kafka_python_murmur2

    # Kafka's own murmur2 vectors (Java client, UtilsTest), as signed 32-bit values
    java = {"21": -973932308, "foobar": -790332482, "a-little-bit-long-string": -985981536}
    for text, signed in java.items():
        assert person_partition(text, 1_000_003) == (signed & 0x7FFFFFFF) % 1_000_003
    people = [c["patient"]["person_id"] for c in make_claims(200, seed=8)]
    for n in (1, 4, 12):
        for pid in people:
            assert person_partition(pid, n) == (kafka_python_murmur2(pid.encode()) & 0x7FFFFFFF) % n


def test_forward_headers_round_trip_and_foreign_headers_are_ignored():
    headers = forward_headers(("claims.realtime", 3, 1234), 1, "intercity")
    assert origin_of(headers) == ("claims.realtime", 3, 1234)
    assert hops_of(headers) == 1
    assert origin_of([("yibao.origin", b"garbage")]) is None
    assert origin_of([]) is None and hops_of(None) == 0
    assert hops_of([("yibao.hops", b"x")]) == MAX_HOPS  # unreadable: never forwarded again


def test_json_log_lines_carry_extra_fields():
    rec = logging.LogRecord("streams.agents", logging.INFO, __file__, 1, "assigned", (), None)
    rec.partitions = [0, 1]
    out = json.loads(JsonFormatter().format(rec))
    assert out["msg"] == "assigned"
    assert out["level"] == "INFO"
    assert out["partitions"] == [0, 1]
    assert out["pid"] == rec.process  # tells apart the workers of --processes N


def test_model_gauge_shows_only_the_current_version():
    m = StreamMetrics()
    m.set_model("none")
    m.set_model("yibao-fraud/2")
    text = m.render().decode()
    assert 'yibao_model_info{version="yibao-fraud/2"} 1.0' in text
    assert 'version="none"' not in text


def test_settled_outcome_round_trips_through_the_entry():
    shard = PartitionShard()
    _records, entries = settle_into(shard, mixed_claim_lines(10, seed=7)[:10])
    for v in entries:
        outcome = SettledOutcome(*decode_entry(v)["o"])
        assert tuple(outcome) == shard.settled[outcome.claim_id]


def test_an_entry_written_before_section_8_is_read_with_zero_new_amounts():
    src_acc = ["claims.realtime", 0, 5, "441800198001010012:2026", 801068]
    head = ["OLD-1", "inpatient", "2026-03-05", False, "441800", "441800", "441800@2026-01-01"]
    amounts = [1000000, 0, 1000000, 600000, 8522, 801068, 0, 198932]  # 15 outcome fields
    old = json.dumps([*src_acc, *head, *amounts]).encode()
    shard = PartitionShard()
    assert shard.apply(decode_entry(old))
    outcome = SettledOutcome(*shard.settled["OLD-1"])
    assert (outcome.over_price, outcome.ci_pay, outcome.ma_pay) == (0, 0, 0)
    assert outcome.patient_pay == 198932
    assert shard.fund_paid == {"441800198001010012:2026": 801068}


def test_section_8_accumulators_are_in_the_one_entry_and_recovered(tmp_path):
    from tests.section8_world import with_section8_patients, write_section8_policies

    book = load_policy_dir(write_section8_policies(tmp_path / "policies"))
    lines = with_section8_patients(mixed_claim_lines(400, seed=4))
    live = PartitionShard()
    state = ShardState(live)
    settler = Settler(book, state)
    records = []
    for offset, line in enumerate(lines):
        state.use(("claims.realtime", 0, offset))
        records.append(settler.settle_json(line, f"claims.realtime:0:{offset}"))
    entries = [value for _key, value in state.take_pending()]
    settled = [r for r in records if r["status"] == "settled"]
    assert any(r["ci_pay"] != "0.00" for r in settled)
    assert any(r["ma_pay"] != "0.00" for r in settled)
    assert any(r["over_price"] != "0.00" for r in settled)
    assert len(entries) == len(settled)
    recovered = PartitionShard()
    assert all(recovered.apply(decode_entry(v)) for v in entries)
    assert not any(recovered.apply(decode_entry(v)) for v in entries)  # applied twice: no-op
    assert recovered.totals == live.totals and recovered.fund_paid == live.fund_paid
    assert any(t[3] for t in live.totals.values()) and any(t[5] for t in live.totals.values())
    # a recovered worker settles the next claims exactly as the live one would
    more = with_section8_patients(mixed_claim_lines(100, seed=5))
    answers = []
    for shard in (live, recovered):
        again = Settler(book, ShardState(shard))
        answers.append([again.settle_json(line, "x") for line in more])
    assert answers[0] == answers[1]
