"""The Faust worker of ``yibao stream``: bounded stop, exit codes, quiet logs during outages.

Faust's worker already exits with code 1 after a service crashed (it re-raises
the crash reason once stopped), but its stop waits for Kafka clients that hang
while the broker is unreachable. :class:`StreamWorker` arms a
:class:`streams.lifecycle.StopDeadline` as soon as the worker starts to stop,
and rate-limits the Kafka clients' connection errors
(:class:`streams.logs.ReconnectLogFilter`).
"""

from __future__ import annotations

import errno
import logging
import socket
import sys
from typing import Any

import faust

from streams.lifecycle import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_STOP_TIMEOUT,
    StopDeadline,
    describe_failure,
)
from streams.logs import install_reconnect_filter


class StreamWorker(faust.Worker):
    """A Faust worker hosting a settlement agent.

    Args:
        app: the Faust app (``streams.app.create_app``).
        agent: its :class:`streams.agents.SettlementAgent`.
        stop_seconds: longest a stop may take before the process exits anyway.
        **kwargs: for ``faust.Worker``.
    """

    def __init__(self, app: Any, agent: Any, *, stop_seconds: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.settlement_agent = agent
        self.stop_deadline = StopDeadline(stop_seconds)

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        install_reconnect_filter(logger)

    def on_worker_shutdown(self) -> None:
        super().on_worker_shutdown()
        self.stop_deadline.arm(self.exit_code, self.exit_reason)

    def exit_code(self) -> int:
        """1 when the agent failed (or a service crashed), else 2 (a stop that overran)."""
        failed = self.settlement_agent.failure is not None or self.crash_reason is not None
        return EXIT_FAILED if failed else EXIT_STOP_TIMEOUT

    def exit_reason(self) -> str:
        failure = self.settlement_agent.failure or self.crash_reason
        if failure is not None:
            return describe_failure(failure)
        return "asked to stop; the Kafka clients did not close in time (broker unreachable?)"


def run_worker(worker: StreamWorker) -> None:
    """Run until stopped; exit 0 on a graceful stop, 1 with a one-line reason after a failure."""
    try:
        worker.execute_from_commandline()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else EXIT_FAILED
        if code != EXIT_OK or worker.settlement_agent.failure is not None:
            code = worker.exit_code()
            print(f"yibao stream: exit {code}: {worker.exit_reason()}", file=sys.stderr)
        raise SystemExit(code) from None


def web_port_problem(host: str, port: int) -> str | None:
    """Why the worker could not listen on ``host:port`` (one line naming the setting), or None.

    Tried before the worker starts: Faust would otherwise stop with a traceback
    from deep inside its web server. As the web server does, the address may be
    reused (a port in TIME_WAIT is free).
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is in use (another worker?); "
                    "choose another with STREAM_WEB_PORT or --web-port"
                )
            return (
                f"cannot listen on {host}:{port} ({exc.strerror}); "
                "check STREAM_WEB_HOST and STREAM_WEB_PORT (or --web-port)"
            )
    return None
