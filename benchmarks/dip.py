"""Benchmark: wall time of ``yibao dip cases`` against ``yibao settle`` on the same claims.

Simulates N claims (``yibao simulate --claims N``), settles them, then runs
``yibao dip cases`` on the claims and their settlement records (bundled DIP
policies). Each command is a fresh process, run alternately ``--repeat`` times
so both see the same machine load; the medians' ratio is printed, with CPU
seconds beside wall time (steadier on a shared machine). Issue 14's acceptance:
the ratio is at most 0.20 (dip cases adds at most 20% to settle's time).

    .venv/bin/python benchmarks/dip.py [--claims 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

YIBAO = [sys.executable, "-m", "yibao.cli"]


def timed(args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="yibao-dip-bench-") as folder:
        claims = Path(folder) / "claims.jsonl"
        settlements = Path(folder) / "settlements.jsonl"
        subprocess.run(
            [*YIBAO, "simulate", "--claims", str(options.claims), "-o", str(claims)],
            check=True,
            stderr=subprocess.DEVNULL,
        )
        settle = [*YIBAO, "settle", str(claims), "-o", str(settlements)]
        cases = [*YIBAO, "dip", "cases", str(claims), str(settlements), "-o", "/dev/null"]
        subprocess.run(settle, check=True, stderr=subprocess.DEVNULL)
        runs: dict[str, list[tuple[float, float]]] = {"settle": [], "dip_cases": []}
        for _ in range(options.repeat):
            runs["settle"].append(timed([*settle[:-1], "/dev/null"]))
            runs["dip_cases"].append(timed(cases))
    wall = {name: statistics.median(w for w, _ in values) for name, values in runs.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in runs.items()}
    print(
        json.dumps(
            {
                "claims": options.claims,
                "settle_wall_s": round(wall["settle"], 3),
                "dip_cases_wall_s": round(wall["dip_cases"], 3),
                "ratio_wall": round(wall["dip_cases"] / wall["settle"], 3),
                "settle_cpu_s": round(cpu["settle"], 3),
                "dip_cases_cpu_s": round(cpu["dip_cases"], 3),
                "ratio_cpu": round(cpu["dip_cases"] / cpu["settle"], 3),
                "acceptance": "ratio_wall <= 0.20",
            }
        )
    )


if __name__ == "__main__":
    main()
