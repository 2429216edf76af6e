"""Kill test: SIGKILL the stream worker three times during a 100,000-claim replay.

Afterwards it counts claims lost (no settlement record), claims paid twice (two
different settled answers, or two state entries), and checks every annual
accumulator (fund paid per person and year) against batch settlement.

With ``--score`` the workers also score (a LightGBM champion is trained first on
5,000 simulated claims) and snapshot their fraud-feature memory every 2 s; the
last worker's memory must then hold every settled claim exactly once (restored
snapshot plus claims learned again plus claims learned live).

With ``--caps`` a tenth of the claims come from people who cross their annual
caps with both realtime and inter-city claims, so a different order of a
person's claims would pay different amounts; every answer (status and every
amount) is compared with ``yibao settle`` of the same file. ``--rate 0``
replays at full speed (kills then land in the worker's backlog).

    python benchmarks/kill_test.py [--claims 100000] [--kills 3] [--rate 5000] [--score]
    python benchmarks/kill_test.py --claims 20000 --kills 2 --rate 0 --caps
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from settlement.jsonio import encode_record
from streams.broker import create_topics, start_broker
from streams.replay import replay
from streams.tables import CHANGELOG_SUFFIX, decode_entry
from streams.topics import SETTLEMENTS, topic_layout
from testkit.sample_claims import MALFORMED_LINES, cap_crossing_lines, mixed_claim_lines
from testkit.workers import read_topic, start_worker, wait_for_claims

APP = "kill"
ROOT = Path(__file__).resolve().parent.parent


def train_champion(tmp: Path, env: dict[str, str]) -> None:
    """A small LightGBM champion in a temporary MLflow store (for --score)."""
    yibao = str(ROOT / ".venv/bin/yibao")
    data = tmp / "train.jsonl"
    full = {**os.environ, **env}
    quiet = {"env": full, "check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(
        [yibao, "simulate", "--seed", "99", "--claims", "5000", "-o", str(data)], **quiet
    )
    subprocess.run([yibao, "train", "--data", str(data), "--max-rounds", "100"], **quiet)


def wait_feature_claims(worker, want: int, timeout: float = 180.0) -> int:  # type: ignore[no-untyped-def]
    """The worker's feature memory size once it reaches ``want`` or stops growing."""
    deadline, last, since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        now = (worker.status() or {}).get("feature_claims", 0)
        if now >= want:
            return now
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > 20:
            return now
        time.sleep(0.5)
    return last


def accumulators(records: list[dict], person_of: dict[str, str]) -> dict[str, int]:
    acc: dict[str, int] = defaultdict(int)
    seen: set[str] = set()
    for r in records:
        if r["status"] != "settled" or r["claim_id"] in seen or r["claim_type"] == "ltc":
            continue
        seen.add(r["claim_id"])
        acc[f"{person_of[r['claim_id']]}:{r['discharge_date'][:4]}"] += int(
            r["fund_pay"].replace(".", "")
        )
    return dict(acc)


