"""The review queue query: flagged claims by score, filtered, paged.

Every filter is evaluated inside the covering ``ix_claims_queue*`` indexes
(see review.models), so the offset of a deep page walks index entries, not
table rows, and only the page's 50 rows are read from the table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import Select, func, literal, select, union
from sqlalchemy.orm import Session

from review.i18n import N_, Msg
from review.models import STATUSES, Claim, ClaimRule
from settlement.kinds import SCHEMES

PAGE_SIZE = 50
#: Longest user id or page number taken from a query string (a 64-bit column fits 18).
MAX_ID_DIGITS = 9
MAX_FILTER_CHARS = 64
#: A rule code: the catalogue's (``YB-XB-001``) or a red flag's (``READMIT_SAME_DX``).
RULE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Results of an audit-rule hit (docs/rules.md): 明确 certain, 可疑 suspicious.
RESULTS = ("certain", "suspicious")


@dataclass
class QueueFilter:
    """The queue's filters, as given in the query string (empty = any)."""

    region: str = ""
    hospital: str = ""
    rule: str = ""
    scheme: str = ""
    date_from: str = ""
    date_to: str = ""
    status: str = "open"
    assigned: str = ""  # "", "me", "unassigned" or a user id
    page: int = 1
    errors: list[str] = field(default_factory=list)
    # Search: a claim id (or its start), a hospital id, or a patient (the masked
    # number as shown, or the full identity number, matched by its pseudonym).
    q: str = ""
    sort: str = "score"
    dir: str = "desc"
    person_key: str | None = None  # set by the route from a typed identity number
    # Claims with an audit-rule hit of this result ("certain" or "suspicious").
    result: str = ""

    def problem(self) -> str | None:
        """Why these filters cannot be used (answered 400), or None."""
        if self.assigned not in ("", "me", "unassigned") and not (
            self.assigned.isdigit() and len(self.assigned) <= MAX_ID_DIGITS
        ):
            return N_("assigned must be me, unassigned or a user id")
        for name in ("region", "hospital", "rule", "scheme"):
            if len(getattr(self, name)) > MAX_FILTER_CHARS:
                return Msg(N_("{name} is too long"), name=name)
        if self.rule and not RULE_CODE.fullmatch(self.rule):
            return N_("rule must be a rule code (letters, digits, '-', '_' and '.')")
        if self.result not in ("", *RESULTS):
            return Msg(N_("result must be one of {choices}"), choices=", ".join(RESULTS))
        for name in ("date_from", "date_to"):
            if getattr(self, name) and _parse_date(getattr(self, name)) is None:
                return Msg(N_("{name} must be a date (YYYY-MM-DD)"), name=name)
        if self.status not in ("", "all", *STATUSES):
            return N_("unknown status")
        if len(self.q) > MAX_FILTER_CHARS:
            return N_("search is too long")
        if self.sort not in SORTS:
            return Msg(N_("sort must be one of {choices}"), choices=", ".join(SORTS))
        if self.dir not in ("asc", "desc"):
            return N_("dir must be asc or desc")
        return None

    def params(self, **override: Any) -> dict[str, Any]:
        values = {
            "region": self.region,
            "hospital": self.hospital,
            "rule": self.rule,
            "result": self.result,
            "scheme": self.scheme,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "status": self.status,
            "assigned": self.assigned,
            "q": self.q,
            "sort": "" if self.sort == "score" else self.sort,
            "dir": "" if self.dir == "desc" else self.dir,
            "page": self.page,
        }
        values.update(override)
        return {k: v for k, v in values.items() if v not in ("", None)}


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def filtered(query: Select[Any], f: QueueFilter, user_id: int | None) -> Select[Any]:
    query = query.where(Claim.flagged.is_(True))
    if f.status in STATUSES:
        query = query.where(Claim.status == f.status)
    if f.region:
        query = query.where(Claim.insured_region == f.region)
    if f.hospital:
        query = query.where(Claim.hospital_id == f.hospital)
    if f.scheme:
        query = query.where(Claim.scheme == f.scheme)
    if f.rule:
        # Matched in the covering index's copy of rule_codes: no join, no table reads.
        code = f.rule.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        codes = literal(",") + Claim.rule_codes + literal(",")
        query = query.where(codes.like(f"%,{code},%", escape="\\"))
    if f.result:
        # Like the rule filter, inside the covering index (RESULTS need no escaping).
        results = literal(",") + Claim.audit_results + literal(",")
        query = query.where(results.like(f"%,{f.result},%"))
    start, end = _parse_date(f.date_from), _parse_date(f.date_to)
    if start:
        query = query.where(Claim.discharge_date >= start)
    if end:
        query = query.where(Claim.discharge_date <= end)
    if f.assigned == "me" and user_id is not None:
        query = query.where(Claim.assigned_to == user_id)
    elif f.assigned == "unassigned":
        query = query.where(Claim.assigned_to.is_(None))
    elif f.assigned.isdigit():
        query = query.where(Claim.assigned_to == int(f.assigned))
    if f.person_key or f.q:
        query = query.where(Claim.claim_id.in_(search_ids(f)))
    return query


