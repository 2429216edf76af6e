"""Hospital cases: a supervisor groups a hospital's flagged claims of a period into a case.

A case covers every flagged claim of one hospital discharged from
``period_from`` to ``period_to``; the periods of one hospital's cases never
overlap, so a claim belongs to one case at most and no membership table is
needed. A case is ``open`` -> ``closed`` (-> ``open`` again to correct it),
by supervisors only. Closing needs every decidable claim in it decided
(confirmed or cleared) and keeps the totals as they were then. Each claim's
amount at stake and recovered amount are those of :mod:`review.services.recovery`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review import audit
from review.errors import Conflict, InvalidInput, NotAllowed, NotFound
from review.i18n import N_, Msg
from review.models import Claim, Decision, Hospital, HospitalCase, Settlement, User
from review.services.decisions import AUDIT_NOTE_CHARS, OPEN_STATUSES, UNDECIDABLE, clean_note
from review.services.recovery import amount_at_stake
from settlement.money import format_fen

#: (state, event) -> the state it leads to.
TRANSITIONS = {("open", "close"): "closed", ("closed", "reopen"): "open"}
#: An event's word in messages.
EVENT_DONE = {"close": "closed", "reopen": "reopened"}
#: What a refused event says, for the states a case has (translated whole).
CANNOT = {
    ("closed", "close"): N_("the case is closed: it cannot be closed"),
    ("open", "reopen"): N_("the case is open: it cannot be reopened"),
}


def next_state(state: str, event: str) -> str:
    """The state a case in ``state`` moves to on ``event`` (``close``, ``reopen``).

    Raises:
        Conflict: the case is not in the state the event starts from.
    """
    target = TRANSITIONS.get((state, event))
    if target is None:
        message = CANNOT.get((state, event))
        raise Conflict(
            Msg(message)
            if message
            else Msg(
                N_("the case is {state}: it cannot be {done}"),
                state=state,
                done=EVENT_DONE.get(event, event),
            )
        )
    return target


@dataclass(frozen=True)
class CaseClaim:
    """One claim of a case, as the case page shows it."""

    claim_id: str
    discharge_date: date | None
    total_fen: int | None
    fraud_score: float
    status: str
    settlement_status: str | None
    at_stake_fen: int
    recovered_fen: int
    fraud_type: str | None
    undecidable: bool


@dataclass(frozen=True)
class Totals:
    claims: int
    decided: int
    confirmed: int
    cleared: int
    undecided: int
    at_stake_fen: int
    recovered_fen: int


def _require_supervisor(user: User) -> None:
    if user.role != "supervisor":
        raise NotAllowed(Msg(N_("needs role {roles}"), roles="supervisor"))


def get_case(db: Session, case_id: int) -> HospitalCase:
    case = db.get(HospitalCase, case_id)
    if case is None:
        raise NotFound(N_("no such case"))
    return case


def case_claims(db: Session, case: HospitalCase) -> list[CaseClaim]:
    """The flagged claims of the case's hospital discharged in its period, highest score first."""
    rows = db.execute(
        select(
            Claim.claim_id,
            Claim.discharge_date,
            Claim.total_fen,
            Claim.fraud_score,
            Claim.status,
            Claim.recovered_fen,
            Settlement.status.label("settlement_status"),
            Settlement.fund_pay_fen,
        )
        .join(Settlement, Settlement.claim_id == Claim.claim_id, isouter=True)
        .where(
            Claim.flagged.is_(True),
            Claim.hospital_id == case.hospital_id,
            Claim.discharge_date >= case.period_from,
            Claim.discharge_date <= case.period_to,
        )
        .order_by(Claim.fraud_score.desc(), Claim.claim_id)
    ).all()
    fraud_types = _latest_fraud_types(db, [r.claim_id for r in rows if r.status == "confirmed"])
    return [
        CaseClaim(
            claim_id=r.claim_id,
            discharge_date=r.discharge_date,
            total_fen=r.total_fen,
            fraud_score=r.fraud_score,
            status=r.status,
            settlement_status=r.settlement_status,
            at_stake_fen=amount_at_stake(r.total_fen, r.settlement_status, r.fund_pay_fen),
            recovered_fen=int(r.recovered_fen or 0) if r.status == "confirmed" else 0,
            fraud_type=fraud_types.get(r.claim_id),
            undecidable=r.settlement_status in UNDECIDABLE,
        )
        for r in rows
    ]


