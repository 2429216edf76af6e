"""CLI adapter for settlement: ``yibao settle`` and ``yibao clearing``."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO, TextIO

import typer

from settlement.batch import settle_file
from settlement.clearing import clear_period
from settlement.engine import Settler
from settlement.errors import PolicyError
from settlement.jsonio import encode_record
from settlement.policy_loader import load_policy_dir
from settlement.state import SpillingState
from yibao.settings import get_settings

_OUTPUT_BUFFER = 1 << 20


def _fail(message: str) -> typer.Exit:
    typer.echo(f"yibao: {message}", err=True)
    return typer.Exit(code=2)


@contextlib.contextmanager
def _open_input(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise _fail(f"cannot read input file {path}: {exc.strerror}") from None
    with handle:
        yield handle


@contextlib.contextmanager
def _open_output(path: str) -> Iterator[TextIO]:
    if path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        handle = open(path, "w", encoding="utf-8", buffering=_OUTPUT_BUFFER)  # noqa: SIM115
    except OSError as exc:
        raise _fail(f"cannot write output file {path}: {exc.strerror}") from None
    with handle:
        yield handle


def settle(
    input_path: Annotated[
        str, typer.Argument(metavar="INPUT.jsonl|-", help="Claims, one JSON a line.")
    ],
    output: Annotated[
        str, typer.Option("-o", "--output", help="Settlement records (- = stdout).")
    ] = "-",
    policies: Annotated[
        Path | None, typer.Option("--policies", help="Policy directory (default: bundled).")
    ] = None,
    max_claim_bytes: Annotated[
        int | None,
        typer.Option(
            "--max-claim-bytes",
            min=1,
            help="Longest input line read, in bytes; a longer one is rejected malformed"
            " (default: MAX_CLAIM_BYTES, else 1048576).",
        ),
    ] = None,
) -> None:
    """Settle claims: one section-6 record per input line, in input order."""
    if max_claim_bytes is None:
        max_claim_bytes = get_settings().max_claim_bytes
    try:
        book = load_policy_dir(policies)
    except PolicyError as exc:
        raise _fail(f"broken policy: {exc}") from None
    state = SpillingState()  # flat memory however long the input
    try:
        with _open_input(input_path) as source, _open_output(output) as sink:
            counts = settle_file(Settler(book, state), source, sink, max_line_bytes=max_claim_bytes)
    finally:
        state.close()
    summary = ", ".join(f"{counts[s]} {s}" for s in ("settled", "rejected", "duplicate"))
    typer.echo(f"settled {sum(counts.values())} claims: {summary}", err=True)


def clearing(
    settlements: Annotated[str, typer.Argument(metavar="SETTLEMENTS.jsonl|-")],
    period: Annotated[str, typer.Option("--period", help="Month to clear, YYYY-MM.")],
    output: Annotated[
        str, typer.Option("-o", "--output", help="Clearing rows (- = stdout).")
    ] = "-",
) -> None:
    """Net a month's inter-city debts between regions from settlement records."""
    if len(period) != 7 or period[4] != "-" or not (period[:4] + period[5:]).isdigit():
        raise _fail(f"--period must be YYYY-MM, got {period!r}")
    with _open_input(settlements) as source:
        rows = clear_period(_records(source, settlements), period)
    with _open_output(output) as sink:
        for row in rows:
            sink.write(encode_record(row) + "\n")


def _records(source: BinaryIO, name: str) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise _fail(f"{name} line {number} is not a JSON settlement record") from None
        if isinstance(record, dict):
            yield record


def register(app: typer.Typer) -> None:
    app.command("settle")(settle)
    app.command("clearing")(clearing)
