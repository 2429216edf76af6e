"""Helpers to drive real stream workers from tests and benchmarks (subprocesses, topic readers).

Nothing here is used by the worker itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.broker import free_port
from streams.replay import read_topic


@dataclass
class WorkerProcess:
    """A ``yibao stream`` worker started as a subprocess."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def status(self) -> dict[str, Any] | None:
        """The worker's /ready answer, or None when it does not answer (yet)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready", timeout=2) as r:
                return json.load(r)  # type: ignore[no-any-return]
        except OSError as exc:
            body = getattr(exc, "read", None)
            if body is not None:  # HTTP 503 (not ready) still carries the status
                try:
                    return json.loads(body())  # type: ignore[no-any-return]
                except ValueError:
                    return None
            return None

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
            return r.read()  # type: ignore[no-any-return]

    def wait_ready(self, timeout: float = 90.0) -> dict[str, Any]:
        """Wait until the worker owns partitions with recovered state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}: {self.tail()}")
            st = self.status()
            if st and st.get("ready"):
                return st
            time.sleep(0.2)
        raise TimeoutError(f"worker not ready after {timeout:.0f} s: {self.tail()}")

    def wait_processed(self, n: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.status()
            if st and st.get("processed", 0) >= n:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {self.tail()}")
            time.sleep(0.1)
        raise TimeoutError(f"worker processed fewer than {n} claims in {timeout:.0f} s")

    def kill(self) -> None:
        """SIGKILL: no chance to flush or commit."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for a graceful exit; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""


def start_worker(
    bootstrap: str,
    log_dir: Path,
    *,
    app_id: str = "yibao-stream",
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = ("--no-score",),
) -> WorkerProcess:
    """Start ``yibao stream`` against ``bootstrap`` with its own web port and log file."""
    port = free_port()
    full_env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": bootstrap,
        "STREAM_WEB_PORT": str(port),
        "DATA_DIR": str(log_dir),
        **(env or {}),
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"worker-{port}.log"
    cmd = [sys.executable, "-m", "yibao.cli", "stream", "--app-id", app_id, *args]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    return WorkerProcess(proc, port, log_path)


def wait_for_claims(
    bootstrap: str, topic: str, claim_ids: set[str], timeout: float = 180.0
) -> list[Any]:
    """Read ``topic`` until every id in ``claim_ids`` has a record (keys are claim ids)."""
    deadline = time.monotonic() + timeout
    while True:
        recs = read_topic(bootstrap, topic, idle=0.5, timeout=60)
        seen = {r.key.decode() for r in recs if r.key}
        if claim_ids <= seen or time.monotonic() > deadline:
            return recs
        time.sleep(1.0)


def metric_samples(metrics: str, name: str, label: str | None = None) -> dict[str, float]:
    """The values of the samples ``name`` on a /metrics page, by their ``label``'s value
    (``""`` for a sample without it), read with prometheus_client's own parser."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        sample.labels.get(label, "") if label else "": sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == name
    }


def process_gone(pid: int, timeout: float) -> bool:
    """Whether ``pid`` has exited within ``timeout`` seconds (Linux: a zombie counts,
    it has exited and waits only for its dead parent's reaping by init)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"):
            return True
        time.sleep(0.1)
    return False
