"""Decisions on claims and who works on them: the rules, apart from HTTP.

A claim moves ``open`` -> ``confirmed`` | ``cleared`` | ``documents_requested``
by a decision (:data:`review.models.ACTIONS`); requesting documents also
opens a document request (:mod:`review.services.documents`), and confirming
fraud may carry the amount recovered (:mod:`review.services.recovery`).
Clerks decide open claims that are theirs or nobody's; changing a final
decision (confirmed or cleared) is a supervisor's override. Every change writes
an audit entry and is committed here, so a caller (a route, a test) only names
who does what.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from detection.fraud_types import FRAUD_SCHEMES, OTHER_FRAUD_TYPE
from review import audit
from review.errors import Conflict, InvalidInput, NotAllowed, NotFound
from review.i18n import N_, Msg
from review.models import ACTIONS, Claim, Decision, Settlement, User
from review.services import recovery
from settlement.idnumber import mask_identity_numbers
from settlement.money import format_fen

#: Statuses a decision has closed; changing them is an override.
FINAL_STATUSES = ("confirmed", "cleared")
#: Statuses a clerk may still decide.
OPEN_STATUSES = ("open", "documents_requested")
#: The fraud types a clerk picks from when confirming fraud: the simulator's
#: schemes, so exported labels use the names training knows, and "other".
FRAUD_TYPES = (*FRAUD_SCHEMES, OTHER_FRAUD_TYPE)
#: Roles that decide and take claims.
REVIEWER_ROLES = ("clerk", "supervisor")
MAX_NOTE_CHARS = 4000
AUDIT_NOTE_CHARS = 200


def clean_note(text: str) -> str:
    """Free text as it is stored: trimmed, cut to :data:`MAX_NOTE_CHARS`, identity numbers
    masked (on write: a number typed into a note never reaches the database, the audit
    log, a page or the exported labels)."""
    return mask_identity_numbers(text.strip())[:MAX_NOTE_CHARS]


def get_claim(db: Session, claim_id: str) -> Claim:
    """The claim, or :class:`NotFound`."""
    claim = db.get(Claim, claim_id)
    if claim is None:
        raise NotFound(N_("no such claim"))
    return claim


def _require_reviewer(user: User) -> None:
    if user.role not in REVIEWER_ROLES:
        raise NotAllowed(Msg(N_("needs role {roles}"), roles=" or ".join(REVIEWER_ROLES)))


#: Why a claim with this settlement status cannot be decided.
UNDECIDABLE = {
    "rejected": N_(
        "Settlement rejected this claim: nothing was paid, so there is nothing to decide."
    ),
    "duplicate": N_("This claim repeats one already settled: decide the original claim instead."),
}


def undecidable_reason(db: Session, claim_id: str) -> str | None:
    """Why the claim cannot be decided (its settlement rejected it or it is a duplicate)."""
    status = db.scalar(select(Settlement.status).where(Settlement.claim_id == claim_id))
    return UNDECIDABLE.get(status or "")


def can_decide(user: User, claim: Claim, reason: str | None = None) -> bool:
    """Whether the claim page offers ``user`` the decision form (``reason``: why not)."""
    if reason is not None:
        return False
    return user.role == "supervisor" or (
        user.role == "clerk"
        and claim.status in OPEN_STATUSES
        and claim.assigned_to in (None, user.id)
    )


def decide(
    db: Session,
    user: User,
    claim_id: str,
    action: str,
    note: str,
    fraud_type: str = "",
    recovered_fen: int | None = None,
) -> Decision:
    """Record a decision on a claim and move the claim to the action's status.

    Args:
        db: the session; committed on success.
        user: who decides: a clerk or a supervisor.
        claim_id: the claim decided.
        action: one of :data:`review.models.ACTIONS`.
        note: why; required, cut to 4,000 characters, identity numbers masked.
        fraud_type: with ``confirm_fraud``, one of :data:`FRAUD_TYPES` (empty:
            none given); ignored with the other actions.
        recovered_fen: with ``confirm_fraud``, the amount recovered (追回金额)
            in fen: 0 to the claim's amount at stake; None: none recorded.

    Returns:
        The stored decision (``override`` is true when it changed a final one).

    Raises:
        NotFound: no such claim.
        InvalidInput: an unknown action, an empty note, a fraud type not in the
            list, a recovered amount not with confirm_fraud or out of range, or
            a claim settlement rejected or found a duplicate.
        NotAllowed: not a reviewer, a clerk overriding a final decision, or a
            clerk deciding a claim assigned to another clerk.
        Conflict: documents requested while a request is still outstanding.
    """
    # Imported here: the documents module takes this one's roles and limits.
    from review.services import documents

    _require_reviewer(user)
    claim = get_claim(db, claim_id)
    note, fraud_type, override = _checked(db, user, claim, action, note, fraud_type, recovered_fen)
    decision = Decision(
        claim_id=claim_id,
        action=action,
        fraud_type=fraud_type or None,
        note=note,
        user_id=user.id,
        user_name=user.name,
        role=user.role,
        override=override,
        created_at=audit.now_utc(),
        recovered_fen=recovered_fen,
    )
    db.add(decision)
    claim.status = ACTIONS[action]
    claim.recovered_fen = recovered_fen
    claim.decided_at = decision.created_at
    if claim.assigned_to is None:
        claim.assigned_to = user.id
    detail = action + (f" ({fraud_type})" if fraud_type else "")
    if recovered_fen is not None:
        detail += f", recovered {format_fen(recovered_fen)} yuan"
    detail += f": {note[:AUDIT_NOTE_CHARS]}"
    audit.record(db, user, "override" if override else "decide", claim_id, detail)
    if action == "request_documents":
        documents.open_request(db, user, claim_id, note)
    db.commit()
    return decision


def _checked(
    db: Session,
    user: User,
    claim: Claim,
    action: str,
    note: str,
    fraud_type: str,
    recovered_fen: int | None,
) -> tuple[str, str, bool]:
    """:func:`decide`'s checks: the note masked, the fraud type kept, and whether it overrides.

    Raises what :func:`decide` documents, before anything is written.
    """
    from review.services import documents

    reason = undecidable_reason(db, claim.claim_id)
    if reason is not None:
        raise InvalidInput(reason)
    if action not in ACTIONS:
        raise InvalidInput(Msg(N_("action must be one of {choices}"), choices=", ".join(ACTIONS)))
    note = clean_note(note)
    if not note:
        raise InvalidInput(N_("a note is required with every decision"))
    override = claim.status in FINAL_STATUSES
    if user.role != "supervisor":
        if override:
            raise NotAllowed(N_("only a supervisor can override a decision"))
        if claim.assigned_to not in (None, user.id):
            raise NotAllowed(N_("the claim is assigned to another clerk"))
    fraud_type = fraud_type.strip() if action == "confirm_fraud" else ""
    if fraud_type and fraud_type not in FRAUD_TYPES:
        # Labels train the model: only the names it knows (or "other").
        raise InvalidInput(
            Msg(N_("fraud type must be one of {choices}"), choices=", ".join(FRAUD_TYPES))
        )
    if recovered_fen is not None:
        if action != "confirm_fraud":
            raise InvalidInput(N_("an amount recovered goes with confirming fraud only"))
        recovery.check_recovered(recovered_fen, recovery_limit(db, claim))
    if action == "request_documents":
        documents.check_can_request(db, claim.claim_id)
    return note, fraud_type, override


def recovery_limit(db: Session, claim: Claim) -> int:
    """The most that can be recovered on the claim, in fen: its amount at stake."""
    settlement = db.get(Settlement, claim.claim_id)
    return recovery.amount_at_stake(
        claim.total_fen,
        settlement.status if settlement else None,
        settlement.fund_pay_fen if settlement else None,
    )


def decide_many(
    db: Session,
    user: User,
    claim_ids: Sequence[str],
    action: str,
    note: str,
    fraud_type: str = "",
) -> list[Decision]:
    """One decision on several claims (supervisors only), each recorded and audited on its own.

    Every claim is checked before any is decided: nothing changes when one of
    them does not exist or cannot be decided.

    Raises:
        NotAllowed: ``user`` is not a supervisor.
        InvalidInput: no claims, an unknown action, an empty note, a fraud type
            not in the list, or a claim that cannot be decided (named).
        NotFound: a claim does not exist.
    """
    if user.role != "supervisor":
        raise NotAllowed(Msg(N_("needs role {roles}"), roles="supervisor"))
    claim_ids = list(dict.fromkeys(claim_ids))
    if not claim_ids:
        raise InvalidInput(N_("select at least one claim"))
    if action not in ACTIONS:
        raise InvalidInput(Msg(N_("action must be one of {choices}"), choices=", ".join(ACTIONS)))
    if not note.strip():
        raise InvalidInput(N_("a note is required with every decision"))
    if action == "confirm_fraud" and fraud_type.strip() not in ("", *FRAUD_TYPES):
        raise InvalidInput(
            Msg(N_("fraud type must be one of {choices}"), choices=", ".join(FRAUD_TYPES))
        )
    known = set(db.scalars(select(Claim.claim_id).where(Claim.claim_id.in_(claim_ids))))
    if len(known) != len(claim_ids):
        raise NotFound(N_("no such claim"))
    for claim_id, status in db.execute(
        select(Settlement.claim_id, Settlement.status).where(Settlement.claim_id.in_(claim_ids))
    ):
        if status in UNDECIDABLE:
            raise InvalidInput(
                Msg(N_("{claim_id}: {reason}"), claim_id=claim_id, reason=Msg(UNDECIDABLE[status]))
            )
    if action == "request_documents":
        from review.services import documents

        for claim_id in claim_ids:
            try:
                documents.check_can_request(db, claim_id)
            except Conflict as exc:
                reason = exc.args[0] if exc.args else ""
                raise Conflict(
                    Msg(N_("{claim_id}: {reason}"), claim_id=claim_id, reason=reason)
                ) from exc
    return [decide(db, user, claim_id, action, note, fraud_type) for claim_id in claim_ids]


def assign(db: Session, user: User, claim_ids: Sequence[str], assignee_id: int | None) -> None:
    """Assign claims to a user, or with ``assignee_id`` None unassign them (supervisors only).

    Raises:
        NotAllowed: ``user`` is not a supervisor.
        InvalidInput: no claims named, ``assignee_id`` is not an active clerk or
            supervisor.
        NotFound: a claim named does not exist (nothing is assigned then).
    """
    if user.role != "supervisor":
        raise NotAllowed(Msg(N_("needs role {roles}"), roles="supervisor"))
    claim_ids = list(dict.fromkeys(claim_ids))
    if not claim_ids:
        raise InvalidInput(N_("select at least one claim"))
    target = db.get(User, assignee_id) if assignee_id is not None else None
    if assignee_id is not None and target is None:
        raise InvalidInput(N_("no such user"))
    if target is not None and (not target.active or target.role not in REVIEWER_ROLES):
        raise InvalidInput(N_("claims go to an active clerk or supervisor only"))
    known = set(db.scalars(select(Claim.claim_id).where(Claim.claim_id.in_(claim_ids))))
    if len(known) != len(claim_ids):
        raise NotFound(N_("no such claim"))
    db.execute(
        update(Claim)
        .where(Claim.claim_id.in_(claim_ids))
        .values(assigned_to=target.id if target else None)
    )
    for claim_id in claim_ids:
        audit.record(db, user, "assign", claim_id, f"to {target.name if target else 'nobody'}")
    db.commit()


def take(db: Session, user: User, claim_id: str) -> Claim:
    """A clerk (or supervisor) takes a claim that is nobody's or already theirs.

    Raises:
        NotAllowed: not a reviewer.
        NotFound: no such claim.
        Conflict: a clerk taking a claim assigned to someone else.
    """
    _require_reviewer(user)
    claim = get_claim(db, claim_id)
    if claim.assigned_to not in (None, user.id) and user.role != "supervisor":
        raise Conflict(N_("the claim is assigned to someone else"))
    claim.assigned_to = user.id
    audit.record(db, user, "take", claim_id)
    db.commit()
    return claim
