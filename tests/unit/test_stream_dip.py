"""The stream's DIP tally: one changelog entry per claim still, the case's points in it,
recovery rebuilding the month totals exactly, and the totals equal to `yibao dip month`'s."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import orjson

from dip.cases import assess
from dip.clearing import PeriodTally, month_records
from dip.loader import load_dip_dir
from dip.pairing import PairingCounts, dip_cases
from settlement.claim import parse_claim
from settlement.engine import Settler
from settlement.jsonio import decode_claim, encode_record_bytes
from settlement.policy_loader import load_policy_dir
from streams.dip_tally import DipScorer, dip_month_records
from streams.routing import person_partition
from streams.tables import PartitionShard, ShardState, decode_entry, encode_entry
from testkit.sample_claims import mixed_claim_lines

BOOK = load_policy_dir(None)
DIP = load_dip_dir(None)


def claim_lines(n: int, seed: int) -> list[bytes]:
    """Sample claims; every fifth one with a procedure and a secondary diagnosis (the
    bundled catalogues have no operative group for them: unassigned, counted nowhere)."""
    lines = []
    for i, line in enumerate(mixed_claim_lines(n, seed)):
        try:
            obj = json.loads(line)
        except ValueError:
            lines.append(line)
            continue
        if isinstance(obj, dict) and i % 5 == 0 and obj.get("claim_type") == "inpatient":
            obj["procedures"] = ["47.01"]
            obj["diagnoses"] = ["I10"]
        lines.append(json.dumps(obj).encode())
    return lines


def settle_into(shard: PartitionShard, lines: list[bytes]) -> tuple[list[dict], list[bytes]]:
    """Settle lines as the worker does (validated claim handed to the state); return the
    records and the changelog values."""
    state = ShardState(shard, DipScorer(DIP))
    settler = Settler(BOOK, state)
    records = []
    for offset, line in enumerate(lines):
        src = ("claims", 0, offset)
        try:
            check = parse_claim(decode_claim(line), BOOK)
        except ValueError:
            records.append(settler.settle_json(line, f"claims:0:{offset}"))
            continue
        if check.claim is None:
            records.append(settler.settle_json(line, f"claims:0:{offset}"))
            continue
        state.use(src, check.claim)
        records.append(settler.settle_claim(check.claim))
    return records, [value for _key, value in state.take_pending()]


def batch_months(lines: list[bytes], records: list[dict]) -> list[dict]:
    """What `yibao dip month` prints for every month, from the same two files."""
    settlements = b"".join(encode_record_bytes(r) + b"\n" for r in records)
    tallies: dict[str, PeriodTally] = {}
    cases = dip_cases(
        io.BytesIO(b"\n".join(lines) + b"\n"), io.BytesIO(settlements), DIP, PairingCounts()
    )
    for case, version in cases:
        period = case.discharge_date.isoformat()[:7]
        tallies.setdefault(period, PeriodTally()).add(assess(case, version))
    budgets = {region: policy.years for region, policy in DIP.regions.items()}
    out: list[dict] = []
    for period in sorted(tallies):
        out.extend(month_records(tallies[period], period, budgets)[0])
    return out


def test_dip_cases_ride_in_their_claims_one_entry_and_other_claims_carry_nothing():
    lines = claim_lines(400, seed=5)
    records, entries = settle_into(PartitionShard(), lines)
    settled = [r for r in records if r["status"] == "settled"]
    assert len(entries) == len(settled)  # still one entry per settled claim
    decoded = [decode_entry(v) for v in entries]
    with_dip = [e for e in decoded if e["dip"]]
    assert with_dip and len(with_dip) < len(decoded)
    for value, entry in zip(entries, decoded, strict=True):
        if entry["dip"]:
            assert entry["o"][1] == "inpatient"
            hospital_id, points = entry["dip"]
            assert hospital_id.startswith("H") and isinstance(points, int)
        else:  # a claim that is no DIP case pays no extra bytes
            assert not isinstance(orjson.loads(value)[-1], dict)


def test_an_entry_without_dip_part_decodes_as_before():
    _records, entries = settle_into(PartitionShard(), claim_lines(50, seed=6))
    entry = decode_entry(entries[0])
    old = encode_entry(type_outcome(entry["o"]), None, tuple(entry["src"]))
    assert decode_entry(old)["dip"] is None
    assert decode_entry(old)["o"] == entry["o"]


def type_outcome(values: list):
    from settlement.state import SettledOutcome

    return SettledOutcome(*values)


def test_recovery_rebuilds_the_dip_totals_exactly_and_twice_is_a_no_op():
    live = PartitionShard()
    _records, entries = settle_into(live, claim_lines(600, seed=7))
    recovered = PartitionShard()
    assert all(recovered.apply(decode_entry(v)) for v in entries)
    assert not any(recovered.apply(decode_entry(v)) for v in entries)
    assert live.dip and recovered.dip == live.dip
    assert recovered.clearing == live.clearing


def test_resubmitted_and_redelivered_claims_add_no_points():
    lines = claim_lines(200, seed=8)
    shard = PartitionShard()
    settle_into(shard, lines)
    before = {k: list(v) for k, v in shard.dip.items()}
    _again, new_entries = settle_into(shard, lines)  # every claim now a duplicate
    assert new_entries == []
    assert shard.dip == before


def test_month_records_equal_yibao_dip_month_on_the_same_claims():
    # two shards, as two partitions of people: the records sum them
    parts: list[list[bytes]] = [[], []]
    for line in claim_lines(1500, seed=9):
        try:
            person = json.loads(line)["patient"]["person_id"]
        except (ValueError, KeyError, TypeError):
            continue  # unreadable lines settle nothing (and would be named by position)
        parts[person_partition(person, 2)].append(line)
    shards = [PartitionShard(), PartitionShard()]
    all_records = []
    for shard, part in zip(shards, parts, strict=True):
        all_records += settle_into(shard, part)[0]
    assert {r["status"] for r in all_records} == {"settled", "duplicate", "rejected"}
    expected = batch_months(parts[0] + parts[1], all_records)
    got, warnings = dip_month_records(shards, DIP)
    assert expected and got == expected
    assert warnings == []
    march, _ = dip_month_records(shards, DIP, "2026-03")
    assert march == [r for r in expected if r["period"] == "2026-03"]


def test_a_broken_dip_policy_stops_the_worker_before_it_connects(tmp_path):
    broken = Path(__file__).parent / "broken_dip" / "alias"
    done = subprocess.run(
        [sys.executable, "-m", "yibao.cli", "stream", "--no-score", "--dip", str(broken)],
        env={**os.environ, "DATA_DIR": str(tmp_path), "KAFKA_BOOTSTRAP": "127.0.0.1:9"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "yibao stream: broken DIP policy:" in done.stderr
    assert str(broken) in done.stderr
