"""Writing the append-only audit log."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from review.models import AuditEntry, User
from settlement.idnumber import mask_identity_numbers


def now_utc() -> datetime:
    """Naive UTC now, as stored in every table."""
    return datetime.now(UTC).replace(tzinfo=None)


def record(
    db: Session, user: User | None, action: str, claim_id: str | None = None, detail: str = ""
) -> AuditEntry:
    """Add one audit entry (the caller commits with its own change).

    The detail is free text (a note, a typed user name): identity numbers in it
    are masked before it is stored.
    """
    entry = AuditEntry(
        at=now_utc(),
        user_name=user.name if user else "-",
        role=user.role if user else "-",
        action=action,
        claim_id=claim_id,
        detail=mask_identity_numbers(detail),
    )
    db.add(entry)
    return entry