def _latest_fraud_types(db: Session, claim_ids: Sequence[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for start in range(0, len(claim_ids), 500):
        for claim_id, fraud_type in db.execute(
            select(Decision.claim_id, Decision.fraud_type)
            .where(Decision.claim_id.in_(claim_ids[start : start + 500]))
            .where(Decision.action == "confirm_fraud")
            .order_by(Decision.id)
        ):
            found[claim_id] = fraud_type
    return found


def totals(claims: Sequence[CaseClaim]) -> Totals:
    """Counts and sums over a case's claims (amounts in fen)."""
    undecided = sum(1 for c in claims if c.status in OPEN_STATUSES and not c.undecidable)
    confirmed = sum(1 for c in claims if c.status == "confirmed")
    cleared = sum(1 for c in claims if c.status == "cleared")
    return Totals(
        claims=len(claims),
        decided=confirmed + cleared,
        confirmed=confirmed,
        cleared=cleared,
        undecided=undecided,
        at_stake_fen=sum(c.at_stake_fen for c in claims),
        recovered_fen=sum(c.recovered_fen for c in claims),
    )


def open_case(
    db: Session, user: User, hospital_id: str, period_from: date, period_to: date, note: str
) -> HospitalCase:
    """Open a case on a hospital's flagged claims discharged in a period (supervisors).

    Raises:
        NotAllowed: not a supervisor.
        NotFound: no such hospital.
        InvalidInput: the period ends before it begins, or no note.
        Conflict: the period overlaps another case of the hospital (named).
    """
    _require_supervisor(user)
    if db.get(Hospital, hospital_id) is None:
        raise NotFound(N_("no such hospital"))
    if period_to < period_from:
        raise InvalidInput(N_("the period ends before it begins"))
    note = clean_note(note)
    if not note:
        raise InvalidInput(N_("say why the case is opened"))
    overlap = db.scalar(
        select(HospitalCase).where(
            HospitalCase.hospital_id == hospital_id,
            HospitalCase.period_from <= period_to,
            HospitalCase.period_to >= period_from,
        )
    )
    if overlap is not None:
        raise Conflict(
            Msg(
                N_(
                    "case {case} already covers {start} to {end} "
                    "for this hospital: a claim belongs to one case at most"
                ),
                case=overlap.id,
                start=overlap.period_from,
                end=overlap.period_to,
            )
        )
    case = HospitalCase(
        hospital_id=hospital_id,
        period_from=period_from,
        period_to=period_to,
        state="open",
        note=note,
        opened_by=user.name,
        opened_at=audit.now_utc(),
    )
    db.add(case)
    db.flush()
    audit.record(
        db,
        user,
        "case_open",
        None,
        f"case {case.id} {hospital_id} {period_from} to {period_to}: {note}"[:AUDIT_NOTE_CHARS],
    )
    db.commit()
    return case


def close_case(db: Session, user: User, case_id: int, note: str) -> HospitalCase:
    """Close a case whose claims are all decided, keeping its totals (supervisors).

    Raises:
        NotAllowed: not a supervisor.
        NotFound: no such case.
        Conflict: the case is not open, or claims in it are still undecided (counted).
        InvalidInput: no note.
    """
    _require_supervisor(user)
    case = get_case(db, case_id)
    state = next_state(case.state, "close")
    note = clean_note(note)
    if not note:
        raise InvalidInput(N_("say how the case ends"))
    figures = totals(case_claims(db, case))
    if figures.undecided:
        raise Conflict(
            Msg(
                N_(
                    "{n} claim(s) of this case are not decided yet: "
                    "confirm or clear each before closing"
                ),
                n=figures.undecided,
            )
        )
    case.state = state
    case.closed_by = user.name
    case.closed_at = audit.now_utc()
    case.close_note = note
    case.closed_claims = figures.claims
    case.closed_at_stake_fen = figures.at_stake_fen
    case.closed_recovered_fen = figures.recovered_fen
    audit.record(
        db,
        user,
        "case_close",
        None,
        f"case {case.id} {case.hospital_id}: {figures.claims} claims, "
        f"recovered {format_fen(figures.recovered_fen)} yuan: {note}"[:AUDIT_NOTE_CHARS],
    )
    db.commit()
    return case


def reopen_case(db: Session, user: User, case_id: int, note: str) -> HospitalCase:
    """Reopen a closed case to correct it (supervisors); its closing totals are cleared.

    Raises:
        NotAllowed, NotFound, Conflict (not closed), InvalidInput (no note).
    """
    _require_supervisor(user)
    case = get_case(db, case_id)
    state = next_state(case.state, "reopen")
    note = clean_note(note)
    if not note:
        raise InvalidInput(N_("say why the case is reopened"))
    case.state = state
    case.closed_by = case.closed_at = case.close_note = None
    case.closed_claims = case.closed_at_stake_fen = case.closed_recovered_fen = None
    audit.record(db, user, "case_reopen", None, f"case {case.id}: {note}"[:AUDIT_NOTE_CHARS])
    db.commit()
    return case


def hospital_cases(db: Session, hospital_id: str | None = None) -> Sequence[HospitalCase]:
    """Cases, newest first; of one hospital when ``hospital_id`` is given."""
    query = select(HospitalCase).order_by(HospitalCase.id.desc())
    if hospital_id is not None:
        query = query.where(HospitalCase.hospital_id == hospital_id)
    return db.scalars(query).all()


def suggested_period(db: Session, hospital_id: str) -> dict[str, Any]:
    """The discharge dates of the hospital's flagged claims, first and last (form defaults)."""
    first, last = db.execute(
        select(func.min(Claim.discharge_date), func.max(Claim.discharge_date)).where(
            Claim.flagged.is_(True), Claim.hospital_id == hospital_id
        )
    ).one()
    return {"from": first, "to": last}