def search_ids(f: QueueFilter) -> Any:
    """The claim ids the search matches, each branch by its own index.

    A claim id prefix (a range on the primary key), a hospital id
    (``ix_claims_hospital_date``), or a patient: the pseudonym of a typed
    identity number (``ix_claims_person``) or the masked number as shown
    (``ix_claims_person_masked``). The queue filters then apply to those ids.
    """
    if f.person_key:
        return select(Claim.claim_id).where(Claim.person_key == f.person_key)
    return union(
        # A range, not LIKE: SQLite uses an index for LIKE only when case-insensitive.
        select(Claim.claim_id).where(Claim.claim_id >= f.q, Claim.claim_id < f.q + "\U0010ffff"),
        select(Claim.claim_id).where(Claim.hospital_id == f.q),
        select(Claim.claim_id).where(Claim.person_masked == f.q),
    )


QUEUE_COLUMNS = (
    Claim.claim_id,
    Claim.submitted_at,
    Claim.fraud_score,
    Claim.hospital_id,
    Claim.insured_region,
    Claim.scheme,
    Claim.claim_type,
    Claim.discharge_date,
    Claim.total_fen,
    Claim.rule_codes,
    Claim.status,
    Claim.assigned_to,
)


ORDER = (Claim.fraud_score.desc(), Claim.claim_id.desc())

#: The queue's sortable columns (``sort=``); ties are broken by claim id.
SORTS: dict[str, Any] = {
    "score": Claim.fraud_score,
    "claim": Claim.claim_id,
    "hospital": Claim.hospital_id,
    "region": Claim.insured_region,
    "scheme": Claim.scheme,
    "type": Claim.claim_type,
    "discharged": Claim.discharge_date,
    "total": Claim.total_fen,
    "rules": Claim.rule_codes,
    "status": Claim.status,
    "assigned": Claim.assigned_to,
    # Ageing: the oldest submission is the most overdue (``desc`` = oldest first).
    "age": Claim.submitted_at,
}


def order_of(f: QueueFilter) -> tuple[Any, ...]:
    """ORDER BY for the filter's sort column and direction, ties by claim id."""
    if f.sort == "score" and f.dir == "desc":
        return ORDER
    column = SORTS.get(f.sort, Claim.fraud_score)
    descending = f.dir == "desc"
    if f.sort == "age":  # older first when descending
        descending = not descending
    first = column.desc() if descending else column.asc()
    tie = Claim.claim_id.desc() if descending else Claim.claim_id.asc()
    return (first, tie)


def queue_page(db: Session, f: QueueFilter, user_id: int | None) -> tuple[list[Any], int]:
    """One page of the queue and the number of matching claims.

    The page's claim ids are picked first from a covering index (an offset
    there skips index entries only), then only those 50 rows are read.
    """
    total = db.scalar(filtered(select(func.count()).select_from(Claim), f, user_id)) or 0
    page = max(1, f.page)
    order = order_of(f)
    ids = db.scalars(
        filtered(select(Claim.claim_id), f, user_id)
        .order_by(*order)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    if not ids:
        return [], total
    rows = db.execute(select(*QUEUE_COLUMNS).where(Claim.claim_id.in_(ids)).order_by(*order)).all()
    return list(rows), total


#: Most rows one CSV export holds (the whole queue of a busy month fits).
MAX_EXPORT_ROWS = 200_000


def queue_rows(db: Session, f: QueueFilter, user_id: int | None) -> Iterator[Any]:
    """Every claim matching the filter in the page order (for the CSV export)."""
    columns = cast("Select[Any]", select(*QUEUE_COLUMNS))
    yield from db.execute(
        filtered(columns, f, user_id).order_by(*order_of(f)).limit(MAX_EXPORT_ROWS)
    )


def filter_choices(db: Session) -> dict[str, list[Any]]:
    """Values for the filter drop-downs (regions, schemes, rules)."""
    regions = db.scalars(
        select(Claim.insured_region).where(Claim.insured_region.is_not(None)).distinct()
    ).all()
    rules = db.scalars(select(ClaimRule.code).distinct()).all()
    return {
        "regions": sorted(regions),
        "schemes": list(SCHEMES),
        "rules": sorted(rules),
        "results": list(RESULTS),
        "statuses": list(STATUSES),
    }
