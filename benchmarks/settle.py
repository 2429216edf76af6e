"""Benchmark: settle N claims from a JSONL file against the JSON I/O floor.

Prints claims/s and the ratio of settle time to the time needed just to parse
and re-serialise the same lines with the fastest JSON library installed
(orjson, which `yibao settle` reads with), and beside it the standard
library's ``json`` floor of earlier reports, measured in this run on
alternating blocks so all see the same machine load;
then the peak memory of settling at two input sizes (in child processes) to
show memory stays flat as the input grows.

    python benchmarks/settle.py [--claims 1000000] [--input FILE] [--section8]
        [--numeric-amounts | --string-amounts]
    python benchmarks/settle.py --claims 200000 --compare-section8

Generated claims write their amounts as JSON numbers (``"amount": 996.51``,
``--numeric-amounts``, the default and issue 19's case) or as numeric strings
(``"amount": "996.51"``, ``--string-amounts``, as ``yibao simulate`` writes).

``--section8`` settles the same claims under policies that use every feature
of spec section 8 (a catalogue for every treatment region, level ratios and
bands, categories, 8.5 deductibles, filing categories, ltc co-payment,
critical illness, assistance), with a third of the generated patients
retired and a third on assistance, to compare with the plain policies.

``--compare-section8`` answers issue 13's acceptance (section-8 policies within
20% of plain ones): it settles plain claims under plain policies and section-8
claims under section-8 policies on alternating blocks of the same run, and
prints the ratio of the two settle times.
"""

from __future__ import annotations

import argparse
import copy
import functools
import io
import itertools
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from settlement.batch import settle_file
from settlement.engine import Settler
from settlement.idnumber import check_character
from settlement.policy_loader import load_policy_dir
from settlement.state import SpillingState

REGIONS = ("441800", "440100", "440300", "440600", "441900")


def person_id(rng: random.Random) -> str:
    born = f"{rng.randint(1940, 2010)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first = f"{rng.choice(REGIONS)}{born}{rng.randint(0, 999):03d}"
    return first + check_character(first)


