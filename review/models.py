"""Database tables of the review app (SQLAlchemy 2.0 declarative models).

Identity numbers are never stored in clear: a claim keeps the masked number for
display and a salted hash (``person_key``) to link one patient's claims.
Decisions and audit entries are append-only (see :mod:`review.db`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("clerk", "supervisor", "data_scientist")
STATUSES = ("open", "documents_requested", "confirmed", "cleared")
# A stay is a re-admission (``claims.readmission``) when it begins within this
# many days of the same patient's last discharge. The detection features count
# re-admissions over their own 15-day window: a different figure for another use.
REVIEW_READMISSION_WINDOW_DAYS = 30
ACTIONS = {
    "confirm_fraud": "confirmed",
    "clear": "cleared",
    "request_documents": "documents_requested",
}


class Base(DeclarativeBase):
    if TYPE_CHECKING:
        # Every model here declares ``__tablename__``, so its ``__table__`` is a
        # ``Table`` (SQLAlchemy types it as the wider ``FromClause``).
        __table__: ClassVar[Table]


class Meta(Base):
    """Key-value facts about this database (the person-hash salt)."""

    __tablename__ = "app_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # Bumped by a password change and by disabling: sessions carry the version
    # they logged in with, and an older one is logged out (review.security).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LoginFailure(Base):
    """One failed login: counted for the lock-out per user and address, and per address."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    user_name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    __table_args__ = (
        Index("ix_login_failures_user", "user_name", "address", "at"),
        Index("ix_login_failures_address", "address", "at"),
    )


QUEUE_FILTERS = (
    "insured_region",
    "scheme",
    "hospital_id",
    "discharge_date",
    "assigned_to",
    "rule_codes",
    # Not filters but sort columns of the queue: kept in the covering indexes so
    # that sorting by any column reads index entries only.
    "claim_type",
    "total_fen",
    "submitted_at",
    # The results of the claim's audit-rule hits, for the queue's result filter.
    "audit_results",
)


class Claim(Base):
    """One claim with its score and review state, denormalised for the queue."""

    __tablename__ = "claims"
    claim_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    claim_type: Mapped[str | None] = mapped_column(String(16))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    person_masked: Mapped[str | None] = mapped_column(String(32))
    person_key: Mapped[str | None] = mapped_column(String(64))
    scheme: Mapped[str | None] = mapped_column(String(16))
    insured_region: Mapped[str | None] = mapped_column(String(6))
    hospital_id: Mapped[str | None] = mapped_column(String(64))
    hospital_region: Mapped[str | None] = mapped_column(String(6))
    hospital_level: Mapped[int | None] = mapped_column(Integer)
    admission_date: Mapped[date | None] = mapped_column(Date)
    discharge_date: Mapped[date | None] = mapped_column(Date)
    diagnosis: Mapped[str | None] = mapped_column(String(16))
    # Procedure codes, the principal first, comma-separated: DIP groups by them (dip.md 4).
    procedures: Mapped[str | None] = mapped_column(Text)
    stay_days: Mapped[int | None] = mapped_column(Integer)
    total_fen: Mapped[int | None] = mapped_column(BigInteger)
    readmission: Mapped[bool] = mapped_column(Boolean, default=False)
    # The claim JSON with person_id masked: items, ltc, etc. for the claim page.
    claim_json: Mapped[str | None] = mapped_column(Text)
    # Score (from `yibao score` or the stream's fraud.flags).
    scored: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    fraud_score: Mapped[float] = mapped_column(Float, default=0.0)
    threshold: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(64))
    rule_codes: Mapped[str | None] = mapped_column(String(512))
    # "certain", "suspicious" or "certain,suspicious": its audit-rule hits' results.
    audit_results: Mapped[str | None] = mapped_column(String(32))
    score_json: Mapped[str | None] = mapped_column(Text)
    # Review state.
    status: Mapped[str] = mapped_column(String(24), default="open")
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    # 追回金额: the amount recovered, in fen, of the latest decision when it
    # confirmed fraud with one (review.services.recovery); None otherwise.
    recovered_fen: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        # The queue's two covering indexes: equality on (flagged, status), then the
        # page order, then every filter column, so any filter combination is
        # evaluated inside the index and a page's ids never touch the table.
        Index("ix_claims_queue", "flagged", "status", "fraud_score", "claim_id", *QUEUE_FILTERS),
        Index(
            "ix_claims_queue_all", "flagged", "fraud_score", "claim_id", "status", *QUEUE_FILTERS
        ),
        Index("ix_claims_person", "person_key", "admission_date"),
        Index("ix_claims_person_masked", "person_masked"),
        # The open queue sorted by amount, by age or by hospital walks these, no sort step.
        Index("ix_claims_queue_total", "flagged", "status", "total_fen", "claim_id"),
        Index("ix_claims_queue_age", "flagged", "status", "submitted_at", "claim_id"),
        Index("ix_claims_queue_hospital", "flagged", "status", "hospital_id", "claim_id"),
        Index("ix_claims_hospital_date", "hospital_id", "discharge_date"),
    )


class ClaimVersion(Base):
    """A later submission of a claim id already stored with other content (a resubmission).

    The ``claims`` row keeps the first content (the one settled and paid);
    each different later content is kept here as version 2, 3, ... with the
    settlement's answer to it, so clerks see what was paid and what came after.
    """

    __tablename__ = "claim_versions"
    claim_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    # The resubmitted claim JSON, identity numbers masked (None: only its settlement came).
    claim_json: Mapped[str | None] = mapped_column(Text)
    total_fen: Mapped[int | None] = mapped_column(BigInteger)
    settlement_status: Mapped[str | None] = mapped_column(String(16))
    record_json: Mapped[str | None] = mapped_column(Text)


