"""The repository's copy of the claim schema is the shared spec's, byte for byte.

Outside CI the check is skipped when the shared spec is not checked out beside
the repository; under CI (``CI=true``) a missing spec fails the test instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "settlement" / "spec" / "claim.schema.json"
SHARED = ROOT.parent / "shared" / "spec" / "claim.schema.json"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def test_vendored_schema_matches_the_shared_spec() -> None:
    if not SHARED.exists():
        missing = f"no shared spec beside the repository at {SHARED}"
        if in_ci():
            pytest.fail(
                f"{missing}: CI must compare the vendored claim schema with it; "
                "check the shared spec out beside the repository (../shared)",
                pytrace=False,
            )
        pytest.skip(missing)
    assert VENDORED.read_bytes() == SHARED.read_bytes()