def settle_with_cli(lines: list[bytes], tmp: Path) -> list[dict]:
    """``yibao settle`` of the replayed file, the reference the stream must equal."""
    path = tmp / "claims.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    out = tmp / "settled.jsonl"
    yibao = str(ROOT / ".venv/bin/yibao")
    subprocess.run([yibao, "settle", str(path), "-o", str(out)], check=True)
    return [json.loads(line) for line in out.open("rb")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--rate", type=float, default=5000.0, help="replay claims/s (0: full speed)")
    ap.add_argument("--caps", action="store_true", help="people crossing caps at home and away")
    ap.add_argument("--score", action="store_true", help="score too, with feature snapshots")
    args = ap.parse_args()

    n_small = int(args.claims / 1.05)
    lines = (cap_crossing_lines if args.caps else mixed_claim_lines)(n_small, 42)
    print(f"{len(lines)} messages ({len(MALFORMED_LINES)} malformed, 5 resubmitted duplicates)")
    tmp = Path(tempfile.mkdtemp(prefix="yibao-kill-"))
    expected = settle_with_cli(lines, tmp)
    over_cap = sum(1 for r in expected if r["status"] == "settled" and r["over_cap"] != "0.00")
    print(f"yibao settle: {Counter(r['status'] for r in expected)}; {over_cap} claims over a cap")
    n_settled = len({r["claim_id"] for r in expected if r["status"] == "settled"})
    broker = start_broker()
    bs = broker.bootstrap
    worker = None
    env: dict[str, str] = {}
    worker_args: tuple[str, ...] = ("--no-score",)
    if args.score:
        env = {"DATA_DIR": str(tmp), "MODEL_NAME": "kill-fraud", "FEATURE_SNAPSHOT_SECONDS": "2"}
        worker_args = ()
        train_champion(tmp, env)
    feature_claims = None
    try:
        create_topics(bs, topic_layout(4))
        worker = start_worker(bs, tmp, app_id=APP, env=env, args=worker_args)
        worker.wait_ready()
        rate = args.rate or None
        sender = threading.Thread(target=replay, args=(lines, bs), kwargs={"rate": rate})
        t0 = time.monotonic()
        sender.start()
        step = len(lines) // (args.kills + 1)
        for k in range(args.kills):
            # the worker's own count (polled quickly): at full speed a topic read is too slow
            target = step if k == 0 else step // 2
            while ((worker.status() or {}).get("processed", 0)) < target:
                time.sleep(0.02)
            worker.kill()
            done = len(read_topic(bs, SETTLEMENTS, idle=0.2, timeout=30))
            print(f"SIGKILL {k + 1} at {time.monotonic() - t0:.1f} s, {done} settlement records")
            worker = start_worker(bs, tmp, app_id=APP, env=env, args=worker_args)
            worker.wait_ready()
        sender.join()
        ids = {json.loads(line)["claim_id"] for line in lines[: -len(MALFORMED_LINES)]}
        settlements = wait_for_claims(bs, SETTLEMENTS, ids, timeout=600)
        print(f"replay and processing done at {time.monotonic() - t0:.1f} s")
        if args.score:
            feature_claims = wait_feature_claims(worker, n_settled)
        worker.stop()
        changelog = read_topic(bs, APP + "-claims" + CHANGELOG_SUFFIX, idle=0.5)
    finally:
        if worker is not None:
            worker.stop()
        broker.stop()

    records = [json.loads(r.value) for r in settlements]
    answered = {r["claim_id"] for r in records}
    lost = len(ids - answered)
    bodies: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in records:
        bodies[(r["claim_id"], r["status"])].add(encode_record(r))
    paid_twice = sum(1 for (_cid, st), b in bodies.items() if st == "settled" and len(b) > 1)
    entries = Counter(decode_entry(r.value)["o"][0] for r in changelog if r.value)
    twice_in_state = sum(1 for n in entries.values() if n > 1)
    wrong_duplicates = sum(1 for (_cid, st) in bodies if st == "duplicate") - 5

    person_of = {}
    for line in lines[: -len(MALFORMED_LINES)]:
        c = json.loads(line)
        person_of[c["claim_id"]] = c["patient"]["person_id"]
    acc_stream = accumulators(records, person_of)
    acc_batch = accumulators(expected, person_of)
    wrong_acc = sum(
        1 for k in acc_batch.keys() | acc_stream.keys() if acc_batch.get(k) != acc_stream.get(k)
    )
    # every answer with a claim id (malformed lines are named by line or offset)
    differ = sum(
        1
        for r in expected
        if not r["claim_id"].startswith("line:")
        and encode_record(r) not in bodies.get((r["claim_id"], r["status"]), ())
    )
    print(
        f"records in settlements: {len(records)} for {len(lines)} messages "
        f"({len(records) - len(lines)} re-sent after kills)"
    )
    print(
        f"lost: {lost}; paid twice: {paid_twice}; state entries twice: {twice_in_state}; "
        f"wrongly 'duplicate': {wrong_duplicates}"
    )
    print(
        f"accumulators: {len(acc_batch)} person-years, {wrong_acc} differ from batch; "
        f"records differing from yibao settle (status and every amount): {differ}"
    )
    ok = lost == paid_twice == twice_in_state == wrong_duplicates == wrong_acc == differ == 0
    if args.score:
        print(
            f"fraud-feature memory of the last worker: {feature_claims} claims "
            f"for {n_settled} settled claims (each must be learned exactly once)"
        )
        ok = ok and feature_claims == n_settled
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
