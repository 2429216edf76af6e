"""``yibao demo``: the main job on embedded defaults.

Until the stream and review app are wired in, it settles the bundled sample
claims and prints a summary a clerk would recognise.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from importlib import resources
from pathlib import Path

import typer

from settlement.batch import settle_lines
from settlement.clearing import clear_period
from settlement.engine import Settler
from settlement.money import format_fen, parse_fen_text
from settlement.policy_loader import load_policy_dir


def sample_claims_path() -> Path:
    return Path(str(resources.files("settlement") / "samples" / "claims.jsonl"))


def demo() -> None:
    """Settle the bundled sample claims and print a summary."""
    book = load_policy_dir()
    path = sample_claims_path()
    with path.open("rb") as source:
        records = list(settle_lines(Settler(book), source))
    statuses = Counter(record["status"] for record in records)
    typer.echo(f"settled {len(records)} sample claims from {path}")
    typer.echo("  " + ", ".join(f"{statuses[s]} {s}" for s in ("settled", "rejected", "duplicate")))
    fund: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for record in records:
        if record["status"] == "settled":
            fund[record["insured_region"]] += parse_fen_text(record["fund_pay"])
            total[record["insured_region"]] += parse_fen_text(record["total"])
    typer.echo("fund paid by insured region:")
    for region in sorted(fund):
        name = book.regions[region].name if region in book.regions else region
        rate = fund[region] / total[region] if total[region] else 0.0
        typer.echo(
            f"  {region} {name:<10} {format_fen(fund[region]):>14} yuan  ({rate:.1%} of billed)"
        )
    errors = Counter(e["code"] for r in records if r["status"] == "rejected" for e in r["errors"])
    if errors:
        typer.echo(
            "rejections by reason: " + ", ".join(f"{c} {n}" for c, n in errors.most_common())
        )
    periods = sorted({r["discharge_date"][:7] for r in records if r["status"] == "settled"})
    for period in periods:
        for row in clear_period(records, period):
            typer.echo(
                f"clearing {row['period']}: {row['debtor']} owes {row['creditor']}"
                f" {row['amount']} yuan ({row['claims']} claims)"
            )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
