"""CLI adapter for DIP (spec dip.md): ``yibao dip cases|year|month|build``.

Reads the claims and settlement files side by side, calls the pure core in
``dip/`` and writes JSON Lines (or the YAML list of a catalogue). Exit codes:
0 done (warnings on stderr), 2 a usage, file or policy problem, 3 the two
files do not answer each other (different counts or claim_ids).
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from dip.batch import write_case_records
from dip.cases import assess
from dip.catalogue import DEFAULT_CORE_MIN_CASES, build_catalogue, catalogue_yaml
from dip.clearing import PeriodTally, month_records, year_records
from dip.errors import DipPolicyError, PairingError
from dip.loader import load_dip_dir
from dip.pairing import PairingCounts, dip_cases, settled_inpatient_cases
from dip.policy import DipBook
from settlement.jsonio import encode_record_bytes

app = typer.Typer(
    help="DIP: hospital payment by disease-group points (cases, year-end, months, catalogue).",
    no_args_is_help=True,
)
_OUTPUT_BUFFER = 1 << 20
_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")

ClaimsArg = Annotated[str, typer.Argument(metavar="CLAIMS.jsonl", help="Claims, one JSON a line.")]
SettlementsArg = Annotated[
    str,
    typer.Argument(
        metavar="SETTLEMENTS.jsonl", help="`yibao settle`'s records for CLAIMS, line for line."
    ),
]
OutputOpt = Annotated[str, typer.Option("-o", "--output", help="Output file (- = stdout).")]
DipOpt = Annotated[
    Path | None, typer.Option("--dip", help="DIP policy directory (default: bundled).")
]


def _say(message: str) -> None:
    typer.echo(f"yibao dip: {message}", err=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    _say(message)
    return typer.Exit(code=code)


@contextlib.contextmanager
def _inputs(claims: str, settlements: str) -> Iterator[tuple[BinaryIO, BinaryIO]]:
    handles: list[BinaryIO] = []
    try:
        for path in (claims, settlements):
            try:
                handles.append(open(path, "rb"))  # noqa: SIM115 - closed below
            except OSError as exc:
                raise _fail(f"cannot read input file {path}: {exc.strerror}") from None
        yield handles[0], handles[1]
    finally:
        for handle in handles:
            handle.close()


@contextlib.contextmanager
def _output(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        sys.stdout.flush()
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    try:
        handle = open(path, "wb", buffering=_OUTPUT_BUFFER)  # noqa: SIM115
    except OSError as exc:
        raise _fail(f"cannot write output file {path}: {exc.strerror}") from None
    with handle:
        yield handle


def _book(directory: Path | None) -> DipBook:
    try:
        return load_dip_dir(directory)
    except DipPolicyError as exc:
        raise _fail(f"broken DIP policy: {exc}") from None


def _report(counts: PairingCounts) -> None:
    """The stderr summary: DIP cases, and what was skipped and why."""
    _say(f"read {counts.pairs} claims: {counts.dip_cases} DIP cases")
    if counts.no_dip_file:
        _say(
            f"skipped {sum(counts.no_dip_file.values())} settled in-patient claims of areas"
            f" without a DIP policy file: {_by_region(counts.no_dip_file)}"
        )
    if counts.no_version:
        _say(
            f"skipped {sum(counts.no_version.values())} settled in-patient claims discharged"
            f" before their area's first DIP version: {_by_region(counts.no_version)}"
        )
    if counts.unreadable:
        _say(f"skipped {len(counts.unreadable)} settled claims whose line is unusable for DIP:")
        for line in counts.unreadable[:10]:
            _say(f"  {line}")


def _by_region(counter: Counter[str]) -> str:
    return ", ".join(f"{region} ({n})" for region, n in sorted(counter.items()))


def cases(
    claims: ClaimsArg, settlements: SettlementsArg, dip: DipOpt = None, output: OutputOpt = "-"
) -> None:
    """One case record per DIP case (spec section 5), in input order."""
    book = _book(dip)
    counts = PairingCounts()
    with _inputs(claims, settlements) as (claim_file, record_file), _output(output) as sink:
        try:
            write_case_records(claim_file, record_file, book, counts, sink)
        except PairingError as exc:
            raise _fail(str(exc), code=3) from None
    _report(counts)


def year(
    claims: ClaimsArg,
    settlements: SettlementsArg,
    budget_year: Annotated[int, typer.Option("--year", help="Budget year, e.g. 2026.")],
    dip: DipOpt = None,
    output: OutputOpt = "-",
) -> None:
    """Year-end clearing: hospital-year records, then each area's summary (sections 6-7)."""
    book = _book(dip)
    counts = PairingCounts()
    tally = PeriodTally()
    with _inputs(claims, settlements) as (claim_file, record_file):
        try:
            for case, version in dip_cases(claim_file, record_file, book, counts):
                if case.discharge_date.year == budget_year:
                    tally.add(assess(case, version))
        except PairingError as exc:
            raise _fail(str(exc), code=3) from None
    budgets = {region: policy.years for region, policy in book.regions.items()}
    records, warnings = year_records(tally, budget_year, budgets, list(book.regions))
    _write(records, output)
    _report(counts)
    for warning in warnings:
        _say(warning)


