"""The base claim the golden cases and the settlement tests vary, and how they vary it.

A case lists only what differs from :data:`BASE_CLAIM`; :func:`merge` applies
it (``__absent__`` removes a field). :data:`GOLDEN_POLICIES` is the policy
folder the golden cases settle against.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
GOLDEN_POLICIES = HERE / "golden_policies"
ABSENT = "__absent__"

BASE_CLAIM: dict[str, Any] = {
    "claim_type": "inpatient",
    "submitted_at": "2026-03-06T09:00:00+08:00",
    "patient": {
        "person_id": "441802198001010012",
        "scheme": "employee",
        "insured_region": "441800",
        "intercity_registered": False,
    },
    "hospital": {"hospital_id": "QY-H01", "region": "441800", "level": 2},
    "admission_date": "2026-03-01",
    "discharge_date": "2026-03-05",
    "diagnosis": "J18.9",
    "items": [{"code": "X1", "category": "A", "amount": "10000.00"}],
}


def merge(base: Any, override: Any) -> Any:
    """Deep-merge ``override`` into a copy of ``base``; lists are replaced."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value == ABSENT:
            merged.pop(key, None)
        else:
            merged[key] = merge(merged.get(key), value) if key in merged else copy.deepcopy(value)
    return merged
