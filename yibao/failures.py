"""One-line failures for the ``yibao`` command: what was tried and what to check, no traceback.

A command that cannot reach the Kafka broker, the MLflow tracking store or the
review database ends with one line on stderr and exit code 1 (``--debug``
shows the traceback). The command resolves each service's address with
``bootstrap``, ``tracking_uri`` and ``database_url`` below (its option, else the
settings), so the message names the address actually tried.

Exception tree::

    ServiceUnavailable      a service did not answer or refused the request
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

import typer
import typer.core

#: Services a command may use; ``SERVICES_USED`` in ``yibao.commands`` maps commands to them.
BROKER = "broker"
MLFLOW = "mlflow"
DATABASE = "database"

_HINTS = {
    BROKER: (
        "the Kafka broker",
        "check that it runs (`yibao status`), or set --bootstrap or KAFKA_BOOTSTRAP",
    ),
    MLFLOW: (
        "the MLflow tracking store",
        "check that the server runs, or set --tracking-uri or MLFLOW_TRACKING_URI",
    ),
    DATABASE: (
        "the review database",
        "check that it runs and is writable, or set --database-url or DATABASE_URL",
    ),
}

# Loggers that speak at INFO about routine work (migrations, HTTP retries, a Dask
# cluster starting and stopping).
_CHATTY = ("alembic", "urllib3", "mlflow", "httpx", "distributed")
# The Kafka clients log each failed connection attempt at ERROR, with a traceback:
# a client command (not the worker) says the outcome in one line instead.
_KAFKA_CLIENTS = ("aiokafka", "kafka", "asyncio")


class ServiceUnavailable(Exception):
    """A service did not answer, or refused what the command asked of it."""

    def __init__(self, service: str, target: str, detail: str) -> None:
        what, check = _HINTS[service]
        super().__init__(f"cannot use {what} at {target}: {detail}; {check}")
        self.service = service


class _State:
    debug = False
    targets: dict[str, str] = {}  # noqa: RUF012 - one per process, set as commands resolve them


def set_debug(debug: bool) -> None:
    """``--debug``: tracebacks and library logging; otherwise both stay quiet."""
    _State.debug = debug
    level = logging.NOTSET if debug else logging.WARNING
    for name in _CHATTY:
        logging.getLogger(name).setLevel(level)


def debugging() -> bool:
    return _State.debug


def bootstrap(option: str | None) -> str:
    """The Kafka bootstrap servers: the command's option, else KAFKA_BOOTSTRAP."""
    from yibao.settings import get_settings

    value = option or get_settings().kafka_bootstrap
    _State.targets[BROKER] = value
    return value


def tracking_uri(option: str | None) -> str:
    """The MLflow tracking URI (option, else MLFLOW_TRACKING_URI, else the local store).

    MLflow's HTTP requests are bounded by CONNECT_TIMEOUT_S (``bound_mlflow_requests``).
    """
    from yibao.settings import get_settings

    settings = get_settings()
    value = option or settings.tracking_uri()
    _State.targets[MLFLOW] = value
    bound_mlflow_requests(settings.connect_timeout_s)
    return value


def bound_mlflow_requests(timeout_s: float) -> None:
    """No retries and a ``timeout_s`` timeout for MLflow's HTTP requests, unless the
    environment sets MLFLOW_HTTP_REQUEST_MAX_RETRIES / MLFLOW_HTTP_REQUEST_TIMEOUT
    (MLflow reads both at each request; its defaults retry a dead server for minutes).
    """
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(max(1, round(timeout_s))))


def database_url(option: str | None) -> str:
    """The review database URL (option, else DATABASE_URL, else the SQLite file in DATA_DIR).

    A PostgreSQL URL without ``connect_timeout`` gets CONNECT_TIMEOUT_S.
    """
    from sqlalchemy.engine import make_url

    from yibao.settings import get_settings

    settings = get_settings()
    value = option or settings.review_database_url()
    url = make_url(value)
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        url = url.update_query_dict(
            {"connect_timeout": str(max(1, int(settings.connect_timeout_s)))}
        )
        value = url.render_as_string(hide_password=False)
    _State.targets[DATABASE] = url.render_as_string(hide_password=True)
    return value


@contextlib.contextmanager
def using(service: str) -> Iterator[None]:
    """Report a failure of ``service`` inside the block as ``ServiceUnavailable``.

    The Kafka clients' own error lines (one per connection attempt, with a
    traceback) are silenced inside a broker block unless ``--debug``, and after
    it too when it failed: a client left unclosed would complain at exit.

    A failure is an exception raised by the service's client library (by module),
    an ``OSError`` (refused, unwritable), a ``TimeoutError`` or an ``ImportError``
    (its driver is not installed); anything else, such as this project's own
    errors, passes unchanged.
    """
    quieted: list[tuple[logging.Logger, int]] = []
    if service == BROKER and not _State.debug:
        for name in _KAFKA_CLIENTS:
            logger = logging.getLogger(name)
            quieted.append((logger, logger.level))
            logger.setLevel(logging.CRITICAL)
    try:
        yield
    except Exception as exc:
        if _State.debug or not (
            isinstance(exc, (OSError, TimeoutError, ImportError))
            or _library_service(exc) == service
        ):
            raise
        raise ServiceUnavailable(service, _State.targets.get(service, "?"), _detail(exc)) from exc
    for logger, level in quieted:
        logger.setLevel(level)


def _detail(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = text[0] if text else ""
    name = type(exc).__name__
    if not first or first.startswith(name):
        return first or name
    return f"{name}: {first}"


_LIBRARIES = {
    "kafka": BROKER,
    "aiokafka": BROKER,
    "mlflow": MLFLOW,
    "requests": MLFLOW,
    "urllib3": MLFLOW,
    "sqlalchemy": DATABASE,
    "alembic": DATABASE,
    "psycopg": DATABASE,
    "psycopg2": DATABASE,
    "sqlite3": DATABASE,
}


def _library_service(exc: BaseException) -> str | None:
    """The service whose client library defines the exception's class."""
    return _LIBRARIES.get(type(exc).__module__.split(".")[0])


def _service_of(exc: BaseException) -> str | None:
    """The service an exception, or one it came from, belongs to."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _library_service(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None


def one_line(exc: BaseException, command: str) -> str:
    """The message for an exception that ended ``command``."""
    if isinstance(exc, ServiceUnavailable):
        return f"{command}: {exc}"
    service = _service_of(exc)
    if service is not None and service in _State.targets:
        return f"{command}: {ServiceUnavailable(service, _State.targets[service], _detail(exc))}"
    return f"{command}: unexpected {_detail(exc)} (--debug shows the traceback)"


class FriendlyGroup(typer.core.TyperGroup):
    """The root group: an error escaping a command becomes one line and exit code 1."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click: its Context is private
        command = " ".join(["yibao", *_invoked(ctx)])  # before invoke() consumes the args
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):  # usage errors, exit codes
            raise
        except Exception as exc:
            if _State.debug:
                raise
            typer.echo(one_line(exc, command), err=True)
            raise typer.Exit(1) from None


def _invoked(ctx: Any) -> list[str]:
    """The subcommand names given on the command line, e.g. ``["dlq", "export"]``."""
    names: list[str] = []
    command: Any = ctx.command
    # Typer's vendored click keeps the subcommand's name apart until invoke() runs.
    for arg in [*getattr(ctx, "_protected_args", []), *ctx.args]:
        if not hasattr(command, "commands") or arg not in command.commands:
            break
        names.append(arg)
        command = command.commands[arg]
    return names
