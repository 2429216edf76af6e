"""Benchmark of the claims simulator: claims per second and peak memory.

Each run is a fresh process writing to /dev/null, so its peak resident memory
is its own. CPU seconds (all processes) are printed too: on a shared machine
they vary less than wall time. Usage: ``.venv/bin/python benchmarks/simulate.py [--claims 200000]
[--workers 1,2]``. Prints numbers only; nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

_CHILD = """
import json, os, resource, sys, time
from simulator.config import SimConfig
from simulator.generate import write
claims, workers = int(sys.argv[1]), int(sys.argv[2])
t0 = time.perf_counter()
with open(os.devnull, "w") as out:
    n = write(SimConfig(seed=1, claims=claims), out, workers=workers)
elapsed = time.perf_counter() - t0
me = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
print(json.dumps({"claims": n, "seconds": elapsed, "cpu_seconds": cpu,
                  "peak_kib": me.ru_maxrss, "worker_peak_kib": kids.ru_maxrss}))
"""


def run(claims: int, workers: int) -> dict[str, float]:
    """Simulate ``claims`` claims in a fresh process; return its timings and peak memory."""
    wall = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(claims), str(workers)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "random"},
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = time.perf_counter() - wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=200_000)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}  load average: {os.getloadavg()[0]:.2f}")
    small = max(1, args.claims // 4)
    for workers in (int(w) for w in args.workers.split(",")):
        for n in (small, args.claims):
            r = run(n, workers)
            rate = r["claims"] / r["seconds"]
            cpu_rate = r["claims"] / r["cpu_seconds"]
            print(
                f"workers={workers} claims={r['claims']:>9,} "
                f"time={r['seconds']:6.1f}s  {rate:>9,.0f} claims/s  "
                f"cpu={r['cpu_seconds']:6.1f}s ({cpu_rate:,.0f} claims per CPU-second)  "
                f"peak={r['peak_kib'] / 1024:6.0f} MiB (main)  "
                f"{r['worker_peak_kib'] / 1024:6.0f} MiB (largest worker)  "
                f"1M-claim estimate: {1_000_000 / rate:5.1f}s"
            )


if __name__ == "__main__":
    main()
