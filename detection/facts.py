"""The compact facts of one claim that every feature is computed from.

A validated claim (``settlement.claim.Claim`` or anything shaped like it) is
reduced once to a :class:`ClaimFacts`: amounts per category, a hash of the
bill, a one-way key for the person, age and sex, and the event-time sort key.
No identity number is kept, so feature state can be stored and shown freely.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Final, Protocol

from detection.errors import ClaimFactsError

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # noqa: UP017 - explicit for mypy


class ItemLike(Protocol):
    """One bill line, as ``settlement.claim.Item`` has it."""

    @property
    def code(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def amount_fen(self) -> int: ...
    @property
    def quantity(self) -> int | None: ...


class ClaimLike(Protocol):
    """The fields of ``settlement.claim.Claim`` the features read."""

    @property
    def claim_id(self) -> str: ...
    @property
    def claim_type(self) -> str: ...
    @property
    def submitted_at(self) -> str: ...
    @property
    def person_id(self) -> str: ...
    @property
    def scheme(self) -> str: ...
    @property
    def insured_region(self) -> str: ...
    @property
    def hospital_id(self) -> str: ...
    @property
    def hospital_region(self) -> str: ...
    @property
    def hospital_level(self) -> int: ...
    @property
    def admission_date(self) -> date: ...
    @property
    def discharge_date(self) -> date: ...
    @property
    def diagnosis(self) -> str: ...
    @property
    def items(self) -> Iterable[ItemLike]: ...
    @property
    def is_fraud(self) -> bool | None: ...
    @property
    def fraud_type(self) -> str | None: ...
    @property
    def diagnoses(self) -> tuple[str, ...]: ...
    @property
    def procedures(self) -> tuple[str, ...]: ...
    @property
    def discharge_way(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What the features need from one claim; amounts in fen, dates as ordinals."""

    claim_id: str
    claim_type: str
    event_us: int  # submission instant, microseconds since 1970 UTC
    person_key: str  # one-way hash of the identity number
    sex: int  # 1 male, 0 female (17th character of the identity number)
    birth_ordinal: int
    scheme: str
    insured_region: str
    hospital_id: str
    hospital_region: str
    hospital_level: int
    admission: int  # date.toordinal()
    discharge: int
    diagnosis: str
    total_fen: int
    a_fen: int
    b_fen: int
    c_fen: int
    n_items: int
    bill_hash: str  # hash of the multiset of (item code, amount)
    lines: tuple[tuple[str, int, int], ...] = ()  # (code, amount fen, quantity)
    diagnoses: tuple[str, ...] = ()  # secondary ICD-10 codes (dip.md section 1)
    procedures: tuple[str, ...] = ()  # procedure codes, the principal first
    discharge_way: int = 1
    is_fraud: bool | None = None
    fraud_type: str | None = None

    @property
    def sort_key(self) -> tuple[int, int, str]:
        """Event-time order: submission instant, then discharge date, then claim id."""
        return (self.event_us, self.discharge, self.claim_id)

    @property
    def age_years(self) -> float:
        """Age at admission in years."""
        return (self.admission - self.birth_ordinal) / 365.25

    @property
    def length_of_stay(self) -> int:
        """Days from admission to discharge (0 for a same-day visit)."""
        return self.discharge - self.admission

    @property
    def discharge_date(self) -> date:
        return date.fromordinal(self.discharge)

    @property
    def principal_procedure(self) -> str:
        """The first procedure code, or ``""`` for a case without one (DIP's ``none``)."""
        return self.procedures[0] if self.procedures else ""


#: The hash of person_key's prefix, copied per key: a new hashlib.sha256 looks
#: the algorithm up in OpenSSL each time, which costs more than the hashing.
_PERSON_PREFIX: Final = hashlib.sha256(b"yibao-person:")


def person_key(person_id: str) -> str:
    """A one-way key for a person: the same person always gets the same key."""
    digest = _PERSON_PREFIX.copy()
    digest.update(person_id.encode())
    return digest.hexdigest()[:20]


def bill_hash(lines: Iterable[tuple[str, int]]) -> str:
    """Hash of the multiset of (code, amount) lines: equal bills, equal hash."""
    body = "\n".join(f"{code}\x1f{amount}" for code, amount in sorted(lines))
    return hashlib.blake2b(body.encode(), digest_size=10).hexdigest()


def _event_us(submitted_at: str, claim: object) -> int:
    when = getattr(claim, "submitted_datetime", None)
    if not isinstance(when, datetime):
        try:
            when = datetime.fromisoformat(submitted_at.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ClaimFactsError(f"submitted_at {submitted_at!r} is not RFC 3339") from exc
    if when.tzinfo is None:
        raise ClaimFactsError(f"submitted_at {submitted_at!r} has no offset")
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def facts_from_claim(claim: ClaimLike) -> ClaimFacts:
    """Reduce a validated claim to its facts.

    Args:
        claim: a claim that passed settlement validation.

    Returns:
        The facts the features are computed from.

    Raises:
        ClaimFactsError: the identity number or submission time is unusable.
    """
    pid = claim.person_id
    try:
        born = date(int(pid[6:10]), int(pid[10:12]), int(pid[12:14]))
        sex = int(pid[16]) % 2
    except (ValueError, IndexError) as exc:
        raise ClaimFactsError("person_id has no usable birth date or sex digit") from exc
    totals = {"A": 0, "B": 0, "C": 0}
    lines: list[tuple[str, int, int]] = []
    for item in claim.items:
        totals[item.category] = totals.get(item.category, 0) + item.amount_fen
        lines.append((item.code, item.amount_fen, item.quantity or 1))
    return ClaimFacts(
        claim_id=claim.claim_id,
        claim_type=claim.claim_type,
        event_us=_event_us(claim.submitted_at, claim),
        person_key=person_key(pid),
        sex=sex,
        birth_ordinal=born.toordinal(),
        scheme=claim.scheme,
        insured_region=claim.insured_region,
        hospital_id=claim.hospital_id,
        hospital_region=claim.hospital_region,
        hospital_level=claim.hospital_level,
        admission=claim.admission_date.toordinal(),
        discharge=claim.discharge_date.toordinal(),
        diagnosis=claim.diagnosis,
        total_fen=totals["A"] + totals["B"] + totals["C"],
        a_fen=totals["A"],
        b_fen=totals["B"],
        c_fen=totals["C"],
        n_items=len(lines),
        bill_hash=bill_hash((code, amount) for code, amount, _ in lines),
        lines=tuple(lines),
        diagnoses=tuple(claim.diagnoses),
        procedures=tuple(claim.procedures),
        discharge_way=claim.discharge_way if claim.discharge_way is not None else 1,
        is_fraud=claim.is_fraud,
        fraud_type=claim.fraud_type,
    )
