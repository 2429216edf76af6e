"""A private PostgreSQL server from Debian's binaries, for tests and the queue benchmark.

Debian's ``postgresql`` package puts ``initdb`` and ``pg_ctl`` under
``/usr/lib/postgresql/<version>/bin`` (not on PATH). The server gets a fresh data
directory, a free port on 127.0.0.1 and trust authentication; it is stopped and its
files removed at the end. ``initdb`` refuses to run as root, so as root the
commands run as the package's ``postgres`` user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEBIAN_ROOT = Path("/usr/lib/postgresql")
#: For tests: durability is not needed and writes are much faster without it.
FAST = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")


def debian_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with initdb and pg_ctl, or None."""
    found = [
        d / "bin"
        for d in DEBIAN_ROOT.glob("*")
        if (d / "bin" / "initdb").exists() and (d / "bin" / "pg_ctl").exists()
    ]
    if not found:
        return None
    return max(found, key=lambda b: [int(p) for p in b.parent.name.split(".") if p.isdigit()])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def private_server(
    bindir: Path, databases: tuple[str, ...] = ("review",), fast: bool = True
) -> Iterator[dict[str, str]]:
    """Start a server; yield a SQLAlchemy URL (psycopg 3) for each database created."""
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="yibao-pg-"))
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    data, log = root / "data", root / "server.log"
    port = _free_port()

    def run(*args: str) -> None:
        done = subprocess.run(
            [*as_user, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}{server_log}")

    options = ["-p", str(port), "-k", str(root), "-c", "listen_addresses=127.0.0.1"]
    if fast:
        options += FAST
    started = False
    try:
        initdb = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
        # Code-point order, as SQLite compares text (docs/review.md, "PostgreSQL").
        run(*initdb, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60"]
        run(*pg_ctl, "-o", " ".join(options), "start")
        started = True
        client = ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
        for name in databases:
            run(str(bindir / "createdb"), *client, name)
        yield {name: f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}" for name in databases}
    finally:
        if started:
            run(*pg_ctl, "-m", "fast", "stop")
        shutil.rmtree(root, ignore_errors=True)
