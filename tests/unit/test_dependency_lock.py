"""The environment the tests run in is exactly requirements/dev.lock, and the locks agree.

``make install`` installs the lock with ``--require-hashes --no-deps`` (docs/dependencies.md);
these tests say when the venv, the lock files and pyproject.toml have drifted apart.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from testkit.lockfile import (
    LockFileError,
    differences,
    installed_versions,
    normalize,
    parse_lock,
    read_lock,
    unlocked,
)

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
DEV_LOCK_TEXT = (REQUIREMENTS / "dev.lock").read_text(encoding="utf-8")
DEV = parse_lock(DEV_LOCK_TEXT, "requirements/dev.lock")


def test_this_environment_is_exactly_the_dev_lock() -> None:
    found = differences(DEV, installed_versions())
    assert not found, (
        "the venv differs from requirements/dev.lock (run `make install`; after editing "
        "pyproject.toml run `make lock` first):\n  " + "\n  ".join(found)
    )


def _replace_pin(text: str, name: str, version: str) -> str:
    changed, count = re.subn(rf"(?m)^{re.escape(name)}==[^ ]+ ", f"{name}=={version} ", text)
    assert count == 1, name
    return changed


def _drop_pin(text: str, name: str) -> str:
    """The lock text without one package's block (its pin, hashes and comments)."""
    changed, count = re.subn(rf"(?ms)^{re.escape(name)}==.*?(?=^[a-z])", "", text)
    assert count == 1, name
    return changed


def test_a_modified_lock_is_reported_package_by_package() -> None:
    """The live check above can fail: a changed copy of the lock names each difference.

    The environment here is the one the real lock describes, so the test does not
    depend on the venv it runs in.
    """
    installed = {name: [version] for name, version in DEV.items()}
    text = _replace_pin(DEV_LOCK_TEXT, "numpy", "1.0.0")
    text = _drop_pin(text, "pytest-timeout")
    text += "not-installed-anywhere==2.0 \\\n    --hash=sha256:" + "0" * 64 + "\n"
    found = differences(parse_lock(text), installed)
    assert found == [
        "not-installed-anywhere: locked 2.0, not installed",
        f"numpy: locked 1.0.0, installed {DEV['numpy']}",
        f"pytest-timeout: installed {DEV['pytest-timeout']}, not in the lock",
    ]
    assert unlocked(parse_lock(text), installed) == ["pytest-timeout"]


def test_the_project_itself_is_neither_locked_nor_reported() -> None:
    assert "yibao" not in DEV
    assert differences({"a": "1"}, {"a": ["1"], "yibao": ["0.1.0"]}) == []
    assert differences({"a": "1"}, {"a": ["1", "2"]}) == ["a: locked 1, installed 1, 2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("numpy>=2 \\\n    --hash=sha256:00\n", "lock:1: expected 'name==version"),
        ("numpy==2.4.6\n", "numpy==2.4.6 at the end has no --hash lines"),
        ("numpy==2.4.6 \\\npandas==3.1.1 \\\n    --hash=sha256:00\n", "lock:1: numpy==2.4.6 has"),
        ("-e .\n", "lock:1: expected"),
        ("A==1 \\\n    --hash=sha256:00\na==2 \\\n    --hash=sha256:00\n", "lock:3: a is pinned"),
    ],
)
def test_a_malformed_lock_is_refused_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(LockFileError, match=re.escape(message)):
        parse_lock(text, "lock")


def test_every_lock_file_parses_and_agrees_with_the_dev_lock() -> None:
    for name in ("build.lock", "runtime.lock", "uv.lock"):
        pins = read_lock(REQUIREMENTS / name)
        assert pins, name
        if name == "uv.lock":
            continue  # the lock tool's own venv, apart from the project's
        clashes = {pkg: (ver, DEV[pkg]) for pkg, ver in pins.items() if DEV.get(pkg, ver) != ver}
        assert not clashes, f"{name} pins other versions than dev.lock: {clashes}"


def test_build_in_repeats_the_build_system_requirements() -> None:
    lines = (REQUIREMENTS / "build.in").read_text(encoding="utf-8").splitlines()
    listed = [line.split("#")[0].strip() for line in lines]
    assert [x for x in listed if x] == PYPROJECT["build-system"]["requires"]


def _requirements(extras: list[str]) -> list[Requirement]:
    """pyproject.toml's requirements for the core and the extras, self-references followed."""
    project = PYPROJECT["project"]
    wanted: list[Requirement] = [Requirement(r) for r in project["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in project["optional-dependencies"][extra]:
            requirement = Requirement(text)
            if normalize(requirement.name) == "yibao":
                todo.extend(requirement.extras)
            else:
                wanted.append(requirement)
    return wanted


@pytest.mark.parametrize(
    ("lock", "extras"),
    [("dev.lock", ["dev"]), ("runtime.lock", ["all"]), ("build.lock", [])],
)
def test_the_locks_satisfy_pyproject(lock: str, extras: list[str]) -> None:
    """A dependency added or raised in pyproject.toml without `make lock` fails here."""
    pins = read_lock(REQUIREMENTS / lock)
    if lock == "build.lock":
        wanted = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    else:
        wanted = _requirements(extras)
    wrong = [
        f"{r}: locked {pins.get(normalize(r.name), 'nothing')}"
        for r in wanted
        if not r.specifier.contains(pins.get(normalize(r.name), "0.dev0"), prereleases=True)
        or normalize(r.name) not in pins
    ]
    assert not wrong, f"requirements/{lock} is stale, run `make lock`: {wrong}"