def month(
    claims: ClaimsArg,
    settlements: SettlementsArg,
    period: Annotated[str, typer.Option("--period", help="Month, YYYY-MM.")],
    dip: DipOpt = None,
    output: OutputOpt = "-",
) -> None:
    """Month records: each hospital's cases, points, item fund and advance (section 7)."""
    if not _PERIOD.fullmatch(period):
        raise _fail(f"--period must be YYYY-MM, got {period!r}")
    book = _book(dip)
    counts = PairingCounts()
    tally = PeriodTally()
    with _inputs(claims, settlements) as (claim_file, record_file):
        try:
            for case, version in dip_cases(claim_file, record_file, book, counts):
                if case.discharge_date.isoformat()[:7] == period:
                    tally.add(assess(case, version))
        except PairingError as exc:
            raise _fail(str(exc), code=3) from None
    budgets = {region: policy.years for region, policy in book.regions.items()}
    records, warnings = month_records(tally, period, budgets)
    _write(records, output)
    _report(counts)
    for warning in warnings:
        _say(warning)


def build(
    claims: ClaimsArg,
    settlements: SettlementsArg,
    region: Annotated[str, typer.Option("--region", help="Pooling area, 6 digits.")],
    budget_year: Annotated[int, typer.Option("--year", help="Year the catalogue is for.")],
    core_min_cases: Annotated[
        int, typer.Option("--core-min-cases", min=1, help="Cases that make a core group.")
    ] = DEFAULT_CORE_MIN_CASES,
    los_exclude_at_most: Annotated[
        int, typer.Option("--los-exclude-at-most", min=0, help="Shorter stays left out (days).")
    ] = 0,
    los_exclude_at_least: Annotated[
        int, typer.Option("--los-exclude-at-least", min=1, help="Longer stays left out (days).")
    ] = 60,
    output: OutputOpt = "-",
) -> None:
    """Build catalogue groups from three past years (spec section 8), as YAML."""
    if not re.fullmatch(r"[0-9]{6}", region):
        raise _fail(f"--region must be a 6-digit code, got {region!r}")
    if los_exclude_at_most >= los_exclude_at_least:
        raise _fail("--los-exclude-at-most must be less than --los-exclude-at-least")
    counts = PairingCounts()
    with _inputs(claims, settlements) as (claim_file, record_file):
        try:
            catalogue = build_catalogue(
                settled_inpatient_cases(claim_file, record_file, counts),
                region,
                budget_year,
                core_min_cases,
                los_exclude_at_most,
                los_exclude_at_least,
            )
        except PairingError as exc:
            raise _fail(str(exc), code=3) from None
    with _output(output) as sink:
        sink.write(catalogue_yaml(catalogue.groups).encode("utf-8"))
    core = sum(1 for g in catalogue.groups if g.kind == "core")
    _say(
        f"area {region}, {budget_year}: {catalogue.cases} cases of"
        f" {budget_year - 3}-{budget_year - 1} gave {core} core and"
        f" {len(catalogue.groups) - core} comprehensive groups"
    )
    for warning in catalogue.warnings:
        _say(warning)


def _write(records: list[dict[str, object]], output: str) -> None:
    with _output(output) as sink:
        for record in records:
            sink.write(encode_record_bytes(record))
            sink.write(b"\n")


app.command("cases")(cases)
app.command("year")(year)
app.command("month")(month)
app.command("build")(build)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="dip")
