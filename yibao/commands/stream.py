"""CLI adapter for the stream service: ``yibao broker``, ``stream``, ``replay``, ``topic-dump``,
``dlq export|resend|mark-handled``.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from yibao.failures import BROKER, using

if TYPE_CHECKING:
    from yibao.settings import Settings

BootstrapOpt = Annotated[
    str | None,
    typer.Option("--bootstrap", help="Kafka bootstrap servers (default: KAFKA_BOOTSTRAP)."),
]


def broker(
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1.")] = 9092,
    partitions: Annotated[
        int | None, typer.Option(help="Create the service's topics with this many partitions.")
    ] = None,
) -> None:
    """Run the embedded Tansu broker (memory storage) until interrupted."""
    from streams.broker import create_topics, describe_exit, start_broker
    from streams.topics import topic_layout
    from yibao.settings import get_settings

    b = start_broker(port)
    n = partitions or get_settings().stream_partitions
    # Topics are made on a daemon thread while Tansu is watched: should Tansu die
    # meanwhile, the admin client would retry for half a minute before failing.
    failed: list[BaseException] = []

    def _create() -> None:
        try:
            create_topics(b.bootstrap, topic_layout(n))
        except Exception as exc:  # reported below, with Tansu's state
            failed.append(exc)

    maker = threading.Thread(target=_create, name="create-topics", daemon=True)
    maker.start()
    while maker.is_alive() and b.process.poll() is None:
        maker.join(0.1)
    if b.process.poll() is None and failed:
        b.stop()
        typer.echo(f"yibao broker: creating the topics failed: {failed[0]}", err=True)
        raise typer.Exit(code=1)
    if b.process.poll() is None:
        typer.echo(f"broker listening on {b.bootstrap} (memory storage); Ctrl-C stops it")

    def _terminate(*_: object) -> None:
        raise KeyboardInterrupt  # leave wait() below; the finally clause stops the broker

    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = b.process.wait()
    except KeyboardInterrupt:
        return
    finally:
        b.stop()
    # Tansu stopped on its own: everything it held is gone; say so and fail.
    typer.echo(
        f"yibao broker: tansu (pid {b.process.pid}) {describe_exit(code)}; "
        f"nothing listens on {b.bootstrap} any more and its topics are lost",
        err=True,
    )
    raise typer.Exit(code=1)


def stream(
    web_port: Annotated[int | None, typer.Option(help="Health/metrics port.")] = None,
    app_id: Annotated[str, typer.Option(help="Faust app id (consumer group prefix).")] = (
        "yibao-stream"
    ),
    score: Annotated[bool, typer.Option(help="Score with the champion model.")] = True,
    max_batch: Annotated[int | None, typer.Option(help="Messages per batch.")] = None,
    log_json: Annotated[bool, typer.Option(help="JSON log lines.")] = True,
    dip: Annotated[
        Path | None,
        typer.Option("--dip", help="DIP policy directory (default: DIP_DIR, else bundled)."),
    ] = None,
    bootstrap: BootstrapOpt = None,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri",
            help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else the store in DATA_DIR).",
        ),
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Worker processes of the group on this machine, web ports PORT..PORT+N-1 "
            "(default: STREAM_PROCESSES, 1).",
        ),
    ] = None,
) -> None:
    """Run a stream worker: settle and score claims from Kafka (several may share a group).

    Without MLflow the worker scores with the red flags alone and keeps asking for
    the champion; without a broker it does not start. With --processes N it
    runs N workers of one group (one per core) and stops them together.
    """
    from dip.errors import DipPolicyError
    from streams.app import create_app, group_id
    from streams.lifecycle import EXIT_DATA_LOST, data_loss_marker, refusal
    from streams.logs import logging_config
    from streams.status import check_broker
    from streams.worker import StreamWorker, run_worker, web_port_problem
    from yibao import failures
    from yibao.settings import get_settings

    settings = get_settings()
    if dip is not None:
        settings = settings.model_copy(update={"dip_dir": dip})
    settings = settings.model_copy(
        update={
            "kafka_bootstrap": failures.bootstrap(bootstrap),
            "mlflow_tracking_uri": tracking_uri or settings.mlflow_tracking_uri,
        }
    )
    failures.bound_mlflow_requests(settings.connect_timeout_s)
    port = web_port or settings.stream_web_port
    n_processes = processes or settings.stream_processes
    for p in range(port, port + n_processes):
        busy = web_port_problem(settings.stream_web_host, p)
        if busy:
            typer.echo(f"yibao stream: {busy}", err=True)
            raise typer.Exit(2)
    refused = refusal(data_loss_marker(settings.data_dir, group_id(app_id)))
    if refused:
        typer.echo(f"yibao stream: refusing to start: {refused}", err=True)
        raise typer.Exit(EXIT_DATA_LOST)
    if n_processes > 1:
        with using(BROKER):  # once here, rather than once per worker
            check_broker(settings.kafka_bootstrap, settings.connect_timeout_s)
        worker_options = _worker_options(app_id, score, max_batch, log_json, dip, settings)
        raise typer.Exit(_run_processes(worker_options, n_processes, port, settings, log_json))
    try:
        app, agent = create_app(
            settings, app_id=app_id, web_port=web_port, score=score, max_batch=max_batch
        )
    except DipPolicyError as exc:
        typer.echo(f"yibao stream: broken DIP policy: {exc}", err=True)
        raise typer.Exit(2) from None
    with using(BROKER):  # in one line now, rather than in the worker's logs below
        check_broker(settings.kafka_bootstrap, settings.connect_timeout_s)
    worker = StreamWorker(
        app,
        agent,
        stop_seconds=settings.stream_stop_seconds,
        loglevel=logging.INFO,
        logging_config=logging_config(logging.INFO) if log_json else None,
        quiet=True,
        # A traceback printed by a thread would become one log line per write (per
        # character, for a few of Faust's client threads at shutdown): print it plainly.
        redirect_stdouts=False,
    )
    run_worker(worker)  # exit codes: docs/operator-runbook.md


def _worker_options(
    app_id: str,
    score: bool,
    max_batch: int | None,
    log_json: bool,
    dip: Path | None,
    settings: Settings,
) -> list[str]:
    """The options of one worker of ``--processes N`` (all but its web port): this command's."""
    options = [
        "--app-id",
        app_id,
        "--score" if score else "--no-score",
        "--log-json" if log_json else "--no-log-json",
        "--bootstrap",
        settings.kafka_bootstrap,
        "--processes",
        "1",
    ]
    if max_batch:
        options += ["--max-batch", str(max_batch)]
    if dip is not None:
        options += ["--dip", str(dip)]
    if settings.mlflow_tracking_uri:
        options += ["--tracking-uri", settings.mlflow_tracking_uri]
    return options


