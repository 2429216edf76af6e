"""Decisions as training labels for ``yibao train --labels labels.jsonl``.

One JSON object per decided claim (its latest final decision):
``{"claim_id", "is_fraud", "fraud_type", "decided_by_role", "decided_at"}``.
``is_fraud`` is true for confirmed fraud, false for cleared; claims waiting
for documents are left out. No identity number is in a label row: training
joins labels onto its claims file by ``claim_id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from detection.fraud_types import OTHER_FRAUD_TYPE
from review.models import Decision
from review.services.decisions import FRAUD_TYPES

FINAL_ACTIONS = {"confirm_fraud": True, "clear": False}


def known_fraud_type(value: str | None) -> str | None:
    """A stored fraud type as a label: one of the list, else "other" (free text of old rows)."""
    if value is None or value in FRAUD_TYPES:
        return value
    return OTHER_FRAUD_TYPE


def label_rows(db: Session) -> Iterator[dict[str, Any]]:
    """The latest final decision per claim, as label rows ordered by claim_id."""
    latest: dict[str, Decision] = {}
    for decision in db.scalars(
        select(Decision).where(Decision.action.in_(FINAL_ACTIONS)).order_by(Decision.id)
    ):
        latest[decision.claim_id] = decision
    for claim_id in sorted(latest):
        d = latest[claim_id]
        yield {
            "claim_id": claim_id,
            "is_fraud": FINAL_ACTIONS[d.action],
            "fraud_type": known_fraud_type(d.fraud_type) if d.action == "confirm_fraud" else None,
            "decided_by_role": d.role,
            "decided_at": d.created_at.isoformat(timespec="seconds") + "Z",
        }


def label_lines(db: Session) -> Iterator[str]:
    for row in label_rows(db):
        yield json.dumps(row, ensure_ascii=False) + "\n"
