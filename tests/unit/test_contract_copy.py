"""The repository's copy of the claim schema is the shared spec's, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "settlement" / "spec" / "claim.schema.json"
SHARED = ROOT.parent / "shared" / "spec" / "claim.schema.json"


def test_vendored_schema_matches_the_shared_spec() -> None:
    if not SHARED.exists():
        pytest.skip(f"no shared spec beside the repository at {SHARED}")
    assert VENDORED.read_bytes() == SHARED.read_bytes()
