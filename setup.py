"""Build hook: compile the hot settlement and feature modules with mypyc, or stay pure Python.

Everything else about the package is in ``pyproject.toml``. ``pip install -e .``
builds the extensions next to the sources; with ``YIBAO_PURE_PYTHON=1``, without
mypyc or without a working C compiler it installs pure Python and says why.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent

# The modules compiled by mypyc: typed, pure, on the hot path of every claim
# (settlement, and the detection feature fold that scoring runs per claim).
# Keep them `mypy --strict` clean. A class that subclasses a builtin (such as
# settlement/jsonnumber.py) cannot be compiled and stays out of this list.
COMPILED_MODULES = [
    "settlement/batch.py",
    "settlement/claim.py",
    "settlement/claim_checks.py",
    "settlement/claim_fast.py",
    "settlement/claim_fields.py",
    "settlement/claim_items.py",
    "settlement/engine.py",
    "settlement/errors.py",
    "settlement/idnumber.py",
    "settlement/jsonio.py",
    "settlement/layers.py",
    "settlement/money.py",
    "settlement/policy.py",
    "settlement/state.py",
    "detection/dip_features.py",
    "detection/facts.py",
    "detection/feature_names.py",
    "detection/features.py",
    "detection/features_bills.py",
    "detection/features_casemix.py",
    "detection/features_hospital.py",
    "detection/features_lines.py",
    "detection/features_peer.py",
    "detection/features_period.py",
    "detection/features_person.py",
    "detection/knowledge.py",
    "detection/peers.py",
    # The rule catalogue's evaluation, run per claim beside settle (issue 16's 15% bound).
    "detection/rule_checks.py",
    "detection/rule_engine.py",
    "detection/rule_evaluators.py",
    "detection/rule_state.py",
    "detection/rulebook.py",
    # The DIP core's hot path (yibao dip cases reads every claim beside settle).
    "dip/batch.py",
    "dip/cases.py",
    "dip/clearing.py",
    "dip/errors.py",
    "dip/numbers.py",
    "dip/pairing.py",
    "dip/policy.py",
]
# mypyc's shared library for the group (both packages): a top-level extension, settlement__mypyc.
# (Inside the package, mypyc would give the compiled modules a wrong __file__.)
GROUP_NAME = "settlement"
# Written after a successful build: sha256 of each compiled source, so a stale
# extension (the .py edited since) is detected (see settlement/compiled.py).
BUILD_RECORD = "settlement/_compiled_sources.py"

# setuptools runs this file for every build hook; only those that build need mypyc.
BUILDING = bool({"build", "build_ext", "bdist_wheel", "editable_wheel", "develop"} & set(sys.argv))
# Builds whose extensions land next to the sources (pip install -e); a wheel
# build leaves the working tree's extensions alone.
IN_PLACE = bool({"editable_wheel", "develop", "--inplace", "-i"} & set(sys.argv))


def _say(message: str) -> None:
    # pip shows a build backend's output only with -v; `make install` reports
    # the outcome in any case (python -m settlement.compiled).
    sys.stderr.write(f"yibao setup.py: {message}\n")


def _remove_built_files() -> None:
    """Delete extensions and the record left by an earlier build, so none goes stale."""
    for source in COMPILED_MODULES:
        for old in (ROOT / source).parent.glob(Path(source).stem + ".*.so"):
            old.unlink()
    for old in ROOT.glob(f"{GROUP_NAME}__mypyc.*.so"):
        old.unlink()
    (ROOT / BUILD_RECORD).unlink(missing_ok=True)


def _write_record(target: Path) -> None:
    lines = [
        '"""Written by setup.py when it compiled these modules with mypyc; do not edit."""',
        "",
        "SOURCES = {",
    ]
    for source in COMPILED_MODULES:
        digest = hashlib.sha256((ROOT / source).read_bytes()).hexdigest()
        module = source.removesuffix(".py").replace("/", ".")
        lines.append(f'    "{module}": "{digest}",')
    lines.append("}")
    (target / BUILD_RECORD).write_text("\n".join(lines) + "\n", encoding="utf-8")


class OptionalBuildExt(build_ext):
    """build_ext that falls back to pure Python instead of failing the install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # any failure here means: stay pure Python
            if IN_PLACE:
                _remove_built_files()
            _say(f"compiling with mypyc failed ({exc}); installed as pure Python")
            return
        if self.extensions:
            in_place = self.inplace or getattr(self, "editable_mode", False)
            _write_record(ROOT if in_place else Path(self.build_lib))


def _extensions() -> list[object]:
    if not BUILDING:
        return []
    if IN_PLACE:
        _remove_built_files()
    if os.environ.get("YIBAO_PURE_PYTHON", "") not in ("", "0"):
        _say("YIBAO_PURE_PYTHON is set: installing the settlement core as pure Python")
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _say("mypyc is not available: installing the settlement core as pure Python")
        return []
    cwd = os.getcwd()
    os.chdir(ROOT)  # mypyc names modules by their path relative to the working directory
    try:
        return list(mypycify(COMPILED_MODULES, group_name=GROUP_NAME, opt_level="3"))
    except (Exception, SystemExit) as exc:  # mypy exits on a type error
        _say(f"mypyc could not compile the settlement core ({exc}); installing pure Python")
        return []
    finally:
        os.chdir(cwd)


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
