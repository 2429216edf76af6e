"""The review service layer without HTTP: decisions, overrides, assignment, the audit log.

Runs against a real SQLite database file migrated to the newest schema.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from review.db import make_engine, session_factory, upgrade_head
from review.errors import Conflict, InvalidInput, NotAllowed, NotFound
from review.models import AuditEntry, Claim, Decision, User
from review.services import decisions

T0 = datetime(2026, 3, 1, 9, 0)


@pytest.fixture
def db(tmp_path) -> Session:
    engine = make_engine(f"sqlite:///{tmp_path / 'review.db'}")
    upgrade_head(engine)
    session = session_factory(engine)()
    for name, role in (
        ("clara", "clerk"),
        ("colin", "clerk"),
        ("sam", "supervisor"),
        ("dana", "data_scientist"),
    ):
        session.add(User(name=name, role=role, password_hash="-", active=True, created_at=T0))
    for n in range(3):
        session.add(Claim(claim_id=f"C{n}", flagged=True, status="open"))
    session.commit()
    yield session
    session.close()
    engine.dispose()


def user(db: Session, name: str) -> User:
    found = db.scalar(select(User).where(User.name == name))
    assert found is not None
    return found


def audit_actions(db: Session, claim_id: str) -> list[tuple[str, str, str]]:
    rows = db.scalars(
        select(AuditEntry).where(AuditEntry.claim_id == claim_id).order_by(AuditEntry.id)
    )
    return [(e.user_name, e.action, e.detail) for e in rows]


def test_a_clerk_decides_an_open_claim_and_takes_it(db):
    clara = user(db, "clara")
    decision = decisions.decide(db, clara, "C0", "confirm_fraud", "  bills repeat  ", " upcoding ")
    claim = db.get(Claim, "C0")
    assert claim.status == "confirmed" and claim.assigned_to == clara.id
    assert claim.decided_at == decision.created_at
    assert (decision.fraud_type, decision.note, decision.override) == (
        "upcoding",
        "bills repeat",
        False,
    )
    assert audit_actions(db, "C0") == [
        ("clara", "decide", "confirm_fraud (upcoding): bills repeat")
    ]


def test_fraud_type_is_kept_only_with_confirmed_fraud(db):
    decision = decisions.decide(db, user(db, "clara"), "C0", "clear", "fine", "upcoding")
    assert decision.fraud_type is None and db.get(Claim, "C0").status == "cleared"


def test_changing_a_final_decision_is_a_supervisors_override(db):
    clara, sam = user(db, "clara"), user(db, "sam")
    decisions.decide(db, clara, "C0", "clear", "looks fine")
    with pytest.raises(NotAllowed, match="only a supervisor can override"):
        decisions.decide(db, clara, "C0", "confirm_fraud", "changed my mind")
    override = decisions.decide(db, sam, "C0", "confirm_fraud", "ghost patient", "ghost_patient")
    assert override.override and db.get(Claim, "C0").status == "confirmed"
    assert db.get(Claim, "C0").assigned_to == clara.id  # an override keeps the assignee
    assert [a for _, a, _ in audit_actions(db, "C0")] == ["decide", "override"]


def test_requesting_documents_leaves_the_claim_open_to_its_clerk(db):
    clara = user(db, "clara")
    decisions.decide(db, clara, "C0", "request_documents", "need the discharge summary")
    claim = db.get(Claim, "C0")
    assert claim.status == "documents_requested" and decisions.can_decide(clara, claim)
    decision = decisions.decide(db, clara, "C0", "clear", "documents arrived")
    assert not decision.override


def test_refusals_name_what_was_wrong_and_change_nothing(db):
    clara, colin, dana = user(db, "clara"), user(db, "colin"), user(db, "dana")
    with pytest.raises(NotFound):
        decisions.decide(db, clara, "nope", "clear", "x")
    with pytest.raises(InvalidInput, match="action must be one of confirm_fraud, clear"):
        decisions.decide(db, clara, "C0", "approve", "x")
    with pytest.raises(InvalidInput, match="a note is required"):
        decisions.decide(db, clara, "C0", "clear", "   ")
    with pytest.raises(NotAllowed, match="needs role clerk or supervisor"):
        decisions.decide(db, dana, "C0", "clear", "x")
    decisions.take(db, colin, "C1")
    with pytest.raises(NotAllowed, match="assigned to another clerk"):
        decisions.decide(db, clara, "C1", "clear", "x")
    db.rollback()
    assert db.scalars(select(Decision)).all() == []
    assert db.get(Claim, "C0").status == "open" and db.get(Claim, "C1").status == "open"


def test_can_decide_follows_role_status_and_assignment(db):
    clara, colin, sam, dana = (user(db, n) for n in ("clara", "colin", "sam", "dana"))
    claim = db.get(Claim, "C0")
    assert decisions.can_decide(clara, claim) and not decisions.can_decide(dana, claim)
    decisions.take(db, colin, "C0")
    assert not decisions.can_decide(clara, claim) and decisions.can_decide(colin, claim)
    decisions.decide(db, colin, "C0", "clear", "fine")
    assert not decisions.can_decide(colin, claim) and decisions.can_decide(sam, claim)


def test_supervisors_assign_and_unassign_with_an_audit_entry_per_claim(db):
    clara, colin, sam = user(db, "clara"), user(db, "colin"), user(db, "sam")
    decisions.assign(db, sam, ["C0", "C1"], colin.id)
    assert [db.get(Claim, c).assigned_to for c in ("C0", "C1", "C2")] == [colin.id, colin.id, None]
    decisions.assign(db, sam, ["C1"], None)
    db.expire_all()
    assert db.get(Claim, "C1").assigned_to is None
    assert audit_actions(db, "C1") == [
        ("sam", "assign", "to colin"),
        ("sam", "assign", "to nobody"),
    ]
    with pytest.raises(InvalidInput, match="no such user"):
        decisions.assign(db, sam, ["C2"], 9999)
    with pytest.raises(NotAllowed, match="needs role supervisor"):
        decisions.assign(db, clara, ["C2"], clara.id)


def test_a_clerk_cannot_take_another_clerks_claim_but_a_supervisor_can(db):
    clara, colin, sam = user(db, "clara"), user(db, "colin"), user(db, "sam")
    decisions.take(db, clara, "C0")
    decisions.take(db, clara, "C0")  # taking one's own claim again is harmless
    with pytest.raises(Conflict, match="assigned to someone else"):
        decisions.take(db, colin, "C0")
    assert decisions.take(db, sam, "C0").assigned_to == sam.id
    with pytest.raises(NotFound):
        decisions.take(db, sam, "nope")
    assert [a for _, a, _ in audit_actions(db, "C0")] == ["take", "take", "take"]


def test_the_fraud_types_offered_are_the_simulators_schemes_and_other():
    from simulator.config import FRAUD_SCHEMES

    assert (*FRAUD_SCHEMES, "other") == decisions.FRAUD_TYPES