def _run_processes(
    worker_options: list[str], n: int, port: int, settings: Settings, log_json: bool
) -> int:
    """Run ``n`` workers of one group (streams/processes.py); the command's exit code."""
    import logging.config
    import sys

    from streams.logs import logging_config
    from streams.processes import WorkerSet, worker_specs

    if log_json:
        logging.config.dictConfig(logging_config(logging.INFO))
    else:
        logging.basicConfig(level=logging.INFO)
    partitions = settings.stream_partitions
    if n > partitions:
        logging.getLogger("yibao.stream").warning(
            "%d processes for %d partitions: %d will own none and sit idle",
            n,
            partitions,
            n - partitions,
        )
    base = [sys.executable, "-m", "yibao.cli", "stream", *worker_options]
    return WorkerSet(worker_specs(base, n, port), settings.stream_stop_seconds).run()


def replay(
    claims: Annotated[Path, typer.Argument(metavar="CLAIMS.jsonl", help="Claims, one a line.")],
    rate: Annotated[float | None, typer.Option(help="Claims per second (default: max).")] = None,
    bootstrap: BootstrapOpt = None,
) -> None:
    """Send a claims file to the claim topics (realtime / inter-city, keyed by person)."""
    from streams.replay import claim_lines
    from streams.replay import replay as run_replay
    from yibao import failures
    from yibao.settings import get_settings

    if not claims.is_file():
        typer.echo(f"yibao: cannot read {claims}", err=True)
        raise typer.Exit(code=2)
    server = failures.bootstrap(bootstrap)
    with using(BROKER):
        counts = run_replay(
            claim_lines(claims),
            server,
            rate=rate,
            connect_timeout_s=get_settings().connect_timeout_s,
        )
    for topic, n in sorted(counts.items()):
        typer.echo(f"{topic}: {n}")


