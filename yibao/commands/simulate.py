"""``yibao simulate``: write a labelled synthetic claims file (JSON Lines)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from simulator.config import SimConfig

log = logging.getLogger(__name__)

SeedOpt = Annotated[int, typer.Option(help="Random seed; same seed, same bytes.", min=0)]
ClaimsOpt = Annotated[int, typer.Option(help="Number of claims (lines) to write.", min=0)]
StartOpt = Annotated[str, typer.Option(help="First submission day, YYYY-MM-DD.")]
DaysOpt = Annotated[
    int | None, typer.Option(help="Number of submission days (default 365).", min=1)
]
YearsOpt = Annotated[
    int | None,
    typer.Option(
        help="Number of whole years from --start (instead of --days): history for "
        "building DIP catalogues, e.g. --start 2023-01-01 --years 3.",
        min=1,
        max=10,
    ),
]
RegionsOpt = Annotated[
    str, typer.Option(help="Comma-separated region codes (default: the bundled policies).")
]
FraudRateOpt = Annotated[float, typer.Option(help="Target share of claims labelled fraudulent.")]
DipFraudRateOpt = Annotated[
    float | None,
    typer.Option(
        help="Target share of claims labelled fraudulent by the two DIP schemes "
        "(default: --fraud-rate x 2/7, the same part per scheme)."
    ),
]
CorruptRateOpt = Annotated[float, typer.Option(help="Share of lines made invalid on purpose.")]
RuleViolationRateOpt = Annotated[
    float,
    typer.Option(
        help="Probability that an honest claim breaks an audit rule (labelled rule_violations),"
        " and again that it is an honest look-alike (rule_lookalike); 0 to 0.2."
    ),
]
AgeingOpt = Annotated[
    bool, typer.Option("--ageing", help="Shanghai-like age structure (30%+ aged 60+).")
]
SpillOpt = Annotated[
    bool,
    typer.Option(
        help="Let claims spawned near the end (second stays, duplicate bills) be "
        "submitted after the window; --no-spill keeps every claim inside it."
    ),
]
WorkersOpt = Annotated[
    int, typer.Option(help="Processes drawing days (0 = one per CPU, max 4).", min=0)
]
OutputOpt = Annotated[str, typer.Option("-o", "--output", help="Output file, or - for stdout.")]
DayAfterOpt = Annotated[
    int | None,
    typer.Option(
        help="Write this many claims of the day after the window instead of the window: "
        "drawn from the window's own persons, hospitals and fraud plan (give the window's "
        "--seed, --claims, --start and --days), a live day that continues its history.",
        min=0,
    ),
]
UntilOpt = Annotated[
    str | None,
    typer.Option(
        help="With --day-after: the latest submission time, an ISO date-time with its "
        "offset (default: now); the day's claims are spread from its midnight in China "
        "(+08:00) to this."
    ),
]
CatalogueDirOpt = Annotated[
    str | None,
    typer.Option(
        help="Also write <region>.catalogue.csv (spec 8.4) for the simulated item "
        "codes into this directory (price ceilings 5% above the usual prices)."
    ),
]
CatalogueFromOpt = Annotated[
    str, typer.Option(help="effective_from of the catalogue rows, YYYY-MM-DD.")
]


def simulate_cmd(
    seed: SeedOpt = 0,
    claims: ClaimsOpt = 10_000,
    start: StartOpt = "2026-01-01",
    days: DaysOpt = None,
    years: YearsOpt = None,
    regions: RegionsOpt = "441800,440100,440300,440600,441900",
    fraud_rate: FraudRateOpt = 0.05,
    dip_fraud_rate: DipFraudRateOpt = None,
    corrupt_rate: CorruptRateOpt = 0.0,
    rule_violation_rate: RuleViolationRateOpt = 0.0,
    ageing: AgeingOpt = False,
    spill: SpillOpt = True,
    workers: WorkersOpt = 0,
    output: OutputOpt = "-",
    day_after: DayAfterOpt = None,
    until: UntilOpt = None,
    catalogue_dir: CatalogueDirOpt = None,
    catalogue_from: CatalogueFromOpt = "2017-01-01",
) -> None:
    """Simulate claims of insured persons at hospitals, some of which commit fraud."""
    from simulator.config import SimConfig, SimConfigError

    start_date = _date("--start", start)
    if until is not None and day_after is None:
        raise typer.BadParameter("--until goes with --day-after")
    try:
        config = SimConfig(
            seed=seed,
            claims=claims,
            start=start_date,
            days=_window_days(start_date, days, years),
            regions=tuple(r.strip() for r in regions.split(",") if r.strip()),
            fraud_rate=fraud_rate,
            dip_fraud_rate=dip_fraud_rate,
            corrupt_rate=corrupt_rate,
            rule_violation_rate=rule_violation_rate,
            ageing=ageing,
            spill=spill,
        )
    except SimConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    if catalogue_dir is not None:
        _write_catalogues(config, catalogue_dir, catalogue_from)
    if day_after is not None:
        n = _write_live_day(config, day_after, _until_s(config, until), output)
        if n is not None:
            day = config.end + dt.timedelta(days=1)
            log.info("wrote %d claims of %s (seed %d) to %s", n, day, seed, output)
        return
    n = _write_claims(config, output, workers or min(4, os.cpu_count() or 1))
    if n is not None:
        log.info("wrote %d claims (seed %d) to %s", n, seed, output)


def _date(option: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option} must be YYYY-MM-DD, got {text!r}") from None


def _until_s(config: SimConfig, until: str | None) -> int:
    """Seconds into the day after the window up to which its claims are submitted."""
    from simulator.live import seconds_into

    if until is None:
        moment = dt.datetime.now().astimezone()
    else:
        try:
            moment = dt.datetime.fromisoformat(until)
        except ValueError:
            raise typer.BadParameter(f"--until must be an ISO date-time, got {until!r}") from None
        if moment.tzinfo is None:
            raise typer.BadParameter(f"--until needs an offset such as +08:00, got {until!r}")
    try:
        return seconds_into(config.end + dt.timedelta(days=1), moment)
    except ValueError as exc:
        raise typer.BadParameter(f"--until: {exc}") from None


def _window_days(start: dt.date, days: int | None, years: int | None) -> int:
    """The number of submission days: ``--days``, whole ``--years`` from ``start``, or 365."""
    if days is not None and years is not None:
        raise typer.BadParameter("give --days or --years, not both")
    if years is None:
        return days if days is not None else 365
    try:
        end = start.replace(year=start.year + years)
    except ValueError:  # 29 February
        end = start.replace(year=start.year + years, day=28)
    return (end - start).days


def _write_catalogues(config: SimConfig, catalogue_dir: str, catalogue_from: str) -> None:
    from simulator.categories import write_catalogues
    from simulator.world import build_world

    _date("--catalogue-from", catalogue_from)
    files = write_catalogues(build_world(config), Path(catalogue_dir), catalogue_from)
    log.info("wrote %d catalogue files to %s", len(files), catalogue_dir)


def _write_claims(config: SimConfig, output: str, workers: int) -> int | None:
    """Write the claims to ``output`` (``-``: stdout) with a progress bar on a terminal;
    returns how many, or None when the reader of stdout stopped early."""
    from simulator.generate import write

    return _write_to(output, config.claims, lambda out, bar: write(config, out, bar, workers))


def _write_live_day(config: SimConfig, claims: int, until_s: int, output: str) -> int | None:
    """Write the day after the window to ``output``, as :func:`_write_claims` does."""
    from simulator.live import write_live_day

    return _write_to(
        output, claims, lambda out, bar: write_live_day(config, claims, out, until_s, bar)
    )


def _write_to(output: str, total: int, write: Callable[[IO[str], Any], int]) -> int | None:
    """Run ``write(stream, progress bar or None)`` on ``output`` (``-``: stdout); returns
    its count, or None when the reader of stdout stopped early."""
    progress = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        progress = tqdm(total=total, unit="claim", unit_scale=True, file=sys.stderr)
    try:
        if output != "-":
            with Path(output).open("w", encoding="utf-8", newline="\n") as out:
                return write(out, progress)
        try:
            n = write(sys.stdout, progress)
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader stopped early (``| head``): not an error.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return None
        return n
    finally:
        if progress is not None:
            progress.close()


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to the app."""
    app.command("simulate")(simulate_cmd)
