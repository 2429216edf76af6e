"""The settlement core and feature fold run compiled by mypyc (unless asked not to), never stale.

``setup.py`` holds the list of compiled modules; these tests read it so CI
proves it ran the compiled code the build was meant to produce.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from settlement.compiled import REBUILD_HINT, module_builds, pure_python_requested, recorded_sources

SETUP = Path(__file__).resolve().parents[2] / "setup.py"


def compiled_module_names() -> list[str]:
    """Module names of ``COMPILED_MODULES`` in setup.py, read without running it."""
    for node in ast.parse(SETUP.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "COMPILED_MODULES"
            for target in node.targets
        ):
            paths: list[str] = ast.literal_eval(node.value)
            return [path.removesuffix(".py").replace("/", ".") for path in paths]
    raise AssertionError("setup.py has no COMPILED_MODULES list")


def test_no_compiled_module_is_older_than_its_source() -> None:
    stale = [build.module for build in module_builds() if build.stale]
    assert not stale, f"compiled from an older source than the .py: {stale}; {REBUILD_HINT}"


def test_settlement_core_is_compiled() -> None:
    if pure_python_requested():
        pytest.skip("YIBAO_PURE_PYTHON is set: the settlement core runs as pure Python")
    names = compiled_module_names()
    builds = module_builds(names)
    pure = [build.module for build in builds if not build.compiled]
    assert not pure, (
        f"not compiled with mypyc: {pure}; {REBUILD_HINT}, "
        "or set YIBAO_PURE_PYTHON=1 to test the pure-Python build"
    )
    assert sorted(recorded_sources()) == sorted(names), (
        f"the build record is out of date; {REBUILD_HINT}"
    )


def test_stale_check_covers_every_compiled_module() -> None:
    # The stale check looks at the recorded modules and every extension in
    # settlement/ and detection/; a compiled module it missed could run stale.
    if pure_python_requested():
        pytest.skip("YIBAO_PURE_PYTHON is set: nothing is compiled")
    checked = {build.module for build in module_builds()}
    missing = sorted(set(compiled_module_names()) - checked)
    assert not missing, f"compiled but not checked for staleness: {missing}"
    assert any(name.startswith("detection.") for name in compiled_module_names())
