"""Benchmark: the rule catalogue's cost against settlement's, on the same claims, in one run.

Writes a catalogue of ``--rows`` knowledge rows (default 10,000, every table,
a share of them keyed by the codes the claims bill so that rules really run)
and ``--claims`` claims (benchmarks/settle.py's generator), then times on
alternating blocks, so all see the same machine load:

- ``settle``: ``yibao settle``'s loop (decode, validate, settle, encode);
- ``rules check``: ``yibao rules check``'s loop (decode, validate, evaluate, encode);
- ``rules on a parsed claim``: :meth:`RuleEngine.check` alone, what rules add
  where the claim is already validated (``yibao score``);
- ``rules in the stream``: the same plus each hit as the dict the stream
  publishes (``streams.audit_rules.StreamRules.check``'s work), each claim
  checked right after it is parsed, as the stream does: only the checks are
  timed (a clock read before and after each, counted with the rules). The
  pass above walks claims parsed long before, out of the processor's caches.

and prints each time, its ratio to settle, and the hits found. The issue's
bound: ``yibao rules check`` and the stream with rules on add at most 15% to
settle time, read here as ``rules check`` within 115% of settle's time and
``rules in the stream`` within 15% of it.

    python benchmarks/rules.py [--claims 100000] [--rows 10000] [--blocks 6]
"""

from __future__ import annotations

import argparse
import gc
import io
import itertools
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.settle import write_claims
from detection.rule_batch import check_lines
from detection.rule_engine import RuleEngine
from detection.rule_state import RuleState
from detection.rulebook_loader import BUNDLED_DIR, COMMON_COLUMNS, TABLE_COLUMNS, load_rule_dir
from settlement.batch import settle_file
from settlement.claim import Claim, parse_claim
from settlement.engine import Settler
from settlement.jsonio import decode_claim, encode_record_bytes
from settlement.policy_loader import load_policy_dir

#: The item codes benchmarks/settle.py bills (I0001 to I0999).
BILLED = [f"I{n:04d}" for n in range(1, 1000)]


def _row(rule: str, code: str, n: int, table: str, rng: random.Random) -> list[str]:
    common = [rule, code, f"item {n}", "", "2024-01-01", "", "benchmark"]
    own: dict[str, list[str]] = {
        "restriction": [rng.choice(("M", "F", "")), "", "", "", "", "", ""],
        "quantity": ["6", "30"],
        "course": ["30", "3"],
        "frequency": ["8"],
        "price_ceiling": ["2800.00", ""],
        "mutual_exclusion": [f"Z{n:09d}", "excluded"],
        "unbundling": [f"{code}P1;{code}P2;{code}P3", "100.00", "2"],
        "prerequisite": [f"Q{n:09d}", "required"],
    }
    if table == "restriction" and (n % 10 or not own[table][0]):  # most rows: any sex
        own[table] = ["", "0", "120", "", "inpatient;outpatient", "", ""]
    return common + own[table]