def topic_dump(
    topic: Annotated[str, typer.Argument(help="Topic to read, e.g. settlements.")],
    output: Annotated[str, typer.Option("-o", "--output", help="JSON Lines file (- = stdout).")] = (
        "-"
    ),
    idle: Annotated[float, typer.Option(help="Stop after this many seconds without news.")] = 2.0,
    bootstrap: BootstrapOpt = None,
) -> None:
    """Write every message of a topic, one a line (`yibao clearing` reads a settlements dump)."""
    import sys

    from streams.replay import read_topic
    from yibao import failures
    from yibao.settings import get_settings

    server = failures.bootstrap(bootstrap)
    with using(BROKER):
        records = read_topic(
            server,
            topic,
            idle=idle,
            timeout=3600,
            connect_timeout_s=get_settings().connect_timeout_s,
        )
    out = sys.stdout.buffer if output == "-" else open(output, "wb")  # noqa: SIM115
    try:
        for r in records:
            if r.value is not None:
                out.write(r.value.rstrip(b"\n") + b"\n")
    finally:
        if output != "-":
            out.close()
        else:
            out.flush()
    typer.echo(f"{len(records)} messages from {topic}", err=True)


def dlq_export(
    output: Annotated[
        str,
        typer.Option("-o", "--output", help="Dead letters, one JSON object a line (- = stdout)."),
    ] = "-",
    claims_out: Annotated[
        Path | None,
        typer.Option(
            help="Also write the original messages alone, one a line, for `yibao replay`."
        ),
    ] = None,
    idle: Annotated[float, typer.Option(help="Stop after this many seconds without news.")] = 2.0,
    unhandled: Annotated[
        bool,
        typer.Option(
            "--unhandled",
            help="Leave out dead letters already re-sent or marked handled (`yibao dlq resend`, "
            "`yibao dlq mark-handled`).",
        ),
    ] = False,
    bootstrap: BootstrapOpt = None,
) -> None:
    """Export claims.dlq with reasons, source and claim id, to fix and re-send with `yibao replay`.

    The files hold the original messages, identity numbers included: protect them
    like claim files. What is printed here is masked.
    """
    import json
    import sys

    from streams.dlq import claim_values, read_dead_letters, summary_lines
    from yibao import failures
    from yibao.settings import get_settings

    server = failures.bootstrap(bootstrap)
    try:
        with using(BROKER):
            rows = read_dead_letters(
                server, idle=idle, connect_timeout_s=get_settings().connect_timeout_s
            )
            if unhandled:
                from streams.dlq_actions import place_of, read_handled

                handled = read_handled(server, connect_timeout_s=get_settings().connect_timeout_s)
                rows = [r for r in rows if place_of(r) not in handled]
    except LookupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if output == "-":
        sys.stdout.writelines(lines)
        sys.stdout.flush()
    else:
        with open(output, "w", encoding="utf-8") as sink:
            sink.writelines(lines)
    for line in summary_lines(rows):
        typer.echo(line, err=True)
    if output != "-":
        typer.echo(f"written to {output}", err=True)
    if claims_out is not None:
        values = claim_values(rows)
        claims_out.write_bytes(b"".join(v + b"\n" for v in values))
        typer.echo(f"{len(values)} original messages written to {claims_out}", err=True)


ClaimIdsOpt = Annotated[
    list[str] | None,
    typer.Option("--claim-id", help="A dead letter's claim id (repeat for more)."),
]
PlacesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--offset",
        metavar="PARTITION:OFFSET",
        help="A dead letter's place on claims.dlq, as `yibao dlq export` shows it under "
        "dlq (repeat for more).",
    ),
]


