"""Whether the settlement core and feature fold run compiled by mypyc, and if that is stale.

``setup.py`` compiles the hot modules of ``settlement`` and ``detection`` and
records a sha256 of each source it compiled (in ``settlement/_compiled_sources.py``);
a module whose ``.py`` changed since runs old code until rebuilt.
``python -m settlement.compiled`` prints the state of each module.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

REBUILD_HINT = "rebuild with `make install` (or `pip install -e .`)"
# Packages whose modules setup.py may compile (their directories sit side by side).
COMPILED_PACKAGES = ("settlement", "detection")


@dataclass(frozen=True)
class ModuleBuild:
    """How one module of the settlement core is running."""

    module: str
    compiled: bool  # loaded from a mypyc extension rather than its .py
    stale: bool  # compiled from a source that differs from the .py on disk

    def describe(self) -> str:
        if not self.compiled:
            return f"{self.module}: pure Python"
        if self.stale:
            return f"{self.module}: compiled from an OLDER source: {REBUILD_HINT}"
        return f"{self.module}: compiled (mypyc)"


def recorded_sources() -> dict[str, str]:
    """Module name -> sha256 of the source compiled, as recorded by the last build."""
    try:
        record = importlib.import_module("settlement._compiled_sources")
    except ImportError:
        return {}
    sources: dict[str, str] = record.SOURCES
    return sources


def pure_python_requested() -> bool:
    """True when ``YIBAO_PURE_PYTHON`` asks for the pure-Python build."""
    return os.environ.get("YIBAO_PURE_PYTHON", "") not in ("", "0")


def module_builds(modules: list[str] | None = None) -> list[ModuleBuild]:
    """The state of each compiled (or recorded) module, importing it if needed.

    Args:
        modules: module names to look at; default those the last build recorded
            and any with an extension file in the package.
    """
    recorded = recorded_sources()
    if modules is None:
        root = Path(__file__).parent.parent
        found = {
            f"{package}.{path.name.partition('.')[0]}"
            for package in COMPILED_PACKAGES
            for path in (root / package).glob("*.so")
            if "__mypyc" not in path.name
        }
        modules = sorted(found | set(recorded))
    builds = []
    for name in modules:
        module = importlib.import_module(name)
        path = Path(module.__file__ or "")
        compiled = path.suffix in (".so", ".pyd")
        stale = False
        if compiled:
            source = path.parent / (name.rpartition(".")[2] + ".py")
            digest = hashlib.sha256(source.read_bytes()).hexdigest() if source.exists() else ""
            stale = recorded.get(name) != digest
        builds.append(ModuleBuild(name, compiled, stale))
    return builds


def summary(builds: list[ModuleBuild]) -> str:
    """One line saying how the settlement core runs."""
    stale = [build.module for build in builds if build.stale]
    if stale:
        return (
            "settlement and detection core: compiled from OLDER sources"
            f" ({', '.join(stale)}): {REBUILD_HINT}"
        )
    compiled = [build.module for build in builds if build.compiled]
    if not compiled:
        why = "YIBAO_PURE_PYTHON is set" if pure_python_requested() else REBUILD_HINT
        return f"settlement and detection core: pure Python, not compiled ({why})"
    return f"settlement and detection core: {len(compiled)} modules compiled with mypyc"


def main(argv: list[str] | None = None) -> int:
    """Print how the core runs (``-v``: module by module); exit status 1 when stale."""
    builds = module_builds()
    if "-v" in (sys.argv[1:] if argv is None else argv):
        for build in builds:
            sys.stdout.write(build.describe() + "\n")
    sys.stdout.write(summary(builds) + "\n")
    return 1 if any(build.stale for build in builds) else 0


if __name__ == "__main__":
    raise SystemExit(main())
