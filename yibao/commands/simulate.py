"""``yibao simulate``: write a labelled synthetic claims file (JSON Lines)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to the app."""

    @app.command("simulate")
    def simulate_cmd(
        seed: Annotated[int, typer.Option(help="Random seed; same seed, same bytes.", min=0)] = 0,
        claims: Annotated[int, typer.Option(help="Number of claims (lines) to write.", min=0)] = (
            10_000
        ),
        start: Annotated[
            str, typer.Option(help="First submission day, YYYY-MM-DD.")
        ] = "2026-01-01",
        days: Annotated[
            int | None, typer.Option(help="Number of submission days (default 365).", min=1)
        ] = None,
        years: Annotated[
            int | None,
            typer.Option(
                help="Number of whole years from --start (instead of --days): history for "
                "building DIP catalogues, e.g. --start 2023-01-01 --years 3.",
                min=1,
                max=10,
            ),
        ] = None,
        regions: Annotated[
            str,
            typer.Option(help="Comma-separated region codes (default: the bundled policies)."),
        ] = "441800,440100,440300,440600,441900",
        fraud_rate: Annotated[
            float, typer.Option(help="Target share of claims labelled fraudulent.")
        ] = 0.05,
        dip_fraud_rate: Annotated[
            float | None,
            typer.Option(
                help="Target share of claims labelled fraudulent by the two DIP schemes "
                "(default: --fraud-rate x 2/7, the same part per scheme)."
            ),
        ] = None,
        corrupt_rate: Annotated[
            float, typer.Option(help="Share of lines made invalid on purpose.")
        ] = 0.0,
        ageing: Annotated[
            bool, typer.Option("--ageing", help="Shanghai-like age structure (30%+ aged 60+).")
        ] = False,
        spill: Annotated[
            bool,
            typer.Option(
                help="Let claims spawned near the end (second stays, duplicate bills) be "
                "submitted after the window; --no-spill keeps every claim inside it."
            ),
        ] = True,
        workers: Annotated[
            int, typer.Option(help="Processes drawing days (0 = one per CPU, max 4).", min=0)
        ] = 0,
        output: Annotated[
            str, typer.Option("-o", "--output", help="Output file, or - for stdout.")
        ] = "-",
        catalogue_dir: Annotated[
            str | None,
            typer.Option(
                help="Also write <region>.catalogue.csv (spec 8.4) for the simulated item "
                "codes into this directory (price ceilings 5% above the usual prices)."
            ),
        ] = None,
        catalogue_from: Annotated[
            str, typer.Option(help="effective_from of the catalogue rows, YYYY-MM-DD.")
        ] = "2017-01-01",
    ) -> None:
        """Simulate claims of insured persons at hospitals, some of which commit fraud."""
        from simulator.config import SimConfig, SimConfigError
        from simulator.generate import write

        try:
            start_date = dt.date.fromisoformat(start)
        except ValueError:
            raise typer.BadParameter(f"--start must be YYYY-MM-DD, got {start!r}") from None
        if days is not None and years is not None:
            raise typer.BadParameter("give --days or --years, not both")
        if years is not None:
            try:
                end = start_date.replace(year=start_date.year + years)
            except ValueError:  # 29 February
                end = start_date.replace(year=start_date.year + years, day=28)
            days = (end - start_date).days
        try:
            config = SimConfig(
                seed=seed,
                claims=claims,
                start=start_date,
                days=days if days is not None else 365,
                regions=tuple(r.strip() for r in regions.split(",") if r.strip()),
                fraud_rate=fraud_rate,
                dip_fraud_rate=dip_fraud_rate,
                corrupt_rate=corrupt_rate,
                ageing=ageing,
                spill=spill,
            )
        except SimConfigError as exc:
            raise typer.BadParameter(str(exc)) from None
        if catalogue_dir is not None:
            from simulator.categories import write_catalogues
            from simulator.world import build_world

            try:
                dt.date.fromisoformat(catalogue_from)
            except ValueError:
                raise typer.BadParameter(
                    f"--catalogue-from must be YYYY-MM-DD, got {catalogue_from!r}"
                ) from None
            files = write_catalogues(build_world(config), Path(catalogue_dir), catalogue_from)
            log.info("wrote %d catalogue files to %s", len(files), catalogue_dir)
        n_workers = workers or min(4, os.cpu_count() or 1)
        progress = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            progress = tqdm(total=claims, unit="claim", unit_scale=True, file=sys.stderr)
        try:
            if output == "-":
                try:
                    n = write(config, sys.stdout, progress, workers=n_workers)
                    sys.stdout.flush()
                except BrokenPipeError:
                    # The reader stopped early (``| head``): not an error.
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, sys.stdout.fileno())
                    return
            else:
                path = Path(output)
                with path.open("w", encoding="utf-8", newline="\n") as out:
                    n = write(config, out, progress, workers=n_workers)
        finally:
            if progress is not None:
                progress.close()
        log.info("wrote %d claims (seed %d) to %s", n, seed, output)
