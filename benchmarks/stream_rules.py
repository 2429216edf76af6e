"""Benchmark: what the audit rules add to the stream worker's settle time, end to end.

Starts the embedded broker and loads ``--claims`` claims of benchmarks/settle.py's
generator into the claim topics, then drains that backlog with one ``yibao
stream`` process at a time (each a fresh consumer group), alternating:

- ``settle only``: ``yibao stream --no-score``, the stream's settle time;
- ``rules on``: scoring on, no model registered, and benchmarks/rules.py's
  catalogue of ``--rows`` knowledge rows (default 10,000, keyed by the codes the
  claims bill) in ``RULES_DIR``. What the worker adds to settling is then the
  rule catalogue: the checks and per-person windows, the flags of certain hits,
  the windows' snapshots and the registry look-ups of a scoring worker (so the
  figure errs on the high side).

For each drain it prints the rate and the worker's CPU per 1,000 claims (from
/proc; less noisy than wall time on a shared machine), both over the backlog
after its first ``--warm`` share, so that start-up (imports, the group join,
the first registry look-up: the MLflow store is created beforehand, as a running
deployment has it) is not charged per claim. Then the medians and the issue's
reading: the stream with rules on adds at most 15% to settle time.

    python benchmarks/stream_rules.py [--claims 100000] [--rows 10000] [--rounds 3]
        [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.rules import write_catalogue
from benchmarks.settle import write_claims
from benchmarks.stream import (
    PARTITIONS,
    CpuSample,
    produce,
    start_set,
    statuses,
    stop_set,
    wait_processed,
    worker_ports,
    yibao,
)
from streams.broker import create_topics, start_broker
from streams.routing import claim_key_and_topic
from streams.topics import topic_layout
from testkit.workers import metric_samples


def load_messages(path: Path) -> list[tuple[str, bytes | None, bytes]]:
    """(topic, key, value) of each claim line, routed as a producer would."""
    out = []
    for line in path.read_bytes().splitlines():
        try:
            claim = json.loads(line)
            key, topic = claim_key_and_topic(claim)
        except (ValueError, TypeError, KeyError, AttributeError):
            continue  # the generator's few broken lines: no route to read from them
        out.append((topic, key, line))
    return out


def metrics_page(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
        return page.read().decode()


def stage_cpu(metrics: str) -> dict[str, float]:
    """The worker's ``yibao_stage_cpu_seconds`` by stage."""
    return metric_samples(metrics, "yibao_stage_cpu_seconds_total", "stage")


def batches(metrics: str) -> float:
    return metric_samples(metrics, "yibao_batch_size_count").get("", 0.0)


def measured_drain(
    app_id: str, total: int, warm: int, env: dict[str, str], opts: argparse.Namespace,
    tmp: Path, broker_pid: int,
) -> tuple[float, float, dict[str, float]]:  # fmt: skip
    """One worker of a fresh group drains the backlog: claims/s, worker CPU seconds per
    1,000 claims and the worker's own CPU seconds per 1,000 claims by stage, all
    between the ``warm``-th processed claim and the last."""
    (port,) = worker_ports(1)
    log = tmp / f"worker-{app_id}.log"
    worker = start_set(1, app_id, env, opts, log, port)
    try:
        found = wait_processed([port], warm, 600, worker, log)
        first = CpuSample.take([found[0]["pid"]], broker_pid)
        page_first = metrics_page(port)
        done_first = found[0]["processed"]
        found = wait_processed([port], total, 600, worker, log)
        last = CpuSample.take([found[0]["pid"]], broker_pid)
        page = metrics_page(port)
        done = sum(st["processed"] for st in statuses([port])) - done_first
    finally:
        stop_set(worker, opts.profile is not None)
    rate = done / max(1e-3, last.at - first.at)
    cpu = (last.workers - first.workers) / max(1, done) * 1000
    before = stage_cpu(page_first)
    stages = {k: v - before.get(k, 0.0) for k, v in stage_cpu(page).items()}
    n_batches = batches(page) - batches(page_first)
    per_k = {k: v / max(1, done) * 1000 for k, v in stages.items() if v > 0}
    print(f"{app_id}: {rate:,.0f} claims/s, worker CPU {cpu:.4f} s per 1,000 claims"
          f" over {done} claims in {n_batches:.0f} batches; by stage "
          + ", ".join(f"{k} {v:.4f}" for k, v in per_k.items()))  # fmt: skip
    return rate, cpu, per_k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3, help="alternating pairs of drains")
    ap.add_argument("--warm", type=float, default=0.2, help="share of the backlog not timed")
    ap.add_argument("--profile", help="a py-spy raw profile of the first rules-on worker")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="yibao-bench-rules-"))
    rules_dir = tmp / "rules"
    rules_dir.mkdir()
    write_catalogue(rules_dir, args.rows)
    write_claims(tmp / "claims.jsonl", args.claims)
    msgs = load_messages(tmp / "claims.jsonl")

    broker = start_broker()
    try:
        bs = broker.bootstrap
        create_topics(bs, topic_layout(PARTITIONS))
        asyncio.run(produce(bs, msgs))
        print(f"loaded {len(msgs)} claims; catalogue of {args.rows} knowledge rows")
        base = {**os.environ, "DATA_DIR": str(tmp / "data"), "KAFKA_BOOTSTRAP": bs}
        base["MODEL_NAME"] = "bench-no-model"  # nothing registered: rules alone
        yibao("models", "list", env=base)  # creates the MLflow store, as deployed
        modes = {
            "settle only": (base, True),
            "rules on": ({**base, "RULES_DIR": str(rules_dir)}, False),
        }
        cpu: dict[str, list[float]] = {name: [] for name in modes}
        rate: dict[str, list[float]] = {name: [] for name in modes}
        stage_runs: dict[str, list[dict[str, float]]] = {name: [] for name in modes}
        warm = int(len(msgs) * args.warm)
        for rnd in range(args.rounds):
            for name, (env, no_score) in modes.items():
                profile = args.profile if rnd == 0 and not no_score else None
                opts = argparse.Namespace(no_score=no_score, max_batch=None, profile=profile)
                app_id = f"bench-{'settle' if no_score else 'rules'}-r{rnd}"
                r, c, by_stage = measured_drain(
                    app_id, len(msgs), warm, env, opts, tmp, broker.process.pid
                )
                cpu[name].append(c)
                stage_runs[name].append(by_stage)
                rate[name].append(r)
        print(f"medians of {args.rounds} drains each:")
        for name in modes:
            print(
                f"  {name:12s} {statistics.median(rate[name]):9,.0f} claims/s,"
                f" worker CPU {statistics.median(cpu[name]):.3f} s per 1,000 claims"
            )
        pairs = [r / s - 1 for r, s in zip(cpu["rules on"], cpu["settle only"], strict=True)]
        added = statistics.median(cpu["rules on"]) / statistics.median(cpu["settle only"]) - 1
        slower = statistics.median(rate["settle only"]) / statistics.median(rate["rules on"]) - 1
        own = [run["rules"] / s["settle"] for run, s in
               zip(stage_runs["rules on"], stage_runs["settle only"], strict=True)]  # fmt: skip
        print("the rules stage's own CPU against the settle stage's (worker's clocks): "
              + ", ".join(f"{p:.1%}" for p in own))  # fmt: skip
        print("per pair, CPU added: " + ", ".join(f"{p:+.1%}" for p in pairs))
        verdict = "within" if added <= 0.15 else "OVER"
        print(f"rules on add {added:+.1%} worker CPU per claim ({verdict} the 15% bound);"
              f" drain rate {slower:+.1%} slower")  # fmt: skip
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
