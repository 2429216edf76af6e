"""Benchmark: the stream worker against a bare aiokafka consume+produce loop (same broker, run).

Starts the embedded broker, loads N claims into the claim topics (4
partitions), then measures (1) a bare aiokafka loop passing the same messages
through, (2) ``yibao stream`` settling (and scoring, when a champion model is
registered in MLFLOW_TRACKING_URI) the backlog, with one worker process and then
with ``--processes 2`` (each set a fresh consumer group reading the same backlog;
``--rounds`` alternates them), with the CPU each process used, (3) produce ->
settlement latency with claims sent at half the one-process rate.

    python benchmarks/stream.py [--claims 100000] [--latency-seconds 20] [--no-score]
        [--source simulator|sample] [--max-batch N] [--model-rounds N] [--profile FILE]
        [--processes 1,2] [--rounds 1]

With scoring on (the default) a LightGBM model is first trained on 5,000
simulated claims into a temporary MLflow store and made champion, and compiled
once into the store's cache before any worker starts (as a restarted worker
finds it); a worker that has to compile it does so on a thread while it scores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streams.broker import create_topics, start_broker  # noqa: E402
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
    bootstrap: str,
    want: int,
    timeout: float,
    topic: str = SETTLEMENTS,
    start: dict[int, int] | None = None,
) -> list[tuple[str, int]]:
    """(claim_id, record timestamp ms) of the first ``want`` records of ``topic``.

    With ``start`` (partition -> offset), read from there and leave in it the
    offsets after the last record read (so the next call reads only newer records).
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=8 << 20
    )
    await c.start()
    tps = [TopicPartition(topic, i) for i in range(PARTITIONS)]
    c.assign(tps)
    await c.seek_to_beginning(*tps)
    for tp in tps:
        if start and start.get(tp.partition):
            c.seek(tp, start[tp.partition])
    out: list[tuple[str, int]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < want and time.monotonic() < deadline:
            batch = await c.getmany(timeout_ms=500, max_records=20_000)
            for tp, recs in batch.items():
                if topic == SETTLEMENTS:
                    out.extend((r.key.decode(), r.timestamp) for r in recs)
                else:  # bare.out holds the claims themselves
                    out.extend((json.loads(r.value)["claim_id"], r.timestamp) for r in recs)
                if start is not None and recs:
                    start[tp.partition] = recs[-1].offset + 1
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


def with_champion(env: dict[str, str], expression: str) -> str:
    """The last line ``expression`` prints, evaluated in a fresh interpreter with the
    champion as ``m`` and the settings as ``s`` (the store is the workers' one)."""
    code = (
        "import mlflow; from yibao.settings import get_settings; s = get_settings();"
        "mlflow.set_tracking_uri(s.tracking_uri());"
        "from models.registry import load_model, default_uri;"
        f"m = load_model(default_uri(s.model_name)); print({expression})"
    )
    out = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return out.stdout.strip().splitlines()[-1]


def trees(env: dict[str, str]) -> int:
    """Trees in the champion just trained (scoring cost grows with them)."""
    return int(with_champion(env, "m.booster.num_trees()"))


def statuses(ports: list[int]) -> list[dict]:
    """The /ready answer of each worker that answers (503 bodies included)."""
    out = []
    for port in ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as r:
                out.append(json.load(r))
        except urllib.error.HTTPError as exc:  # not ready (yet): the body still says why
            with contextlib.suppress(ValueError):
                out.append(json.loads(exc.read()))
        except OSError:
            pass
    return out


def wait_processed(
    ports: list[int],
    n: int,
    timeout: float,
    worker: subprocess.Popen | None = None,
    log: Path | None = None,
    on_first: Callable[[list[dict]], None] | None = None,
) -> list[dict]:
    """Wait until the workers on ``ports`` have processed ``n`` claims together.

    A worker that exits meanwhile (refused to start: a broken policy or DIP
    file, a busy port) ends the wait at once with its log's last lines,
    instead of polling a dead port until the timeout. ``on_first`` is called
    once, with the statuses, when the first claim has been processed.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker is not None and worker.poll() is not None:
            tail = log.read_text("utf-8", "replace").splitlines()[-15:] if log else []
            raise RuntimeError(
                f"the worker exited with code {worker.returncode} before processing {n} claims"
                + "".join(f"\n  {line}" for line in tail)
            )
        found = statuses(ports)
        done = sum(st.get("processed", 0) for st in found)
        if done and on_first is not None and len(found) == len(ports):
            on_first(found)
            on_first = None
        if done >= n:
            return found
        time.sleep(0.2)
    raise TimeoutError(f"workers did not process {n} claims in {timeout:.0f} s")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux /proc), 0 if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has been busy so far (Linux /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuSample:
    """CPU seconds used so far by the workers, the broker and the whole machine."""

    workers: float
    broker: float
    machine: float
    at: float

    @classmethod
    def take(cls, worker_pids: list[int], broker_pid: int) -> CpuSample:
        return cls(
            sum(cpu_seconds(p) for p in worker_pids),
            cpu_seconds(broker_pid),
            machine_busy_seconds(),
            time.monotonic(),
        )


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def warm_compiled_model(env: dict[str, str]) -> None:
    """Compile the champion into the store's cache, as a restarted worker would find it."""
    compiled = with_champion(
        env, "s.compiled_models_dir() is not None and m.compile(s.compiled_models_dir())"
    )
    print(f"compiled the model before the workers start: {compiled}")


@dataclass
class SetRun:
    """One drain of the backlog by a set of worker processes."""

    processes: int
    rate: float
    cpu: dict[str, float]  # what used the CPU during the drain, core-seconds per 1,000 claims
    machine_cores: float  # cores busy on the whole machine during the drain (of os.cpu_count())
    partitions: list[list[int]]


def start_set(
    n: int, app_id: str, env: dict[str, str], args: argparse.Namespace, log: Path, port: int
) -> subprocess.Popen:
    """``yibao stream`` with ``n`` processes (web ports ``port`` ..), output to ``log``."""
    cmd = [str(ROOT / ".venv/bin/yibao"), "stream", "--app-id", app_id, "--web-port", str(port)]
    cmd += ["--processes", str(n)]
    if args.no_score:
        cmd.append("--no-score")
    if args.max_batch:
        cmd += ["--max-batch", str(args.max_batch)]
    if args.profile and n == 1:
        spy = str(ROOT / ".venv/bin/py-spy")
        spy_args = ["record", "-r", "200", "--nonblocking", "--threads", "-f", "raw"]
        cmd = [spy, *spy_args, "-o", args.profile, "--", *cmd]
    sink = open(log, "ab")  # noqa: SIM115 (the worker writes to it until it stops)
    return subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)