class ClaimRule(Base):
    """One rule hit of a claim, for the queue's rule filter."""

    __tablename__ = "claim_rules"
    claim_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    __table_args__ = (Index("ix_claim_rules_code", "code", "claim_id"),)


class AuditHit(Base):
    """One audit-rule hit of a claim (docs/rules.md): the rule, the item line,
    the evidence and the amount at stake.

    From the ``audit_hits`` of a score record (``yibao score``) or of a flag
    (the stream's ``fraud.flags``); a newer record replaces a claim's hits.
    """

    __tablename__ = "claim_audit_hits"
    claim_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rule_code: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(16))  # certain / suspicious
    item_index: Mapped[int | None] = mapped_column(Integer)  # 0-based line of the claim's items
    item_code: Mapped[str | None] = mapped_column(String(64))
    # {"rule": name, "knowledge": the knowledge row, "observed": what the claim showed},
    # identity numbers masked.
    evidence_json: Mapped[str] = mapped_column(Text)
    amount_at_stake_fen: Mapped[int | None] = mapped_column(BigInteger)


class Settlement(Base):
    """The settlement record of a claim (spec section 6), amounts in fen."""

    __tablename__ = "settlements"
    claim_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    claim_type: Mapped[str | None] = mapped_column(String(16))
    discharge_date: Mapped[date | None] = mapped_column(Date)
    intercity: Mapped[bool | None] = mapped_column(Boolean)
    insured_region: Mapped[str | None] = mapped_column(String(6))
    treatment_region: Mapped[str | None] = mapped_column(String(6))
    policy_version: Mapped[str | None] = mapped_column(String(32))
    total_fen: Mapped[int | None] = mapped_column(BigInteger)
    eligible_fen: Mapped[int | None] = mapped_column(BigInteger)
    ratio: Mapped[int | None] = mapped_column(Integer)
    fund_pay_fen: Mapped[int | None] = mapped_column(BigInteger)
    patient_pay_fen: Mapped[int | None] = mapped_column(BigInteger)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime)
    record_json: Mapped[str] = mapped_column(Text)
    __table_args__ = (Index("ix_settlements_status_date", "status", "discharge_date"),)


class Hospital(Base):
    """A hospital's risk row (from a risk table, or derived from scores at load)."""

    __tablename__ = "hospitals"
    hospital_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str | None] = mapped_column(String(6))
    level: Mapped[int | None] = mapped_column(Integer)
    risk_score: Mapped[float] = mapped_column(Float, default=0.0)
    rank: Mapped[int | None] = mapped_column(Integer)
    claims: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    top_reasons_json: Mapped[str] = mapped_column(Text, default="[]")


class Decision(Base):
    """A clerk's or supervisor's decision on a claim; rows are never changed."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(24))
    fraud_type: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # With confirm_fraud: the amount recovered (追回金额) in fen, if one was given.
    recovered_fen: Mapped[int | None] = mapped_column(BigInteger)


class ClaimNote(Base):
    """One note in a claim's thread; rows are never changed (masked on write)."""

    __tablename__ = "claim_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    body: Mapped[str] = mapped_column(Text)


#: A document request's states, in order (review.services.documents).
DOCUMENT_STATES = ("requested", "received", "reviewed")


class DocumentRequest(Base):
    """Documents asked of a hospital for one claim: requested -> received -> reviewed."""

    __tablename__ = "document_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16))
    # What was asked for: the note of the "request documents" decision (masked).
    asked: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    received_by: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime | None] = mapped_column(DateTime)
    received_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    reviewed_note: Mapped[str | None] = mapped_column(Text)


class Attachment(Base):
    """A file received for a document request, stored under data_dir with a random name."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("document_requests.id"), index=True)
    claim_id: Mapped[str] = mapped_column(String(64), index=True)
    # The file's name on disk: random hex, never derived from the upload.
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    # The uploaded name, sanitised, identity numbers masked, extension from the content.
    file_name: Mapped[str] = mapped_column(String(160))
    # What the content is (sniffed from its first bytes), not what the browser said.
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)


#: A hospital case's states (review.services.cases).
CASE_STATES = ("open", "closed")


class HospitalCase(Base):
    """A supervisor's case against one hospital: its flagged claims discharged in a period.

    The claims are not listed in a table of their own: a case holds every
    flagged claim of the hospital discharged from ``period_from`` to
    ``period_to`` (periods of one hospital's cases never overlap, so a claim is
    in one case at most). Closing keeps the totals as they were then.
    """

    __tablename__ = "hospital_cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hospital_id: Mapped[str] = mapped_column(String(64), index=True)
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    close_note: Mapped[str | None] = mapped_column(Text)
    # The totals when it was closed (None while open).
    closed_claims: Mapped[int | None] = mapped_column(Integer)
    closed_at_stake_fen: Mapped[int | None] = mapped_column(BigInteger)
    closed_recovered_fen: Mapped[int | None] = mapped_column(BigInteger)


class AuditEntry(Base):
    """Append-only log: who did what, when."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    user_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    claim_id: Mapped[str | None] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")


class StreamOffset(Base):
    """The next offset to read per topic partition, committed with the data it loaded."""

    __tablename__ = "stream_offsets"
    topic: Mapped[str] = mapped_column(String(255), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    next_offset: Mapped[int] = mapped_column(BigInteger)
    # "offset:timestamp" of a record loaded from the partition; a recreated topic lacks it
    identity: Mapped[str | None] = mapped_column(String(64), nullable=True)
