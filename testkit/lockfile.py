"""The lock files of requirements/ against an installed environment.

``make install`` installs requirements/dev.lock with pip and then runs
``python -m testkit.lockfile --remove-unlocked requirements/dev.lock``: pip installs
what the lock lists but removes nothing, so this takes out what the lock no longer
lists and fails if any version differs. tests/unit/test_dependency_lock.py runs the
same comparison on the test run's own environment. Standard library only: it runs
before yibao itself is installed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path

# The distribution that is the project itself: installed editable, never locked.
PROJECT = "yibao"

# `name==version` or `name[extra,...]==version`, then an optional marker and the
# backslash before the hashes; uv writes nothing else at the start of a line.
_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)"
    r"\s*(?:;[^\\]*)?\\?\s*$"
)


class LockFileError(ValueError):
    """A lock file line that is neither a pin, a hash, a comment nor blank."""


def normalize(name: str) -> str:
    """The comparable form of a distribution name (PEP 503): ``PyYAML`` is ``pyyaml``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str, source: str = "lock file") -> dict[str, str]:
    """The pins of a lock file written by ``uv pip compile --generate-hashes``.

    Args:
        text: the lock file's text.
        source: its name, for error messages.

    Returns:
        Normalized distribution name to locked version.

    Raises:
        LockFileError: a line that is not a pin, a ``--hash`` continuation, a comment
            or blank, a pin without hashes, or a package pinned twice.
    """
    pins: dict[str, str] = {}
    awaiting_hash: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("--hash="):
            awaiting_hash = None
            continue
        if awaiting_hash is not None:
            raise LockFileError(f"{source}:{number - 1}: {awaiting_hash} has no --hash lines")
        match = _PIN.match(raw)
        if match is None:
            raise LockFileError(
                f"{source}:{number}: expected 'name==version \\' followed by --hash lines, "
                f"got {raw!r}"
            )
        name = normalize(match["name"])
        if name in pins:
            raise LockFileError(f"{source}:{number}: {name} is pinned twice")
        pins[name] = match["version"]
        awaiting_hash = f"{name}=={match['version']}"
    if awaiting_hash is not None:
        raise LockFileError(f"{source}: {awaiting_hash} at the end has no --hash lines")
    return pins


def read_lock(path: Path) -> dict[str, str]:
    """:func:`parse_lock` of a file."""
    return parse_lock(path.read_text(encoding="utf-8"), source=str(path))


def installed_versions(paths: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Every distribution installed in the environment's site-packages, with its versions.

    Args:
        paths: folders to look in; by default this interpreter's purelib and platlib
            (not ``sys.path``, which may hold a source tree's ``*.egg-info``).

    Returns:
        Normalized name to the versions found (more than one only in a broken install).
    """
    if paths is None:
        found = sysconfig.get_paths()
        paths = sorted({found["purelib"], found["platlib"]})
    versions: dict[str, list[str]] = {}
    for dist in metadata.distributions(path=list(paths)):
        name = dist.metadata["Name"]
        if name:
            versions.setdefault(normalize(name), []).append(dist.version)
    return versions


def differences(
    locked: Mapping[str, str],
    installed: Mapping[str, Sequence[str]],
    exempt: Iterable[str] = (PROJECT,),
) -> list[str]:
    """What keeps an environment from being exactly the lock, one line per package.

    Args:
        locked: name to version, from :func:`parse_lock`.
        installed: name to versions, from :func:`installed_versions`.
        exempt: names neither locked nor reported (the project itself).

    Returns:
        Sorted lines such as ``numpy: locked 2.4.6, installed 2.4.5``; empty when every
        locked package is installed at its version and nothing else is.
    """
    skip = {normalize(name) for name in exempt}
    lines = []
    for name in sorted(set(locked) | set(installed)):
        if name in skip:
            continue
        want = locked.get(name)
        have = list(installed.get(name, ()))
        if want is None:
            lines.append(f"{name}: installed {', '.join(have)}, not in the lock")
        elif not have:
            lines.append(f"{name}: locked {want}, not installed")
        elif have != [want]:
            lines.append(f"{name}: locked {want}, installed {', '.join(have)}")
    return lines


def unlocked(locked: Mapping[str, str], installed: Mapping[str, Sequence[str]]) -> list[str]:
    """Installed distributions the lock does not list (the project itself aside)."""
    return sorted(name for name in installed if name not in locked and name != PROJECT)


def main(argv: Sequence[str] | None = None) -> int:
    """Compare this interpreter's environment with a lock file; exit 1 on any difference."""
    parser = argparse.ArgumentParser(prog="python -m testkit.lockfile", description=__doc__)
    parser.add_argument("lock", type=Path, help="the lock file, e.g. requirements/dev.lock")
    parser.add_argument(
        "--remove-unlocked",
        action="store_true",
        help="first uninstall every installed package the lock does not list",
    )
    args = parser.parse_args(argv)
    try:
        locked = read_lock(args.lock)
    except (OSError, LockFileError) as exc:
        print(f"testkit.lockfile: {exc}", file=sys.stderr)
        return 1
    if args.remove_unlocked:
        extra = unlocked(locked, installed_versions())
        if extra:
            print(f"removing packages {args.lock} does not list: {' '.join(extra)}")
            pip = [sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet"]
            subprocess.run([*pip, *extra], check=True)
    lines = differences(locked, installed_versions())
    if lines:
        print(f"this environment differs from {args.lock}:", file=sys.stderr)
        for line in lines:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
