"""Every command that talks to the broker, MLflow or the database fails fast and in one line.

The commands come from the CLI itself: each leaf command of the Typer app must be
listed in ``yibao.commands.SERVICES_USED`` (a new command fails the test by name
until it is), and each is run, as the installed ``yibao`` program, once per
service it uses with that service stopped: the broker and the MLflow server as a
closed port on 127.0.0.1 (what a stopped ``mlflow server`` leaves), the database
as a PostgreSQL URL on a closed port and as an SQLite file that cannot be created.
Each run must exit non-zero within 15 s with at most one line on stderr, no
traceback, naming the address it tried.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from yibao.cli import app
from yibao.commands import SERVICES_USED

pytestmark = pytest.mark.integration

LIMIT_S = 15.0
YIBAO = shutil.which("yibao", path=str(Path(sys.executable).parent)) or "yibao"
CLAIM = json.dumps(
    {
        "claim_id": "C1",
        "claim_type": "inpatient",
        "submitted_at": "2026-03-06T09:00:00+08:00",
        "patient": {
            "person_id": "441802198001010012",
            "scheme": "employee",
            "insured_region": "441800",
            "intercity_registered": False,
        },
        "hospital": {"hospital_id": "QY-H01", "region": "441800", "level": 2},
        "admission_date": "2026-03-01",
        "discharge_date": "2026-03-05",
        "diagnosis": "J18.9",
        "items": [{"code": "X1", "category": "A", "amount": "10000.00"}],
    }
)

# Arguments that make each command reach its service (files are made in the test's folder).
ARGS: dict[str, list[str]] = {
    "stream": ["--no-score", "--web-port", "{port}"],
    "replay": ["{claims}"],
    "topic-dump": ["settlements"],
    "dlq export": [],
    "dlq resend": ["--claim-id", "C1"],
    "dlq mark-handled": ["--offset", "0:0"],
    "status": ["--timeout", "3"],
    "train": ["--data", "{claims}"],
    "evaluate": ["--data", "{claims}"],
    "score": ["--data", "{claims}", "-o", "{tmp}/scores.jsonl"],
    "models list": [],
    "models promote": ["1"],
    "models drift": ["{claims}"],
    "review serve": ["--port", "{port}"],
    "review load": ["--claims", "{claims}"],
    "review follow": ["--until-idle", "1"],
    "review reset-offsets": ["--to", "latest"],
    "users add": ["alice", "--role", "clerk", "--password", "a-long-enough-password-1"],
    "users disable": ["alice"],
    "users unlock": ["alice"],
    "users list": [],
    "labels export": ["-o", "{tmp}/labels.jsonl"],
}


def leaf_commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Every command path of the app (typer vendors its own click: groups have ``commands``)."""
    if hasattr(command, "commands"):
        for name, sub in sorted(command.commands.items()):
            yield from leaf_commands(sub, (*path, name))
    else:
        yield " ".join(path)


COMMANDS = sorted(leaf_commands(typer.main.get_command(app)))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_every_command_says_which_services_it_uses() -> None:
    missing = [c for c in COMMANDS if c not in SERVICES_USED]
    assert not missing, (
        f"commands missing from yibao.commands.SERVICES_USED: {missing}; list the services "
        "each uses (frozenset() for none) so that this test runs it against them stopped"
    )
    gone = sorted(set(SERVICES_USED) - set(COMMANDS))
    assert not gone, f"SERVICES_USED names commands the CLI does not have: {gone}"
    untested = [c for c in COMMANDS if SERVICES_USED[c] and c not in ARGS]
    assert not untested, f"give {untested} arguments in ARGS to reach their services"


def _stopped(service: str, tmp: Path) -> list[tuple[str, dict[str, str], str]]:
    """(label, environment, address the message must name) for each way to stop the service."""
    port = closed_port()
    if service == "broker":
        return [("closed port", {"KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"}, f"127.0.0.1:{port}")]
    if service == "mlflow":
        uri = f"http://127.0.0.1:{port}"
        return [("stopped server", {"MLFLOW_TRACKING_URI": uri}, uri)]
    assert service == "database"
    url = f"postgresql://yibao:secret@127.0.0.1:{port}/review"
    path = "/proc/yibao-cannot-write/review.db"
    return [
        ("postgresql", {"DATABASE_URL": url}, f"127.0.0.1:{port}"),
        ("unwritable sqlite", {"DATABASE_URL": f"sqlite:///{path}"}, path),
    ]


CASES = [
    pytest.param(command, service, id=f"{command}-{service}".replace(" ", "-"))
    for command in COMMANDS
    for service in sorted(SERVICES_USED.get(command, ()))
]


@pytest.mark.parametrize(("command", "service"), CASES)
def test_a_stopped_service_fails_fast_in_one_line(
    command: str, service: str, tmp_path: Path
) -> None:
    claims = tmp_path / "claims.jsonl"
    claims.write_text(CLAIM + "\n", encoding="utf-8")
    fill = {"claims": str(claims), "tmp": str(tmp_path), "port": str(closed_port())}
    args = [a.format(**fill) for a in ARGS[command]]
    for label, env_stopped, address in _stopped(service, tmp_path):
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("KAFKA_BOOTSTRAP", "MLFLOW_TRACKING_URI", "DATABASE_URL")
        }
        env.update(DATA_DIR=str(tmp_path / "var"), **env_stopped)
        start = time.monotonic()
        try:
            done = subprocess.run(
                [YIBAO, *command.split(), *args],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"yibao {command} ({service}: {label}) still ran after 60 s")
        elapsed = time.monotonic() - start
        where = f"yibao {command} with the {service} down ({label})"
        err = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode != 0, f"{where}: exit 0\n{done.stdout}{done.stderr}"
        assert elapsed < LIMIT_S, f"{where}: {elapsed:.1f} s"
        assert "Traceback" not in done.stderr, f"{where}:\n{done.stderr}"
        assert len(err) <= 1, f"{where}: {len(err)} lines on stderr:\n{done.stderr}"
        said = done.stderr + done.stdout
        assert address in said, f"{where}: the message does not name {address}:\n{said}"


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "KAFKA_BOOTSTRAP": f"127.0.0.1:{closed_port()}"}
    env["DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [YIBAO, "--debug", "dlq", "export"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "Traceback" in done.stderr
