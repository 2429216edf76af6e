"""The command line as a separate process, for tests that go through it end to end."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def yibao_in(folder: Path, env: dict[str, str]) -> Callable[..., str]:
    """A runner of ``yibao ARGS`` in ``folder`` with ``env``: it asserts success and
    returns what the command printed (standard output, then standard error)."""

    def yibao(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "yibao.cli", *args],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout + done.stderr

    return yibao