def write_catalogue(folder: Path, rows: int, seed: int = 11) -> None:
    """The bundled rules plus ``rows`` knowledge rows: the billed codes first, then others."""
    rng = random.Random(seed)
    shutil.copy(BUNDLED_DIR / "rules.csv", folder / "rules.csv")
    rule_of = {
        "restriction": "YB-XB-001",
        "quantity": "YB-SL-001",
        "course": "YB-LC-001",
        "frequency": ("YB-PC-001", "YB-PC-002", "YB-PC-003"),
        "price_ceiling": "YB-BZ-001",
        "mutual_exclusion": "YB-CF-001",
        "unbundling": "YB-FJ-001",
        "prerequisite": "YB-QZ-001",
    }
    tables = list(TABLE_COLUMNS)
    # Billed codes never get a prerequisite row: its required code is never
    # billed, so it would fire on every such line, far above a real hit rate.
    billed_tables = [t for t in tables if t != "prerequisite"]
    out: dict[str, list[list[str]]] = {t: [] for t in tables}
    codes = itertools.chain(BILLED, (f"K{n:09d}" for n in itertools.count()))
    for n, code in zip(range(rows), codes, strict=False):
        choices = billed_tables if n < len(BILLED) else tables
        table = choices[n % len(choices)]
        rule = rule_of[table]
        if isinstance(rule, tuple):
            rule = rule[n % len(rule)]
        out[table].append(_row(rule, code, n, table, rng))
    for table, lines in out.items():
        header = ",".join(COMMON_COLUMNS + TABLE_COLUMNS[table])
        text = "\n".join([header, *(",".join(line) for line in lines)]) + "\n"
        (folder / f"{table}.csv").write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--blocks", type=int, default=6, help="alternating timed blocks each")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "rules"
        folder.mkdir()
        write_catalogue(folder, args.rows)
        started = time.perf_counter()
        book = load_rule_dir(folder)
        load_s = time.perf_counter() - started
        engine = RuleEngine(book)
        claims_path = Path(tmp) / "claims.jsonl"
        write_claims(claims_path, args.claims)
        data = claims_path.read_bytes()

    policies = load_policy_dir(None)
    parsed: list[Claim] = []
    for line in data.splitlines():
        try:
            check = parse_claim(decode_claim(line), policies)
        except ValueError:
            continue
        if check.claim is not None:
            parsed.append(check.claim)
    # The harness holds every parsed claim (a stream holds none): keep them out of
    # the garbage collector's walks, or its cost would be charged to the rules.
    gc.collect()
    gc.freeze()

    def settle() -> float:
        sink = io.StringIO()
        started = time.perf_counter()
        settle_file(Settler(policies), io.BytesIO(data), sink)
        return time.perf_counter() - started

    hits = [0]

    def rules_check() -> float:
        sink = io.StringIO()
        started = time.perf_counter()
        for record in check_lines(engine, RuleState(), policies, io.BytesIO(data)):
            sink.write(encode_record_bytes(record).decode())  # as yibao rules check writes
            sink.write("\n")
        return time.perf_counter() - started

    def rules_parsed() -> float:
        state = RuleState()
        check = engine.check
        found = 0
        started = time.perf_counter()
        for claim in parsed:
            found += len(check(claim, state))
        elapsed = time.perf_counter() - started
        hits[0] = found
        return elapsed

    lines = data.splitlines()

    def rules_stream() -> float:
        state = RuleState()
        check = engine.check
        clock = time.perf_counter
        elapsed = 0.0
        for line in lines:
            try:
                claim = parse_claim(decode_claim(line), policies).claim
            except ValueError:
                continue
            if claim is None:
                continue
            started = clock()
            [h.as_dict() for h in check(claim, state)]
            elapsed += clock() - started
        return elapsed

    runs: dict[str, list[float]] = {
        "settle": [],
        "rules check": [],
        "rules on a parsed claim": [],
        "rules in the stream": [],
    }
    for _ in range(args.blocks):
        runs["settle"].append(settle())
        runs["rules check"].append(rules_check())
        runs["rules on a parsed claim"].append(rules_parsed())
        runs["rules in the stream"].append(rules_stream())

    print(
        f"{args.claims} claims ({len(parsed)} valid), {book.row_count} knowledge rows"
        f" loaded and indexed in {load_s:.2f} s; {hits[0]} hits;"
        f" median of {args.blocks} alternating blocks"
    )
    base = statistics.median(runs["settle"])
    for name, times in runs.items():
        median = statistics.median(times)
        print(
            f"  {name:24s} {median:7.3f} s  {args.claims / median:9.0f} claims/s"
            f"  {median / base:6.1%} of settle"
        )
    added = statistics.median(runs["rules on a parsed claim"]) / base
    print(f"rules add {added:.1%} to settle time on a validated claim ({_verdict(added)})")
    added = statistics.median(runs["rules in the stream"]) / base
    print(f"rules add {added:.1%} to settle time in the stream ({_verdict(added)})")
    added = statistics.median(runs["rules check"]) / base - 1
    print(f"rules check takes {added:+.1%} more time than settle ({_verdict(added)})")


def _verdict(added: float) -> str:
    return ("within" if added <= 0.15 else "OVER") + " the 15% bound"


if __name__ == "__main__":
    main()
