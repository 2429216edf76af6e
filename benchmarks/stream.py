"""Benchmark: the stream worker against a bare aiokafka consume+produce loop (same broker, run).

Starts the embedded broker, loads N claims into the claim topics (4
partitions), then measures (1) a bare aiokafka loop passing the same messages
through, (2) one ``yibao stream`` worker settling (and scoring, when a champion
model is registered in MLFLOW_TRACKING_URI) the backlog, (3) produce ->
settlement latency with claims sent at half the worker's measured rate.

    python benchmarks/stream.py [--claims 100000] [--latency-seconds 20] [--no-score]
        [--source simulator|sample] [--max-batch N] [--model-rounds N] [--profile FILE]

With scoring on (the default) a LightGBM model is first trained on 5,000
simulated claims into a temporary MLflow store and made champion.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streams.broker import create_topics, free_port, start_broker  # noqa: E402
from streams.routing import claim_key_and_topic  # noqa: E402
from streams.topics import CLAIM_TOPICS, SETTLEMENTS, topic_layout  # noqa: E402
from testkit.sample_claims import make_claims  # noqa: E402

PARTITIONS = 4


def encode_claims(claims: list[dict]) -> list[tuple[str, bytes | None, bytes]]:
    out = []
    for c in claims:
        key, topic = claim_key_and_topic(c)
        out.append((topic, key, json.dumps(c, ensure_ascii=False).encode()))
    return out


def yibao(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(
        [str(ROOT / ".venv/bin/yibao"), *args],
        check=True,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def simulated(n: int, seed: int, tmp: Path, prefix: str = "") -> list[dict]:
    """Claims from the project's simulator (``yibao simulate``)."""
    path = tmp / f"sim-{seed}-{n}.jsonl"
    yibao("simulate", "--seed", str(seed), "--claims", str(n), "-o", str(path))
    claims = [json.loads(line) for line in path.open("rb")]
    for c in claims:
        c["claim_id"] = prefix + c["claim_id"]
    return claims


async def produce(bootstrap: str, msgs: list, rate: float | None = None) -> dict[str, float]:
    """Send (topic, key, value) messages; return claim_id -> send time (ms) when paced."""
    from aiokafka import AIOKafkaProducer

    p = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2, max_batch_size=256 * 1024)
    await p.start()
    sent: dict[str, float] = {}
    start = time.monotonic()
    try:
        for i, (topic, key, value) in enumerate(msgs):
            if rate:
                ahead = start + i / rate - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)
                now_ms = int(time.time() * 1000)
                sent[json.loads(value)["claim_id"]] = now_ms
                await p.send(topic, value, key=key, timestamp_ms=now_ms)
            else:
                await p.send(topic, value, key=key)
        await p.flush()
    finally:
        await p.stop()
    return sent


