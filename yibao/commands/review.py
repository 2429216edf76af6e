"""CLI of the review app: ``yibao review serve|load|follow|reset-offsets``, ``users``, ``labels``.

Heavy imports (FastAPI, SQLAlchemy, uvicorn) happen inside the commands.
"""

from __future__ import annotations

import contextlib
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from yibao.failures import BROKER, DATABASE, using

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

# As review.services.users.ROLE_TEXT says it; not imported, so that --help loads no SQLAlchemy.
ROLE_HELP = "clerk, supervisor or data_scientist"

review_app = typer.Typer(help="The review web app for clerks, supervisors and the bureau.")
users_app = typer.Typer(help="Review app accounts.")
labels_app = typer.Typer(help="Review decisions as training labels.")


class ResetTo(StrEnum):
    """Where ``yibao review reset-offsets`` moves the follower."""

    earliest = "earliest"
    latest = "latest"


DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Review database URL (default: DATABASE_URL, else review.db in DATA_DIR).",
    ),
]
BootstrapOpt = Annotated[
    str | None,
    typer.Option("--bootstrap", help="Kafka bootstrap servers (default: KAFKA_BOOTSTRAP)."),
]


def _sessions(database_url: str | None) -> sessionmaker[Session]:
    """Sessions on the review database (option, else settings), migrated to the newest schema."""
    from review.db import make_engine, session_factory, upgrade_head
    from yibao import failures

    url = failures.database_url(database_url)
    with using(DATABASE):
        engine = make_engine(url)
        upgrade_head(engine)
    return session_factory(engine)


def _session(database_url: str | None) -> Session:
    return _sessions(database_url)()