def _chosen(
    server: str, claim_ids: list[str] | None, offsets: list[str] | None, idle: float
) -> list[dict[str, object]]:
    """The dead letters selected by claim id and place; exit 2 if a selector finds none."""
    from streams.dlq import read_dead_letters
    from streams.dlq_actions import parse_place, select
    from yibao.settings import get_settings

    if not claim_ids and not offsets:
        raise typer.BadParameter("choose dead letters with --claim-id or --offset")
    try:
        places = [parse_place(o) for o in offsets or ()]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--offset") from None
    with using(BROKER):
        rows = read_dead_letters(
            server, idle=idle, connect_timeout_s=get_settings().connect_timeout_s
        )
    chosen = select(rows, claim_ids or (), places)
    if chosen.unmatched:
        typer.echo(f"error: no such dead letter: {', '.join(chosen.unmatched)}", err=True)
        raise typer.Exit(2)
    return chosen.rows


def dlq_resend(
    claim_id: ClaimIdsOpt = None,
    offset: PlacesOpt = None,
    again: Annotated[
        bool, typer.Option("--again", help="Also re-send dead letters handled before.")
    ] = False,
    note: Annotated[str, typer.Option(help="Why, kept with the handled record.")] = "",
    idle: Annotated[float, typer.Option(help="Stop reading after this many idle seconds.")] = 2.0,
    bootstrap: BootstrapOpt = None,
) -> None:
    """Re-send chosen dead letters, unchanged, to the claim log and mark them handled.

    For a claim that failed for a reason since removed (a policy added, a fault
    fixed); a claim that must be corrected goes through `yibao dlq export`, the
    fix, and `yibao replay`. Each message carries a yibao.resent_from header
    naming its dead letter.
    """
    from streams.dlq_actions import mark_handled, place_of, read_handled, resend
    from yibao import failures
    from yibao.settings import get_settings

    timeout = get_settings().connect_timeout_s
    server = failures.bootstrap(bootstrap)
    rows = _chosen(server, claim_id, offset, idle)
    with using(BROKER):
        handled = read_handled(server, connect_timeout_s=timeout)
    done_before = [r for r in rows if place_of(r) in handled]
    if done_before and not again:
        listed = ", ".join(
            f"{r['claim_id']} ({handled[place_of(r)]['action']} {handled[place_of(r)]['at']})"
            for r in done_before
        )
        typer.echo(f"error: handled before: {listed}; --again re-sends them", err=True)
        raise typer.Exit(2)
    with using(BROKER):
        sent = resend(server, rows, connect_timeout_s=timeout)
        mark_handled(server, rows, action="resent", note=note, connect_timeout_s=timeout)
    typer.echo(f"{sent} claims re-sent; {len(rows)} dead letters marked handled")


def dlq_mark_handled(
    claim_id: ClaimIdsOpt = None,
    offset: PlacesOpt = None,
    note: Annotated[str, typer.Option(help="What was done, e.g. the ticket number.")] = "",
    idle: Annotated[float, typer.Option(help="Stop reading after this many idle seconds.")] = 2.0,
    bootstrap: BootstrapOpt = None,
) -> None:
    """Mark chosen dead letters handled, so that `yibao dlq export --unhandled` leaves them out."""
    from streams.dlq_actions import mark_handled
    from yibao import failures
    from yibao.settings import get_settings

    server = failures.bootstrap(bootstrap)
    rows = _chosen(server, claim_id, offset, idle)
    with using(BROKER):
        n = mark_handled(
            server,
            rows,
            action="handled",
            note=note,
            connect_timeout_s=get_settings().connect_timeout_s,
        )
    typer.echo(f"{n} dead letters marked handled")


def register(app: typer.Typer) -> None:
    """Add the stream commands to the CLI."""
    app.command("broker")(broker)
    app.command("stream")(stream)
    app.command("replay")(replay)
    app.command("topic-dump")(topic_dump)
    dlq = typer.Typer(help="The dead-letter topic claims.dlq: messages the worker could not read.")
    dlq.command("export")(dlq_export)
    dlq.command("resend")(dlq_resend)
    dlq.command("mark-handled")(dlq_mark_handled)
    app.add_typer(dlq, name="dlq")