async def bare_loop(
    bootstrap: str, n: int, group: str = "bench-bare", ready: asyncio.Event | None = None
) -> float:
    """Consume the claim topics and produce every message to ``bare.out``; messages/s.

    With ``ready``: start at the end of the topics and set ``ready`` once
    positioned (for the latency run).
    """
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    c = AIOKafkaConsumer(
        *CLAIM_TOPICS,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="latest" if ready else "earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2, max_batch_size=512 * 1024)
    await p.start()
    await c.start()
    got, t0 = 0, None
    try:
        if ready is not None:
            while not c.assignment():
                await c.getmany(timeout_ms=100)
            for tp in c.assignment():
                await c.position(tp)
            ready.set()
        while got < n:
            batch = await c.getmany(timeout_ms=500, max_records=2000)
            if batch and t0 is None:
                t0 = time.perf_counter()
            futs = []
            for recs in batch.values():
                for r in recs:
                    futs.append(await p.send("bare.out", r.value, key=r.key))
                got += len(recs)
            if futs:
                await asyncio.gather(*futs)
                await c.commit()
        return n / (time.perf_counter() - (t0 or 0))
    finally:
        await c.stop()
        await p.stop()


async def read_settlements(
    bootstrap: str, want: int, timeout: float, topic: str = SETTLEMENTS
) -> list[tuple[str, int]]:
    """(claim_id, record timestamp ms) of the first ``want`` records of ``topic``."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=8 << 20
    )
    await c.start()
    tps = [TopicPartition(topic, i) for i in range(PARTITIONS)]
    c.assign(tps)
    await c.seek_to_beginning(*tps)
    out: list[tuple[str, int]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < want and time.monotonic() < deadline:
            batch = await c.getmany(timeout_ms=500, max_records=20_000)
            for recs in batch.values():
                if topic == SETTLEMENTS:
                    out.extend((r.key.decode(), r.timestamp) for r in recs)
                else:  # bare.out holds the claims themselves
                    out.extend((json.loads(r.value)["claim_id"], r.timestamp) for r in recs)
    finally:
        await c.stop()
    return out


def core_rate(values: list[bytes]) -> float:
    """Claims/s of the pure settlement core on the same messages, in this process."""
    from settlement.engine import Settler
    from settlement.jsonio import encode_record_bytes
    from settlement.policy_loader import load_policy_dir

    settler = Settler(load_policy_dir(None))
    t = time.perf_counter()
    for i, v in enumerate(values):
        encode_record_bytes(settler.settle_json(v, f"bench:{i}"))
    return len(values) / (time.perf_counter() - t)


def trees(env: dict[str, str]) -> int:
    """Trees in the champion just trained (scoring cost grows with them)."""
    code = (
        "import mlflow; from yibao.settings import get_settings;"
        "mlflow.set_tracking_uri(get_settings().tracking_uri());"
        "from models.registry import load_model, default_uri;"
        "print(load_model(default_uri(get_settings().model_name)).booster.num_trees())"
    )
    out = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return int(out.stdout.strip().splitlines()[-1])


def wait_processed(
    port: int,
    n: int,
    timeout: float,
    worker: subprocess.Popen | None = None,
    log: Path | None = None,
) -> None:
    """Wait until the worker on ``port`` has processed ``n`` claims.

    A worker that exits meanwhile (refused to start: a broken policy or DIP
    file, a busy port) ends the wait at once with its log's last lines,
    instead of polling a dead port until the timeout.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker is not None and worker.poll() is not None:
            tail = log.read_text("utf-8", "replace").splitlines()[-15:] if log else []
            raise RuntimeError(
                f"the worker exited with code {worker.returncode} before processing {n} claims"
                + "".join(f"\n  {line}" for line in tail)
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as r:
                if json.load(r)["processed"] >= n:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"worker did not process {n} claims in {timeout:.0f} s")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument("--latency-seconds", type=float, default=20.0)
    ap.add_argument("--no-score", action="store_true", help="settle only")
    ap.add_argument("--max-batch", type=int, default=None)
    ap.add_argument(
        "--model-rounds",
        type=int,
        default=None,
        help="train the champion with at most this many boosting rounds (default: yibao's)",
    )
    ap.add_argument("--profile", help="write a py-spy raw profile of the worker to this file")
    ap.add_argument("--source", choices=("simulator", "sample"), default="simulator")
    ap.add_argument(
        "--latency-fraction", type=float, default=0.5, help="latency load, share of the rate"
    )
    args = ap.parse_args()

    broker = start_broker()
    bs = broker.bootstrap
    tmp = Path(tempfile.mkdtemp(prefix="yibao-bench-"))
    worker = None
    try:
        create_topics(bs, [*topic_layout(PARTITIONS), ("bare.out", PARTITIONS)])
        env = {"DATA_DIR": str(tmp), "MODEL_NAME": "bench-fraud"}
        if not args.no_score:
            t = time.perf_counter()
            simulated(5000, 99, tmp)
            rounds = ["--max-rounds", str(args.model_rounds)] if args.model_rounds else []
            yibao("train", "--data", str(tmp / "sim-99-5000.jsonl"), *rounds, env=env)
            took = time.perf_counter() - t
            print(f"trained a champion model in {took:.0f} s ({trees(env)} trees)")

        def claims(n: int, seed: int, prefix: str) -> list[dict]:
            if args.source == "simulator":
                return simulated(n, seed, tmp, prefix)
            return make_claims(n, seed=seed, prefix=prefix)

        msgs = encode_claims(claims(args.claims, 1, ""))
        size = sum(len(v) for _, _, v in msgs) / len(msgs)
        t = time.perf_counter()
        asyncio.run(produce(bs, msgs))
        print(
            f"loaded {len(msgs)} claims ({size:.0f} bytes avg) at "
            f"{len(msgs) / (time.perf_counter() - t):,.0f}/s"
        )

        bare = asyncio.run(bare_loop(bs, len(msgs)))
        print(f"bare aiokafka consume+produce: {bare:,.0f} msg/s")
        core = core_rate([v for _, _, v in msgs])
        print(f"settlement core alone (decode, settle, encode; no Kafka): {core:,.0f} claims/s")

        port = free_port()
        env = {**os.environ, **env, "KAFKA_BOOTSTRAP": bs, "STREAM_WEB_PORT": str(port)}
        cmd = [str(ROOT / ".venv/bin/yibao"), "stream", "--app-id", "bench"]
        if args.no_score:
            cmd.append("--no-score")
        if args.max_batch:
            cmd += ["--max-batch", str(args.max_batch)]
        if args.profile:
            spy = str(ROOT / ".venv/bin/py-spy")
            spy_args = ["record", "-r", "200", "--nonblocking", "--threads", "-f", "raw"]
            cmd = [spy, *spy_args, "-o", args.profile, "--", *cmd]
        log = open(tmp / "worker.log", "wb")  # noqa: SIM115
        t_start = time.monotonic()
        worker = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_processed(port, len(msgs), 600, worker, tmp / "worker.log")
        took = time.monotonic() - t_start
        print(f"worker started and drained the backlog {took:.1f} s after launch")
        recs = asyncio.run(read_settlements(bs, len(msgs), 120))
        stamps = sorted(ts for _, ts in recs)
        rate = len(recs) / max(0.001, (stamps[-1] - stamps[0]) / 1000.0)
        print(
            f"stream worker ({'settle only' if args.no_score else 'settle+score'}): "
            f"{rate:,.0f} claims/s over {len(recs)} settlement records"
        )
        print(f"ratio to bare loop: {rate / bare:.2f}; to the core alone: {rate / core:.2f}")

        half = rate * args.latency_fraction
        n_lat = int(half * args.latency_seconds)
        lat_msgs = encode_claims(claims(n_lat, 2, "L"))
        sent = asyncio.run(produce(bs, lat_msgs, rate=half))
        wait_processed(port, len(msgs) + n_lat, 120, worker, tmp / "worker.log")
        recs = asyncio.run(read_settlements(bs, len(msgs) + n_lat, 120))
        lat = [ts - sent[cid] for cid, ts in recs if cid in sent]
        print(
            f"latency at {half:,.0f} claims/s ({len(lat)} claims): "
            f"p50 {pct(lat, 0.50):.0f} ms, p99 {pct(lat, 0.99):.0f} ms, max {max(lat):.0f} ms"
        )
        # the same paced load through the bare loop (worker stopped), for comparison
        worker.send_signal(2 if args.profile else 15)
        worker.wait(30)
        worker = None
        bare_msgs = encode_claims(claims(n_lat, 3, "M"))

        async def bare_latency() -> dict[str, float]:
            ready = asyncio.Event()
            loop_task = asyncio.ensure_future(bare_loop(bs, n_lat, "bench-bare-lat", ready))
            await ready.wait()
            sent = await produce(bs, bare_msgs, rate=half)
            await loop_task
            return sent

        sent = asyncio.run(bare_latency())
        recs = asyncio.run(read_settlements(bs, len(msgs) + n_lat, 120, topic="bare.out"))
        lat = [ts - sent[cid] for cid, ts in recs if cid in sent]
        print(
            f"bare loop latency at the same rate ({len(lat)} messages): "
            f"p50 {pct(lat, 0.50):.0f} ms, p99 {pct(lat, 0.99):.0f} ms, max {max(lat):.0f} ms"
        )
    finally:
        if worker is not None:
            worker.send_signal(2 if args.profile else 15)  # py-spy writes its file on SIGINT
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        broker.stop()


if __name__ == "__main__":
    main()
