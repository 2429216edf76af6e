"""Claim objects as the model library's claim facts (a helper of the model tests)."""

from __future__ import annotations

import json


def facts_of(objs: list[dict]) -> list:
    """Parse claim objects as ``models.data`` does; every one must be usable."""
    from models.data import parse_lines

    loaded = parse_lines([json.dumps(o) for o in objs])
    assert loaded.skipped == 0
    return loaded.facts
