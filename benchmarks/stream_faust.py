"""Benchmark: what a plain Faust agent achieves here, the reason the worker's hot path is aiokafka.

Loads N claims into a 4-partition topic on the embedded broker, then runs a
Faust worker (subprocess) whose agent reads them with ``stream.take(1000)``
and either only counts them (``consume``) or settles each with the core and
sends the record with ``topic.send_soon`` (``settle``). Prints messages/s and
how long the first group join took.

    python benchmarks/stream_faust.py [--claims 50000] [--mode consume|settle]
        [--session-timeout 6]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def worker_main() -> None:
    """The Faust worker (run in a subprocess with the settings in the environment)."""
    import faust

    from settlement.engine import Settler
    from settlement.jsonio import encode_record
    from settlement.policy_loader import load_policy_dir

    n = int(os.environ["BENCH_N"])
    mode = os.environ["BENCH_MODE"]
    app = faust.App(
        "faust-bench-" + mode,
        broker=f"kafka://{os.environ['BENCH_BOOTSTRAP']}",
        store="memory://",
        web_enabled=False,
        topic_partitions=4,
        broker_session_timeout=float(os.environ["BENCH_SESSION"]),
        broker_heartbeat_interval=1.0,
    )
    src = app.topic("faust.in", value_serializer="raw", key_serializer="raw")
    out = app.topic("faust.out", value_serializer="raw", key_serializer="raw")
    settler = Settler(load_policy_dir(None))
    t0 = time.perf_counter()
    state = {"got": 0, "first": 0.0}

    @app.agent(src)
    async def agent(stream):  # type: ignore[no-untyped-def]
        async for batch in stream.take(1000, within=0.2):
            if not state["first"]:
                state["first"] = time.perf_counter()
            if mode == "settle":
                for value in batch:
                    record = settler.settle_json(value, "x")
                    out.send_soon(
                        key=record["claim_id"].encode(), value=encode_record(record).encode()
                    )
            state["got"] += len(batch)
            if state["got"] >= n:
                rate = n / (time.perf_counter() - state["first"])
                sys.stderr.write(f"RESULT {rate:.0f} {state['first'] - t0:.1f}\n")
                sys.stderr.flush()
                os._exit(0)

    app.main()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=50_000)
    ap.add_argument("--mode", choices=("consume", "settle"), default="consume")
    ap.add_argument("--session-timeout", type=float, default=6.0)
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from stream import encode_claims, produce  # benchmarks/stream.py

    from streams.broker import create_topics, start_broker
    from testkit.sample_claims import make_claims

    broker = start_broker()
    try:
        create_topics(broker.bootstrap, [("faust.in", 4), ("faust.out", 4)])
        msgs = [("faust.in", k, v) for _t, k, v in encode_claims(make_claims(args.claims))]
        asyncio.run(produce(broker.bootstrap, msgs))
        env = {
            **os.environ,
            "BENCH_N": str(args.claims),
            "BENCH_MODE": args.mode,
            "BENCH_BOOTSTRAP": broker.bootstrap,
            "BENCH_SESSION": str(args.session_timeout),
        }
        cmd = [sys.executable, __file__, "worker", "-l", "warn"]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        # Faust redirects stderr into its log, so the line comes with a log prefix.
        out = proc.stdout + proc.stderr
        line = next((x[x.index("RESULT") :] for x in out.splitlines() if "RESULT" in x), None)
        if line is None:
            print(out[-3000:])
            raise SystemExit("the Faust worker gave no result")
        _, rate, first = line.split()
        print(
            f"Faust agent, take(1000), {args.mode}: {float(rate):,.0f} msg/s; first batch "
            f"{first} s after start (session timeout {args.session_timeout:g} s)"
        )
    finally:
        broker.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker_main()
    else:
        main()
