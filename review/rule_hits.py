"""Audit-rule hits for the pages: one claim's hits with their evidence, a hospital's sums by rule.

The hits are those of the rule catalogue (docs/rules.md) loaded with the
score records and the stream's flags (``claim_audit_hits``, review.ingest).
Two rules hit by one line each carry their own amount at stake, so a claim's
total counts each line once, at its largest hit (as ``yibao evaluate`` does).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from review.models import AuditHit, Claim


@dataclass(frozen=True)
class HitView:
    """One hit as the claim page shows it."""

    rule_code: str
    rule_name: str
    result: str
    item_index: int | None
    item_code: str | None
    knowledge: list[tuple[str, str]]
    observed: list[tuple[str, str]]
    amount_at_stake_fen: int | None


def _pairs(value: Any) -> list[tuple[str, str]]:
    """A dict's entries as (key, text) pairs; nested values as compact JSON."""
    if not isinstance(value, dict):
        return []
    return [
        (str(key), item if isinstance(item, str) else json.dumps(item, ensure_ascii=False))
        for key, item in value.items()
    ]


def claim_hits(db: Session, claim_id: str, names: dict[str, str]) -> list[HitView]:
    """The claim's hits in their record's order.

    Args:
        db: a session of the review database.
        claim_id: the claim.
        names: rule code -> name (the catalogue's); a code it lacks is named by
            the hit's own evidence, else left unnamed.
    """
    views = []
    for hit in db.scalars(
        select(AuditHit).where(AuditHit.claim_id == claim_id).order_by(AuditHit.seq)
    ):
        try:
            evidence = json.loads(hit.evidence_json)
        except ValueError:
            evidence = {}
        if not isinstance(evidence, dict):
            evidence = {}
        knowledge = evidence.get("knowledge")
        views.append(
            HitView(
                rule_code=hit.rule_code,
                rule_name=names.get(hit.rule_code) or str(evidence.get("rule") or ""),
                result=hit.result,
                item_index=hit.item_index,
                item_code=hit.item_code,
                knowledge=_pairs(knowledge),
                observed=_pairs(evidence.get("observed")),
                amount_at_stake_fen=hit.amount_at_stake_fen,
            )
        )
    return views


def at_stake_once_per_line(hits: list[HitView]) -> int:
    """The claim's amount at stake counting each item line once, at its largest hit."""
    largest: dict[object, int] = {}
    for n, hit in enumerate(hits):
        line: object = hit.item_index if hit.item_index is not None else ("hit", n)
        largest[line] = max(largest.get(line, 0), hit.amount_at_stake_fen or 0)
    return sum(largest.values())


@dataclass(frozen=True)
class RuleSum:
    """A hospital's hits of one rule: claims, hits and the amount at stake."""

    rule_code: str
    result: str
    claims: int
    hits: int
    amount_at_stake_fen: int


def hospital_sums(db: Session, hospital_id: str) -> list[RuleSum]:
    """The hospital's hits summed by rule, the largest amount at stake first."""
    rows = db.execute(
        select(
            AuditHit.rule_code,
            func.max(AuditHit.result),
            func.count(distinct(AuditHit.claim_id)),
            func.count(),
            func.coalesce(func.sum(AuditHit.amount_at_stake_fen), 0),
        )
        .join(Claim, Claim.claim_id == AuditHit.claim_id)
        .where(Claim.hospital_id == hospital_id)
        .group_by(AuditHit.rule_code)
    ).all()
    sums = [
        RuleSum(code, result or "", int(claims), int(hits), int(amount or 0))
        for code, result, claims, hits, amount in rows
    ]
    return sorted(sums, key=lambda s: (-s.amount_at_stake_fen, s.rule_code))
