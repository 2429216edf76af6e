"""A claim's notes thread: append-only notes by clerks and supervisors, masked on write."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from review import audit
from review.errors import InvalidInput, NotAllowed
from review.i18n import N_, Msg
from review.models import ClaimNote, User
from review.services.decisions import AUDIT_NOTE_CHARS, REVIEWER_ROLES, clean_note, get_claim


def add_note(db: Session, user: User, claim_id: str, body: str) -> ClaimNote:
    """Add a note to the claim's thread (any clerk or supervisor; committed here).

    Raises:
        NotAllowed: not a clerk or supervisor.
        NotFound: no such claim.
        InvalidInput: an empty note.
    """
    if user.role not in REVIEWER_ROLES:
        raise NotAllowed(Msg(N_("needs role {roles}"), roles=" or ".join(REVIEWER_ROLES)))
    get_claim(db, claim_id)
    body = clean_note(body)
    if not body:
        raise InvalidInput(N_("a note cannot be empty"))
    note = ClaimNote(
        claim_id=claim_id,
        user_id=user.id,
        user_name=user.name,
        role=user.role,
        created_at=audit.now_utc(),
        body=body,
    )
    db.add(note)
    audit.record(db, user, "note", claim_id, body[:AUDIT_NOTE_CHARS])
    db.commit()
    return note


def thread(db: Session, claim_id: str) -> Sequence[ClaimNote]:
    """The claim's notes, oldest first."""
    return db.scalars(
        select(ClaimNote).where(ClaimNote.claim_id == claim_id).order_by(ClaimNote.id)
    ).all()
