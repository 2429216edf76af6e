"""``yibao demo``: the whole system on embedded defaults (see :mod:`yibao.demo`)."""

from __future__ import annotations

from typing import Annotated

import typer


def demo(
    claims: Annotated[int, typer.Option(help="Claims in the simulated year.")] = 40_000,
    today_claims: Annotated[int, typer.Option(help="Claims replayed live.")] = 3_000,
    rate: Annotated[float, typer.Option(help="Live replay rate, claims a second.")] = 25.0,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 2026,
) -> None:
    """Start broker, MLflow UI, stream worker and review app on local data; Ctrl-C stops all.

    The year is the 365 days before today; today's claims (up to now) come from the
    same persons and hospitals. Ports: the first free one from DEMO_BROKER_PORT,
    DEMO_MLFLOW_PORT, STREAM_WEB_PORT and REVIEW_PORT.
    """
    from yibao.demo import Demo, DemoPlan
    from yibao.settings import get_settings
    from yibao.supervisor import StartError

    settings = get_settings()
    plan = DemoPlan(
        year_claims=claims,
        live_claims=today_claims,
        replay_rate=rate,
        seed=seed,
        broker_port=settings.demo_broker_port,
        mlflow_port=settings.demo_mlflow_port,
    )
    try:
        Demo(settings, plan).run()
    except StartError as exc:
        typer.echo(f"yibao demo: {exc}", err=True)
        raise typer.Exit(code=1) from None


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
