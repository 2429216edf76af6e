"""Starting, watching and stopping the demo's long-running processes.

Each child runs in its own session with its output in a log file, so Ctrl-C
reaches only the supervisor, which then stops every child it started, newest
first: SIGTERM, a grace period, then SIGKILL.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


class StartError(RuntimeError):
    """A child process died or did not become ready; the message names its log."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class Supervisor:
    """Owns the child processes of one demo run."""

    log_dir: Path
    env: dict[str, str]
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Child:
        """Start ``argv`` in its own session, with ``env`` (default: the supervisor's)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as sink:
            process = subprocess.Popen(
                argv,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env if env is None else env,
                start_new_session=True,
            )
        child = Child(name, process, log_path)
        self.children.append(child)
        log.info("started %s (pid %d), log %s", name, process.pid, log_path)
        return child

    def wait_until(self, child: Child, ready: object, timeout: float, what: str) -> None:
        """Poll ``ready()`` until true; fail early if the child dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = child.process.poll()
            if code is not None:
                raise StartError(f"{child.name} exited with code {code}; see {child.log_path}")
            if ready():  # type: ignore[operator]
                return
            time.sleep(0.5)
        raise StartError(f"{child.name} was not {what} after {timeout:.0f} s; see {child.log_path}")

    def stop_all(self, grace: float = 15.0) -> None:
        for child in reversed(self.children):
            if child.process.poll() is None:
                os.killpg(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in reversed(self.children):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", child.name, grace)
                os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait()
        self.children.clear()


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            status: int = response.status  # typeshed types urlopen's answer as Any
            return 200 <= status < 400
    except (urllib.error.URLError, OSError):
        return False


def free_port_from(preferred: int, host: str = "127.0.0.1") -> int:
    """``preferred`` when free, else the next free port above it."""
    port = preferred
    while port_open(host, port):
        port += 1
    return port