def stop_set(worker: subprocess.Popen, profiled: bool) -> None:
    worker.send_signal(2 if profiled else 15)  # py-spy writes its file on SIGINT
    try:
        worker.wait(60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def drain(
    n: int,
    app_id: str,
    want: int,
    env: dict[str, str],
    args: argparse.Namespace,
    tmp: Path,
    broker_pid: int,
    positions: dict[int, int],
) -> tuple[SetRun, subprocess.Popen, list[int]]:
    """Start ``n`` processes of a fresh group, wait until they answered the ``want`` claims
    in the topics; rate from the answers' timestamps, CPU from /proc. The set keeps running."""
    ports = worker_ports(n)
    port = ports[0]
    log = tmp / f"worker-{app_id}.log"
    t_start = time.monotonic()
    worker = start_set(n, app_id, env, args, log, port)
    first: list[tuple[CpuSample, int]] = []

    def at_first(found: list[dict]) -> None:
        sample = CpuSample.take([st["pid"] for st in found], broker_pid)
        first.append((sample, sum(st["processed"] for st in found)))

    found = wait_processed(ports, want, 900, worker, log, on_first=at_first)
    pids = [st["pid"] for st in found]
    last = CpuSample.take(pids, broker_pid)
    took = time.monotonic() - t_start
    recs = asyncio.run(read_settlements(env["KAFKA_BOOTSTRAP"], want, 180, start=positions))
    stamps = sorted(ts for _, ts in recs)
    rate = len(recs) / max(0.001, (stamps[-1] - stamps[0]) / 1000.0)
    begin, done_before = first[0] if first else (last, 0)
    k = max(1, want - done_before) / 1000.0  # claims answered between the two samples
    cpu = {
        "workers": (last.workers - begin.workers) / k,
        "broker": (last.broker - begin.broker) / k,
        "rest of the machine": (
            (last.machine - begin.machine)
            - (last.workers - begin.workers)
            - (last.broker - begin.broker)
        )
        / k,
    }
    cores = (last.machine - begin.machine) / max(0.001, last.at - begin.at)
    parts = [st.get("partitions", []) for st in found]
    print(
        f"{n} process(es) ({app_id}): started and drained {want} claims {took:.1f} s after "
        f"launch; {rate:,.0f} claims/s over {len(recs)} settlement records; partitions {parts}"
    )
    print(
        "  CPU during the drain, core-seconds per 1,000 claims: "
        + ", ".join(f"{name} {v:.2f}" for name, v in cpu.items())
        + f"; machine busy {cores:.2f} of {os.cpu_count()} cores"
    )
    return SetRun(n, rate, cpu, cores, parts), worker, ports


def worker_ports(n: int) -> list[int]:
    """``n`` consecutive free ports for the workers' web pages."""
    # Below the ephemeral range: a port taken from it (free_port) can be given to a
    # client connection before the worker binds it (seen once: exit 2, port in use).
    port = random.randrange(20_000, 32_000 - n)
    while any(not port_free(p) for p in range(port, port + n)):
        port = random.randrange(20_000, 32_000 - n)
    return list(range(port, port + n))


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


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
    ap.add_argument(
        "--processes",
        default="1,2",
        help="worker process counts to drain the backlog with, in order (comma-separated)",
    )
    ap.add_argument("--rounds", type=int, default=1, help="repeat the process counts this often")
    args = ap.parse_args()
    counts = [int(x) for x in args.processes.split(",")]

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
            warm_compiled_model(env)

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

        env = {**os.environ, **env, "KAFKA_BOOTSTRAP": bs}
        mode = "settle only" if args.no_score else "settle+score"
        positions: dict[int, int] = {}  # where the settlements of the next set begin
        in_topics = len(msgs)
        runs: list[SetRun] = []
        one_rate = None
        for rnd in range(args.rounds):
            for n in counts:
                run, worker, ports = drain(
                    n, f"bench-p{n}-r{rnd}", in_topics, env, args, tmp, broker.process.pid,
                    positions,
                )  # fmt: skip
                runs.append(run)
                print(f"  {mode}, {n} process(es): ratio to bare loop {run.rate / bare:.2f}; "
                      f"to the core alone {run.rate / core:.2f}")  # fmt: skip
                if one_rate is None and n == 1:
                    one_rate = run.rate
                    n_lat = latency(args, bs, run.rate, in_topics, worker, ports, tmp, claims,
                                    positions)  # fmt: skip
                    in_topics += n_lat
                stop_set(worker, bool(args.profile) and n == 1)
                worker = None
        for rnd in range(args.rounds):
            block = runs[rnd * len(counts) : (rnd + 1) * len(counts)]
            base = next((r.rate for r in block if r.processes == 1), None)
            if base:
                print(f"round {rnd + 1}: " + ", ".join(
                    f"{r.processes} process(es) {r.rate:,.0f}/s = {r.rate / base:.2f}x one"
                    for r in block))  # fmt: skip
        if one_rate is not None:
            bare_latency_run(args, bs, one_rate, claims)
    finally:
        if worker is not None:
            stop_set(worker, bool(args.profile))
        broker.stop()


def latency(
    args: argparse.Namespace,
    bs: str,
    rate: float,
    in_topics: int,
    worker: subprocess.Popen,
    ports: list[int],
    tmp: Path,
    claims: Callable[[int, int, str], list[dict]],
    positions: dict[int, int],
) -> int:
    """Produce -> settlement latency at ``args.latency_fraction`` of ``rate``; claims sent."""
    half = rate * args.latency_fraction
    n_lat = int(half * args.latency_seconds)
    lat_msgs = encode_claims(claims(n_lat, 2, "L"))
    sent = asyncio.run(produce(bs, lat_msgs, rate=half))
    wait_processed(ports, in_topics + n_lat, 120, worker)
    recs = asyncio.run(read_settlements(bs, n_lat, 120, start=positions))
    lat = [ts - sent[cid] for cid, ts in recs if cid in sent]
    print(
        f"  latency at {half:,.0f} claims/s ({len(lat)} claims), one process: "
        f"p50 {pct(lat, 0.50):.0f} ms, p99 {pct(lat, 0.99):.0f} ms, max {max(lat):.0f} ms"
    )
    return n_lat


def bare_latency_run(
    args: argparse.Namespace, bs: str, rate: float, claims: Callable[[int, int, str], list[dict]]
) -> None:
    """The same paced load through the bare loop (no worker running), for comparison."""
    half = rate * args.latency_fraction
    n_lat = int(half * args.latency_seconds)
    bare_msgs = encode_claims(claims(n_lat, 3, "M"))

    async def run() -> dict[str, float]:
        ready = asyncio.Event()
        loop_task = asyncio.ensure_future(bare_loop(bs, n_lat, "bench-bare-lat", ready))
        await ready.wait()
        sent = await produce(bs, bare_msgs, rate=half)
        await loop_task
        return sent

    sent = asyncio.run(run())
    recs = asyncio.run(read_settlements(bs, args.claims + n_lat, 120, topic="bare.out"))
    lat = [ts - sent[cid] for cid, ts in recs if cid in sent]
    print(
        f"bare loop latency at the same rate ({len(lat)} messages): "
        f"p50 {pct(lat, 0.50):.0f} ms, p99 {pct(lat, 0.99):.0f} ms, max {max(lat):.0f} ms"
    )


if __name__ == "__main__":
    main()
