"""``yibao stream --processes N``: N worker processes of one consumer group, started and
stopped together.

One Python process settles and scores on one core at most (the feature fold
holds the GIL). The claim topics' partitions are the unit of work and state, so
more cores are used by more workers in the same group: each owns some
partitions, their changelog and their people's feature memory
(docs/stream.md, "Several processes"). This module is only the supervisor: it
starts ``yibao stream`` N times with web ports ``port .. port+N-1``, forwards
SIGINT/SIGTERM to every worker, and when one worker ends on its own, stops the
others and exits with that worker's code, so that whatever restarts the command
(systemd, compose) restarts the whole set.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

from streams.broker import describe_exit, die_with_parent
from streams.lifecycle import EXIT_FAILED

log = logging.getLogger(__name__)

#: seconds the supervisor waits beyond a worker's own bounded stop before SIGKILL
STOP_MARGIN_SECONDS = 10.0


@dataclass
class WorkerSpec:
    """One worker process to start: its index, web port and command line."""

    index: int
    port: int
    argv: list[str]


def worker_specs(base_argv: Sequence[str], processes: int, first_port: int) -> list[WorkerSpec]:
    """The command of each of ``processes`` workers: ``base_argv`` plus its own web port."""
    return [
        WorkerSpec(i, first_port + i, [*base_argv, "--web-port", str(first_port + i)])
        for i in range(processes)
    ]


class WorkerSet:
    """Runs worker processes until a signal or until one of them ends.

    Args:
        specs: the workers to start.
        stop_seconds: a worker's own bounded stop (``STREAM_STOP_SECONDS``); the
            supervisor SIGKILLs a worker still running ``STOP_MARGIN_SECONDS`` later.
        poll_seconds: how often the workers are looked at.
    """

    def __init__(
        self, specs: Sequence[WorkerSpec], stop_seconds: float, poll_seconds: float = 0.2
    ) -> None:
        self.specs = list(specs)
        self.stop_seconds = stop_seconds
        self.poll_seconds = poll_seconds
        self.processes: list[subprocess.Popen[bytes]] = []
        self._signalled: int | None = None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signalled = signum

    def run(self) -> int:
        """Start every worker, wait, stop them all; the exit code for the command.

        0 when every worker stopped gracefully after a signal; otherwise the
        first non-zero code (a worker that ended on its own with 0 counts as 1:
        nobody asked it to stop).
        """
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for spec in self.specs:
                # Same process group: a terminal's Ctrl-C reaches the workers too (they
                # stop once however often asked); die_with_parent covers a SIGKILLed
                # supervisor on Linux.
                proc = subprocess.Popen(spec.argv, preexec_fn=die_with_parent())
                self.processes.append(proc)
                log.info(
                    "stream worker process started",
                    extra={"worker": spec.index, "worker_pid": proc.pid, "web_port": spec.port},
                )
            ended = self._wait()
        finally:
            code = self._stop_all()
            for s, handler in previous.items():
                signal.signal(s, handler)
        if ended is None:  # asked to stop
            return code
        index, own = ended
        proc = self.processes[index]
        print(
            f"yibao stream: worker process {index} (pid {proc.pid}) {describe_exit(own)} "
            "on its own; the other workers were stopped",
            file=sys.stderr,
        )
        return own if own > 0 else EXIT_FAILED

    def _wait(self) -> tuple[int, int] | None:
        """Until a signal (None) or until a worker ends: (its index, its exit code)."""
        while self._signalled is None:
            for i, proc in enumerate(self.processes):
                code = proc.poll()
                if code is not None:
                    return i, code
            time.sleep(self.poll_seconds)
        return None

    def _stop_all(self) -> int:
        """SIGTERM every running worker, SIGKILL those still running after the deadline;
        the highest exit code of the workers that were asked to stop."""
        asked = [p for p in self.processes if p.poll() is None]
        for proc in asked:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_seconds + STOP_MARGIN_SECONDS
        worst = 0
        for proc in asked:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker process %d did not stop; killing it", proc.pid)
                proc.kill()
                proc.wait()
            code = proc.returncode
            worst = max(worst, code if code >= 0 else EXIT_FAILED)
        return worst
