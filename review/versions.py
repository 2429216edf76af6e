"""Resubmitted claims kept as versions beside the paid one, never replacing it.

A claim id stored with other content is a resubmission: its content, and the
stream's answer to it, go to ``claim_versions``; the stored claim and its
settlement stay what was settled and paid.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review.models import Claim, ClaimVersion


def split_resubmissions(
    session: Session, batch: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Claim rows to store, and resubmissions: a claim id stored with other content.

    The stored content is never replaced (it is what was settled and paid); a
    row with the same content as stored (a file loaded twice) is stored again.
    """
    ids = {row["claim_id"] for row in batch}
    stored: dict[str, str | None] = {
        claim_id: claim_json
        for claim_id, claim_json in session.execute(
            select(Claim.claim_id, Claim.claim_json).where(Claim.claim_id.in_(ids))
        )
    }
    fresh: list[dict[str, Any]] = []
    resubmitted: list[dict[str, Any]] = []
    for row in batch:
        current = stored.get(row["claim_id"])
        if current is None or current == row["claim_json"]:
            fresh.append(row)
            stored[row["claim_id"]] = row["claim_json"]
        else:
            resubmitted.append(row)
    return fresh, resubmitted


def _versions(session: Session, ids: set[str]) -> dict[str, list[ClaimVersion]]:
    found: dict[str, list[ClaimVersion]] = defaultdict(list)
    for version in session.scalars(
        select(ClaimVersion).where(ClaimVersion.claim_id.in_(ids)).order_by(ClaimVersion.version)
    ):
        found[version.claim_id].append(version)
    return found


def keep_versions(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add each resubmitted claim row as the claim's next version (once per content)."""
    if not rows:
        return
    known = _versions(session, {row["claim_id"] for row in rows})
    now = datetime.now(UTC).replace(tzinfo=None)
    for row in rows:
        versions = known[row["claim_id"]]
        if any(v.claim_json == row["claim_json"] for v in versions):
            continue
        bare = next((v for v in versions if v.claim_json is None), None)
        if bare is not None:  # its settlement came first
            bare.claim_json, bare.total_fen = row["claim_json"], row["total_fen"]
            continue
        version = ClaimVersion(
            claim_id=row["claim_id"],
            version=(versions[-1].version if versions else 1) + 1,
            received_at=row["submitted_at"] or now,
            claim_json=row["claim_json"],
            total_fen=row["total_fen"],
        )
        session.add(version)
        versions.append(version)
    session.flush()


def answer_versions(session: Session, rows: list[dict[str, Any]]) -> None:
    """Attach settlement answers to resubmissions: the newest version without one.

    When every version has its answer (or there is none yet), the answer makes a
    new version whose claim content comes later (:func:`keep_versions`).
    """
    if not rows:
        return
    known = _versions(session, {row["claim_id"] for row in rows})
    for row in rows:
        versions = known[row["claim_id"]]
        if any(v.record_json == row["record_json"] for v in versions):
            continue
        open_version = next((v for v in versions if v.settlement_status is None), None)
        if open_version is None:
            open_version = ClaimVersion(
                claim_id=row["claim_id"],
                version=(versions[-1].version if versions else 1) + 1,
                received_at=row["settled_at"],
            )
            session.add(open_version)
            versions.append(open_version)
        open_version.settlement_status = row["status"]
        open_version.record_json = row["record_json"]
    session.flush()