@review_app.command("serve")
def serve_cmd(
    host: Annotated[str | None, typer.Option(help="Listen address (REVIEW_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (REVIEW_PORT).")] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Run the review app (migrates the database to the newest schema first)."""
    import uvicorn

    from review.app import create_app
    from review.security import install_log_masking
    from yibao import failures
    from yibao.settings import get_settings

    settings = get_settings()
    if database_url is not None:
        settings = settings.model_copy(update={"database_url": database_url})
    settings = settings.model_copy(
        update={"database_url": failures.database_url(settings.database_url)}
    )
    with using(DATABASE):
        application = create_app(settings)
    config = uvicorn.Config(
        application,
        host=host or settings.review_host,
        port=port or settings.review_port,
        # The app itself reads X-Forwarded-For/-Proto, from REVIEW_TRUSTED_PROXIES
        # only; uvicorn's own handling would believe any client on this host.
        proxy_headers=False,
    )
    # After uvicorn set up its log handlers: mask identity numbers in every line.
    install_log_masking("uvicorn", "uvicorn.access", "uvicorn.error")
    uvicorn.Server(config).run()


@review_app.command("load")
def load_cmd(
    claims: Annotated[Path | None, typer.Option(help="Claims JSONL.")] = None,
    settlements: Annotated[Path | None, typer.Option(help="Settlement records JSONL.")] = None,
    scores: Annotated[Path | None, typer.Option(help="Score records JSONL.")] = None,
    hospitals: Annotated[Path | None, typer.Option(help="Hospital risk table JSONL.")] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Load claims, settlements and scores into the review database (upserts by claim_id)."""
    from review import ingest
    from review.derived import refresh_derived

    db = _session(database_url)
    try:
        for label, path, loader in (
            ("claims", claims, ingest.load_claims),
            ("settlements", settlements, ingest.load_settlements),
            ("scores", scores, ingest.load_scores),
        ):
            if path is not None:
                with path.open("rb") as handle:
                    count = loader(db, handle)
                db.commit()
                typer.echo(f"{label}: {count} loaded from {path}")
        refresh_derived(db)
        if hospitals is not None:
            with hospitals.open("rb") as handle:
                typer.echo(f"hospitals: {ingest.load_hospital_risk(db, handle)} loaded")
        db.commit()
    finally:
        db.close()


@review_app.command("follow")
def follow_cmd(
    bootstrap: BootstrapOpt = None,
    until_idle: Annotated[
        float | None, typer.Option(help="Stop after this many seconds without messages.")
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Load the stream's claims, settlements and fraud.flags into the review database."""
    import asyncio

    from review.follow import follow
    from review.follow_metrics import FollowMetrics
    from streams.status import check_broker
    from yibao import failures
    from yibao.settings import get_settings

    settings = get_settings()
    sessions = _sessions(database_url)
    metrics = FollowMetrics()
    if settings.follow_metrics_port:
        try:
            metrics.serve(settings.follow_metrics_host, settings.follow_metrics_port)
        except OSError as exc:
            where = f"{settings.follow_metrics_host}:{settings.follow_metrics_port}"
            typer.echo(
                f"yibao review follow: cannot serve metrics on {where} ({exc.strerror}); "
                "choose another FOLLOW_METRICS_PORT (0: no metrics endpoint)",
                err=True,
            )
            raise typer.Exit(2) from None
    server = failures.bootstrap(bootstrap)
    # One line now if there is no broker; once running, the Kafka client's own
    # reconnection errors stay in the log (failures.using would silence them).
    with using(BROKER):
        check_broker(server, settings.connect_timeout_s)
    stats = asyncio.run(follow(server, sessions, until_idle_s=until_idle, metrics=metrics))
    loaded = ", ".join(f"{k} {v}" for k, v in sorted(stats.loaded.items()))
    typer.echo(f"loaded {loaded or 'nothing'} in {stats.batches} batches; {stats.bad} bad")


@review_app.command("reset-offsets")
def reset_offsets_cmd(
    to: Annotated[
        ResetTo,
        typer.Option(
            "--to",
            help="earliest: re-read every partition from the beginning; "
            "latest: skip everything now on the topics.",
        ),
    ],
    bootstrap: Annotated[
        str | None,
        typer.Option(help="Kafka bootstrap servers (default: KAFKA_BOOTSTRAP), for latest."),
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Rewrite the follower's stored offsets (stop `yibao review follow` first)."""
    import asyncio

    from review.follow import end_offsets, reset_offsets
    from yibao import failures

    sessions = _sessions(database_url)  # the database first: it is what changes
    new = None
    if to is ResetTo.latest:
        server = failures.bootstrap(bootstrap)
        try:
            with using(BROKER):
                new = asyncio.run(end_offsets(server))
        except LookupError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    db = sessions()
    try:
        changes = reset_offsets(db, new)
    finally:
        db.close()

    def show(offset: int | None) -> str:
        return "beginning" if offset is None else str(offset)

    for c in changes:  # no stored offset means the follower starts at the beginning
        typer.echo(f"{c.topic}[{c.partition}]: {show(c.old)} -> {show(c.new)}")
    if to is ResetTo.earliest:
        typer.echo(
            f"{len(changes)} stored offsets removed: the follower reads every partition "
            "from the beginning"
        )
    else:
        typer.echo(
            f"{len(changes)} stored offsets changed; {len(new or {})} partitions now at their end"
        )


@users_app.command("add")
def add_user(
    name: str,
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    password: Annotated[
        str | None, typer.Option(help="Password; else $YIBAO_USER_PASSWORD, else a prompt.")
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Create a user, or reset an existing user's role and password."""
    from review.errors import InvalidInput
    from review.services import users

    try:
        users.check_role(role)
    except InvalidInput as exc:
        raise typer.BadParameter(str(exc), param_hint="--role") from None
    password = password or os.environ.get("YIBAO_USER_PASSWORD")
    if not password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        users.check_password(password)
    except InvalidInput as exc:
        raise typer.BadParameter(str(exc), param_hint="--password") from None
    db = _session(database_url)
    try:
        users.save_user(db, name, role, password)
    finally:
        db.close()
    typer.echo(f"user {name} ({role}) saved")


@users_app.command("disable")
def disable_user(name: str, database_url: DatabaseOpt = None) -> None:
    """Disable a user: their sessions stop working at the next request."""
    from review.errors import NotFound
    from review.services import users

    db = _session(database_url)
    try:
        users.disable_user(db, name)
    except NotFound as exc:
        raise typer.BadParameter(str(exc), param_hint="NAME") from None
    finally:
        db.close()
    typer.echo(f"user {name} disabled")


def _lockout_policy() -> Any:
    from datetime import timedelta

    from review.services.users import LockoutPolicy
    from yibao.settings import get_settings

    settings = get_settings()
    return LockoutPolicy(
        per_user=settings.review_login_failures_per_user,
        per_address=settings.review_login_failures_per_address,
        window=timedelta(minutes=settings.review_lockout_minutes),
    )


@users_app.command("unlock")
def unlock_user(
    name: Annotated[str | None, typer.Argument(help="User name to unlock.")] = None,
    address: Annotated[
        str | None, typer.Option(help="Client address to unlock (all its user names).")
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Lift a login lock-out: forget the failed logins of a user and/or an address."""
    from review.errors import InvalidInput
    from review.services import users

    db = _session(database_url)
    try:
        removed = users.unlock(db, name, address)
    except InvalidInput as exc:
        raise typer.BadParameter(str(exc), param_hint="NAME or --address") from None
    finally:
        db.close()
    typer.echo(f"{removed} failed logins forgotten")


@users_app.command("list")
def list_users(database_url: DatabaseOpt = None) -> None:
    """Users with role, state and failed logins in the lock-out window."""
    from review.services import users

    policy = _lockout_policy()
    db = _session(database_url)
    try:
        rows = users.list_users(db, policy)
    finally:
        db.close()
    typer.echo(f"{'name':<24} {'role':<15} {'state':<9} failed logins")
    for row in rows:
        state = "active" if row.active else "disabled"
        locked = " (locked out)" if row.locked_out else ""
        typer.echo(f"{row.name:<24} {row.role:<15} {state:<9} {row.recent_failures}{locked}")


@labels_app.command("export")
def labels_export_cmd(
    output: Annotated[
        str, typer.Option("-o", "--output", help="Label rows, JSON Lines (- = stdout).")
    ] = "-",
    database_url: DatabaseOpt = None,
) -> None:
    """Write decided claims as label rows for `yibao train --labels`."""
    import sys

    from review.labels import label_lines

    db = _session(database_url)
    try:
        count = 0
        with contextlib.ExitStack() as stack:
            handle = (
                sys.stdout
                if output == "-"
                else stack.enter_context(open(output, "w", encoding="utf-8"))
            )
            for line in label_lines(db):
                handle.write(line)
                count += 1
            handle.flush()
    finally:
        db.close()
    typer.echo(f"{count} labels written to {'stdout' if output == '-' else output}", err=True)


def register(app: typer.Typer) -> None:
    """Add the `review`, `users` and `labels` groups to the CLI."""
    app.add_typer(review_app, name="review")
    app.add_typer(users_app, name="users")
    app.add_typer(labels_app, name="labels")
