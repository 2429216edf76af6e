"""CLI adapter of ``yibao status``: is the stream healthy? (exit 0 yes, 1 no; ``--json``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object instead of lines.")] = (
        False
    ),
    worker: Annotated[
        list[str] | None,
        typer.Option(
            help="Base URL of a worker's web pages (repeat for each worker); default "
            "http://127.0.0.1:STREAM_WEB_PORT."
        ),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(help="Consumer group to report (repeat); default the workers' group."),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the broker and each worker.")
    ] = 5.0,
    max_lag: Annotated[
        int, typer.Option(help="Messages a group or the review follower may be behind.")
    ] = 10_000,
    bootstrap: Annotated[
        str | None,
        typer.Option("--bootstrap", help="Kafka bootstrap servers (default: KAFKA_BOOTSTRAP)."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Review database, for the follower's position (default: DATABASE_URL).",
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option(hidden=True, help="Same as `yibao --debug status`.")
    ] = False,
) -> None:
    """Broker, topics, group lag, workers and their model, dead letters, the review follower."""
    import asyncio

    from streams.app import group_id
    from streams.status import assess, gather, render
    from yibao import failures
    from yibao.settings import get_settings

    if debug:
        failures.set_debug(True)
    debug = failures.debugging()
    server = failures.bootstrap(bootstrap)
    settings = get_settings()
    urls = worker or [f"http://127.0.0.1:{settings.stream_web_port}"]
    try:
        with failures.using(failures.BROKER):  # its failures are part of the report
            found = asyncio.run(
                gather(
                    server,
                    groups=group or [group_id("yibao-stream")],
                    worker_urls=urls,
                    follower_offsets=_follower_offsets(
                        database_url or settings.review_database_url()
                    ),
                    timeout=timeout,
                )
            )
    except failures.ServiceUnavailable:
        raise  # one line, from the app
    except Exception as exc:
        if debug:
            raise
        typer.echo(f"yibao status: {type(exc).__name__}: {exc} (--debug shows where)", err=True)
        raise typer.Exit(1) from None
    problems = assess(found, max_lag=max_lag)
    if as_json:
        typer.echo(json.dumps({**found.as_dict(), "healthy": not problems, "problems": problems}))
    else:
        for line in render(found, problems):
            typer.echo(line)
    raise typer.Exit(0 if not problems else 1)


def _follower_offsets(database_url: str) -> dict[tuple[str, int], int] | None:
    """The review follower's stored next offsets; None when it has none (or no database)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError, ProgrammingError

    if database_url.startswith("sqlite:///"):
        from pathlib import Path

        if not Path(database_url.removeprefix("sqlite:///")).is_file():
            return None  # never create the file just to look
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            rows = db.execute(text('SELECT topic, "partition", next_offset FROM stream_offsets'))
            offsets = {(topic, int(p)): int(offset) for topic, p, offset in rows}
    except (OperationalError, ProgrammingError):
        return None  # no such table yet, or the database is down: reported as "none stored"
    finally:
        engine.dispose()
    return offsets or None


def register(app: typer.Typer) -> None:
    """Add ``yibao status`` to the CLI."""
    app.command("status")(status)