def write_claims(
    path: Path,
    count: int,
    seed: int = 7,
    people_count: int | None = None,
    section8: bool = False,
    string_amounts: bool = False,
) -> None:
    """Write ``count`` plausible claims (about 1 in 100 broken) to ``path``.

    ``people_count`` insured persons claim (default one per five claims).
    Amounts are JSON numbers with at most 2 decimals (``996.51``, ``1179.7``),
    or with ``string_amounts`` the same values as strings with 2 (``"1179.70"``).
    """
    rng = random.Random(seed)
    people = [person_id(rng) for _ in range(people_count or max(1, count // 5))]
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            kind = rng.choices(("inpatient", "outpatient", "ltc"), (40, 55, 5))[0]
            pid = rng.choice(people)
            insured = pid[:6]
            region = insured if kind == "ltc" or rng.random() < 0.85 else rng.choice(REGIONS)
            day = rng.randint(1, 28)
            stay = rng.randint(1, 9) if kind != "outpatient" else 0
            claim = {
                "claim_id": f"C{n:08d}",
                "claim_type": kind,
                "submitted_at": f"2026-03-{min(day + stay, 28):02d}T10:15:00+08:00",
                "patient": {
                    "person_id": pid,
                    "scheme": rng.choice(("employee", "resident")),
                    "insured_region": insured,
                    "intercity_registered": rng.random() < 0.5,
                    **(section8_patient(pid, rng) if section8 else {}),
                },
                "hospital": {
                    "hospital_id": f"H{rng.randint(1, 300):04d}",
                    "region": region,
                    "level": rng.randint(1, 3),
                },
                "admission_date": f"2026-02-{day:02d}",
                "discharge_date": f"2026-02-{day:02d}"
                if kind == "outpatient"
                else f"2026-03-{min(day + stay, 28):02d}",
                "diagnosis": rng.choice(("J18.9", "I10", "E11.9", "K35.8", "S72.0")),
                "items": [
                    {
                        "code": f"I{rng.randint(1, 999):04d}",
                        "category": rng.choice("AABC"),
                        "amount": amount(round(rng.uniform(5, 3000), 2), string_amounts),
                        "quantity": rng.randint(1, 4),
                    }
                    for _ in range(rng.randint(2, 7))
                ],
                "is_fraud": False,
                "fraud_type": None,
            }
            if kind == "ltc":
                claim["ltc"] = {"setting": rng.choice(("institutional", "home")), "days": 1}
            line = json.dumps(claim, ensure_ascii=False)
            if rng.random() < 0.01:
                line = line[: len(line) // 2]  # a truncated, unparseable line
            out.write(line + "\n")


def amount(yuan: float, as_string: bool) -> float | str:
    """An item amount as a JSON number, or as a numeric string with 2 decimals."""
    return f"{yuan:.2f}" if as_string else yuan


def section8_patient(pid: str, rng: random.Random) -> dict[str, str]:
    """Section-8 patient fields: a third retired, a third on assistance, some filed."""
    fields = {}
    bucket = int(pid[-4:-1]) % 3
    if bucket == 1:
        fields["category"] = "retired"
    elif bucket == 2:
        fields["assistance"] = "dibao"
    if rng.random() < 0.3:
        fields["intercity_filing"] = rng.choice(("long_term", "referral", "emergency", "temporary"))
    return fields


SECTION8_VERSION: dict = {
    "effective_from": "2020-01-01",
    "source": "illustrative",
    "category_b_self_pay": 0.10,
    "intercity_unregistered_reduction": 0.10,
    "ltc_per_diem": {
        "institutional": {"per_diem": 135, "ratio": 0.75},
        "home": {"per_diem": 100, "ratio": 0.75},
    },
    "intercity_filing": {
        "long_term": {"subtract": 0},
        "referral": {"subtract": 0.05},
        "temporary": {"multiply": 0.8},
        "none": {"subtract": 0.2},
    },
    "assistance": {"dibao": {"threshold": 500, "ratio": 0.7, "annual_cap": 30000}},
}
SECTION8_SCHEME: dict = {
    "annual_cap": 500000,
    "inpatient": {
        "bands": [
            {"up_to": 2000, "ratio": {1: 0.90, 2: 0.85, 3: 0.80}},
            {"up_to": None, "ratio": 0.90},
        ],
        "deductible": {1: 300, 2: 600, 3: 1000},
        "deductible_repeat_factor": 0.5,
        "deductible_year_max": 1500,
    },
    "outpatient": {"ratio": {1: 0.75, 2: 0.70, 3: 0.65}, "deductible": {1: 0, 2: 0, 3: 0}},
    "categories": {
        "retired": {
            "inpatient": {
                "ratio": {1: 0.95, 2: 0.92, 3: 0.90},
                "deductible": {1: 200, 2: 400, 3: 800},
            },
            "annual_cap": 600000,
        }
    },
    "critical_illness": {
        "threshold": 3000,
        "bands": [{"up_to": 20000, "ratio": 0.6}, {"up_to": None, "ratio": 0.7}],
        "annual_cap": 400000,
    },
}


def write_section8_policies(folder: Path) -> Path:
    """Policies of REGIONS using every section-8 feature, and a catalogue for each."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    # one copy per scheme: a dict shared by both would be dumped as a YAML
    # alias, which the strict loader refuses
    schemes = {
        "employee": copy.deepcopy(SECTION8_SCHEME),
        "resident": copy.deepcopy(SECTION8_SCHEME),
    }
    version = {**SECTION8_VERSION, "schemes": schemes}
    rows = "".join(
        f"I{n:04d},{'C' if n % 11 == 0 else 'B'},{'0.30' if n % 4 == 1 else ''},"
        f"{'' if n % 3 else '500.00'},2020-01-01\n"
        for n in range(1, 1000, 2)
    )
    for region in REGIONS:
        document = {"region": region, "versions": [version]}
        (folder / f"{region}.yaml").write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
        (folder / f"{region}.catalogue.csv").write_text(
            "code,category,self_pay,price_ceiling,effective_from\n" + rows, "utf-8"
        )
    return folder


class _NullSink:
    """Discards output but keeps the cost of a text write call."""

    def write(self, text: str) -> int:
        return len(text)


def floor_block(lines: list[bytes]) -> float:
    """Seconds to parse and re-serialise ``lines`` with orjson (the I/O floor).

    orjson is the fastest JSON library the project ships (`yibao settle` reads
    with it), so this is the floor a settle pass is held to (issue 19).
    """
    loads, dumps, write = orjson.loads, orjson.dumps, _NullSink().write
    start = time.perf_counter()
    for line in lines:
        if not line.strip():
            continue
        try:
            write(dumps(loads(line)).decode())
        except orjson.JSONDecodeError:
            write("{}")
        write("\n")
    return time.perf_counter() - start


def stdlib_floor_block(lines: list[bytes]) -> float:
    """The same with the standard library's ``json`` (the floor of earlier reports)."""
    loads, dumps, write = json.loads, json.dumps, _NullSink().write
    start = time.perf_counter()
    for line in lines:
        if not line.strip():
            continue
        try:
            write(dumps(loads(line), ensure_ascii=False, separators=(",", ":")))
        except ValueError:
            write("{}")
        write("\n")
    return time.perf_counter() - start


def settle_block(settler: Settler, lines: list[bytes]) -> float:
    """Seconds to settle ``lines`` (decode, validate, settle, encode) into a null sink."""
    start = time.perf_counter()
    settle_file(settler, io.BytesIO(b"".join(lines)), _NullSink())  # type: ignore[arg-type]
    return time.perf_counter() - start


def interleaved(
    path: Path, block: int = 20_000, policies: Path | None = None
) -> tuple[int, float, float, float, list[float]]:
    """Time the floors and settle on alternating blocks of the same lines.

    The machine is shared: load changes over minutes, so timing the floor and
    the settle pass one after the other would compare different machines.
    Rotating the order of the three passes on each block puts all under the
    same load. Returns (lines, orjson floor s, stdlib floor s, settle s,
    per-block settle/orjson ratios).
    """
    settler = Settler(load_policy_dir(policies), SpillingState())  # as `yibao settle`
    count = floor_total = stdlib_total = settle_total = 0.0
    ratios: list[float] = []
    with path.open("rb") as source:
        for index, lines in enumerate(iter(lambda: list(itertools.islice(source, block)), [])):
            passes = [
                ("floor", functools.partial(floor_block, lines)),
                ("stdlib", functools.partial(stdlib_floor_block, lines)),
                ("settle", functools.partial(settle_block, settler, lines)),
            ]
            shift = index % 3
            times = dict((name, run()) for name, run in passes[shift:] + passes[:shift])
            count += len(lines)
            floor_total += times["floor"]
            stdlib_total += times["stdlib"]
            settle_total += times["settle"]
            ratios.append(times["settle"] / times["floor"])
    return int(count), floor_total, stdlib_total, settle_total, ratios


def compare_section8(folder: Path, count: int, block: int = 20_000) -> None:
    """Print settle time under section-8 policies against plain ones, same run."""
    plain_path, section8_path = folder / "plain.jsonl", folder / "section8.jsonl"
    write_claims(plain_path, count)
    write_claims(section8_path, count, section8=True)
    plain = Settler(load_policy_dir(None), SpillingState())
    section8 = Settler(load_policy_dir(write_section8_policies(folder / "p8")), SpillingState())
    totals = {"plain": 0.0, "section8": 0.0}
    ratios: list[float] = []
    with plain_path.open("rb") as plain_file, section8_path.open("rb") as section8_file:
        for index in itertools.count():
            plain_lines = list(itertools.islice(plain_file, block))
            section8_lines = list(itertools.islice(section8_file, block))
            if not plain_lines:
                break
            if index % 2:
                section8_time = settle_block(section8, section8_lines)
                plain_time = settle_block(plain, plain_lines)
            else:
                plain_time = settle_block(plain, plain_lines)
                section8_time = settle_block(section8, section8_lines)
            totals["plain"] += plain_time
            totals["section8"] += section8_time
            ratios.append(section8_time / plain_time)
    print(f"claims:             {count:,} of each")
    print(f"plain policies:     {totals['plain']:.2f} s  ({count / totals['plain']:,.0f} claims/s)")
    print(
        f"section-8 policies: {totals['section8']:.2f} s  "
        f"({count / totals['section8']:,.0f} claims/s)"
    )
    print(
        f"ratio section8/plain: {totals['section8'] / totals['plain']:.3f}x "
        f"(acceptance <= 1.20x); per-block median {statistics.median(ratios):.3f}x, "
        f"min {min(ratios):.3f}x, max {max(ratios):.3f}x over {len(ratios)} blocks"
    )


def peak_rss_mib(path: Path) -> float:
    """Peak RSS of ``yibao settle`` on ``path`` in a child process, in MiB."""
    code = (
        "import resource,sys;from yibao.cli import main;sys.argv=['yibao','settle',sys.argv[1],"
        "'-o','/dev/null'];\ntry:\n main()\nexcept SystemExit:\n pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument(
        "--input", type=Path, help="an existing claims file instead of a generated one"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory comparison")
    parser.add_argument(
        "--section8", action="store_true", help="policies and patients using spec section 8"
    )
    parser.add_argument(
        "--compare-section8",
        action="store_true",
        help="section-8 policies against plain ones on alternating blocks (issue 13)",
    )
    amounts = parser.add_mutually_exclusive_group()
    amounts.add_argument(
        "--numeric-amounts",
        dest="string_amounts",
        action="store_false",
        default=False,
        help="amounts as JSON numbers, 996.51 (the default; issue 19)",
    )
    amounts.add_argument(
        "--string-amounts",
        dest="string_amounts",
        action="store_true",
        help='amounts as numeric strings, "996.51"',
    )
    args = parser.parse_args()
    if args.compare_section8:
        with tempfile.TemporaryDirectory() as tmp:
            compare_section8(Path(tmp), args.claims)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.input
        if path is None:
            path = Path(tmp) / "claims.jsonl"
            kind = "string" if args.string_amounts else "numeric"
            print(f"generating {args.claims:,} claims with {kind} amounts ...", flush=True)
            write_claims(
                path, args.claims, section8=args.section8, string_amounts=args.string_amounts
            )
        policies = write_section8_policies(Path(tmp) / "policies") if args.section8 else None
        count, floor, stdlib, settle, ratios = interleaved(path, policies=policies)
        print(f"claims:             {count:,}")
        print(f"orjson floor:       {floor:.2f} s  ({count / floor:,.0f} lines/s)")
        print(f"stdlib json floor:  {stdlib:.2f} s  ({count / stdlib:,.0f} lines/s)")
        print(f"settle:             {settle:.2f} s  ({count / settle:,.0f} claims/s)")
        print(f"ratio settle/floor: {settle / floor:.2f}x  (orjson; acceptance <= 3x, goal 1.5x)")
        print(f"ratio settle/stdlib json floor: {settle / stdlib:.2f}x")
        print(
            f"per-block ratios:   median {statistics.median(ratios):.2f}x, "
            f"min {min(ratios):.2f}x, max {max(ratios):.2f}x over {len(ratios)} blocks"
        )
        if not args.no_memory and args.input is None:
            # Same insured population at both sizes: state that grows with the
            # population (annual accumulators) is not what this measures.
            population = 50_000
            sizes = (max(1, args.claims // 10), args.claims)
            peaks = []
            for size in sizes:
                sample = Path(tmp) / f"memory-{size}.jsonl"
                write_claims(
                    sample,
                    size,
                    seed=size,
                    people_count=population,
                    string_amounts=args.string_amounts,
                )
                peaks.append(peak_rss_mib(sample))
                sample.unlink()
            print(
                f"peak RSS:           {peaks[0]:.0f} MiB at {sizes[0]:,} claims, "
                f"{peaks[1]:.0f} MiB at {sizes[1]:,} claims ({population:,} insured persons)"
            )


if __name__ == "__main__":
    main()
