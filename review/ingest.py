"""Load claims, settlement records and score records (JSON Lines) into the review DB.

Loads are idempotent upserts by ``claim_id``: loading a newer score or
settlement replaces the old one but never touches review state (status,
assignment, decisions). Identity numbers are masked and hashed before storage.

The stream's topics are followed by :mod:`review.follow` (``yibao review
follow``), which calls the same ``load_*_objects`` functions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from review.db import person_key, person_salt
from review.masking import mask_tree, masked
from review.models import (
    AuditHit,
    Claim,
    ClaimRule,
    ClaimVersion,
    Hospital,
    Meta,
    Settlement,
)
from review.versions import answer_versions, keep_versions, split_resubmissions
from settlement.idnumber import mask_identity_numbers, mask_person_id
from settlement.jsonio import decode_claim
from settlement.money import parse_amount, parse_fen_text, parse_ratio_text

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

log = logging.getLogger(__name__)

BATCH = 2000
RISK_SOURCE = "hospital_risk_source"


def _lines(source: Iterable[str | bytes]) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            yield number, decode_claim(line)
        except ValueError as exc:
            log.warning("line %d: not JSON (%s); skipped", number, mask_identity_numbers(str(exc)))


def _date(text: Any) -> date | None:
    try:
        return date.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None


def _datetime(text: Any) -> datetime | None:
    """An RFC 3339 time as naive UTC (what every database stores the same way)."""
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _fen(value: Any) -> int | None:
    try:
        return parse_amount(value)
    except (ValueError, TypeError):
        return None


def _fen_text(value: Any) -> int | None:
    try:
        return parse_fen_text(str(value)) if value is not None else None
    except ValueError:
        return None


def _upsert(
    session: Session, table: Table, rows: list[dict[str, Any]], keep: dict[str, str]
) -> None:
    """Insert ``rows``; on a key conflict update every column except the key.

    ``keep`` maps a column to "coalesce" (keep the stored value when it is set).
    Uses the dialect's ON CONFLICT (SQLite and PostgreSQL both have it).
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    stmt: PostgresInsert | SqliteInsert
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgres_insert

        stmt = postgres_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    keys = [c.name for c in table.primary_key.columns]
    updates: dict[str, ColumnElement[Any]] = {}
    for name in rows[0]:
        if name in keys:
            continue
        if keep.get(name) == "coalesce":
            updates[name] = func.coalesce(table.c[name], stmt.excluded[name])
        else:
            updates[name] = stmt.excluded[name]
    session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=updates), rows)


def _write_batches(
    rows: Iterable[dict[str, Any]], write: Callable[[list[dict[str, Any]]], None]
) -> int:
    """Hand ``rows`` to ``write`` in batches of :data:`BATCH`; returns how many rows."""
    batch: list[dict[str, Any]] = []
    count = 0
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            write(batch)
            count += len(batch)
            batch = []
    if batch:
        write(batch)
    return count + len(batch)


def claim_row(obj: dict[str, Any], salt: bytes) -> dict[str, Any]:
    """The ``claims`` columns of one claim object, identity numbers masked, the person's hashed."""
    patient: dict[str, Any] = obj["patient"] if isinstance(obj.get("patient"), dict) else {}
    hospital: dict[str, Any] = obj["hospital"] if isinstance(obj.get("hospital"), dict) else {}
    pid = patient.get("person_id")
    masked_obj = dict(obj)
    if isinstance(pid, str):
        masked_obj["patient"] = {**patient, "person_id": mask_person_id(pid)}
    # Any other identity number anywhere in the claim (items[].code, hospital_id,
    # diagnosis, ...) is masked in the stored JSON as well.
    masked_obj = mask_tree(masked_obj)
    items: list[Any] = obj["items"] if isinstance(obj.get("items"), list) else []
    amounts = [_fen(item.get("amount")) for item in items if isinstance(item, dict)]
    level = hospital.get("level")
    admitted, discharged = _date(obj.get("admission_date")), _date(obj.get("discharge_date"))
    return {
        "claim_id": str(obj["claim_id"]),
        "claim_type": obj.get("claim_type"),
        "submitted_at": _datetime(obj.get("submitted_at")),
        "person_masked": mask_person_id(pid) if isinstance(pid, str) else None,
        "person_key": person_key(salt, pid) if isinstance(pid, str) else None,
        "scheme": patient.get("scheme"),
        "insured_region": patient.get("insured_region"),
        "hospital_id": masked(hospital.get("hospital_id"), 64),
        "hospital_region": hospital.get("region"),
        "hospital_level": level if isinstance(level, int) else None,
        "admission_date": admitted,
        "discharge_date": discharged,
        "diagnosis": masked(obj.get("diagnosis"), 16),
        "procedures": procedures_text(obj.get("procedures")),
        "stay_days": (discharged - admitted).days if admitted and discharged else None,
        "total_fen": sum(amounts) if amounts and None not in amounts else None,
        "claim_json": json.dumps(masked_obj, ensure_ascii=False),
    }


def procedures_text(value: Any) -> str | None:
    """A claim's ``procedures`` as stored: codes comma-separated, principal first, or None.

    An absent field is no procedure (``""``); a value that is not a list of
    strings (a claim settlement rejected) is None: it cannot be grouped.
    """
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(code, str) and "," not in code for code in value):
        return ",".join(value)
    return None


def load_claim_objects(session: Session, objects: Iterable[Any]) -> int:
    """Upsert claim objects; returns how many were stored."""
    salt = person_salt(session)

    def rows() -> Iterator[dict[str, Any]]:
        for obj in objects:
            if not isinstance(obj, dict) or not isinstance(obj.get("claim_id"), str):
                log.warning("a claim without a usable claim_id was skipped")
                continue
            yield claim_row(obj, salt)

    def write(batch: list[dict[str, Any]]) -> None:
        fresh, resubmitted = split_resubmissions(session, batch)
        # One row per claim id (all alike), as one multi-row upsert needs on PostgreSQL.
        _upsert(session, Claim.__table__, list({r["claim_id"]: r for r in fresh}.values()), {})
        keep_versions(session, resubmitted)

    return _write_batches(rows(), write)


def load_claims(session: Session, source: Iterable[str | bytes]) -> int:
    """Load a claims JSONL (spec section 2)."""
    return load_claim_objects(session, (obj for _, obj in _lines(source)))


def settlement_row(rec: dict[str, Any], loaded_at: datetime) -> dict[str, Any]:
    ratio = rec.get("ratio")
    try:
        ratio_value = parse_ratio_text(str(ratio)) if ratio is not None else None
    except ValueError:
        ratio_value = None
    return {
        "claim_id": str(rec["claim_id"]),
        "status": str(rec.get("status")),
        "claim_type": rec.get("claim_type"),
        "discharge_date": _date(rec.get("discharge_date")),
        "intercity": rec.get("intercity") if isinstance(rec.get("intercity"), bool) else None,
        "insured_region": rec.get("insured_region"),
        "treatment_region": rec.get("treatment_region"),
        "policy_version": rec.get("policy_version"),
        "total_fen": _fen_text(rec.get("total")),
        "eligible_fen": _fen_text(rec.get("eligible")),
        "ratio": ratio_value,
        "fund_pay_fen": _fen_text(rec.get("fund_pay")),
        "patient_pay_fen": _fen_text(rec.get("patient_pay")),
        # Records carry no settlement time in spec section 6: `yibao review follow`
        # adds `settled_at` from the message time; a file load uses the load time.
        "settled_at": _datetime(rec.get("settled_at")) or loaded_at,
        "record_json": mask_identity_numbers(json.dumps(rec, ensure_ascii=False)),
    }


def load_settlement_objects(session: Session, records: Iterable[Any]) -> int:
    """Upsert settlement records; ``duplicate`` answers are skipped (the first counts)."""
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    rows = (
        settlement_row(rec, loaded_at)
        for rec in records
        if isinstance(rec, dict)
        and isinstance(rec.get("claim_id"), str)
        and rec.get("status") != "duplicate"
    )

    def write(batch: list[dict[str, Any]]) -> None:
        ids = {row["claim_id"] for row in batch}
        stored: dict[str, str] = {
            claim_id: record_json
            for claim_id, record_json in session.execute(
                select(Settlement.claim_id, Settlement.record_json).where(
                    Settlement.claim_id.in_(ids)
                )
            )
        }
        resubmitted = set(
            session.scalars(select(ClaimVersion.claim_id).where(ClaimVersion.claim_id.in_(ids)))
        )
        kept: list[dict[str, Any]] = []
        answers: list[dict[str, Any]] = []
        for row in batch:
            current = stored.get(row["claim_id"])
            if current is None or current == row["record_json"]:
                kept.append(row)
                stored[row["claim_id"]] = row["record_json"]
            elif row["claim_id"] in resubmitted or row["status"] != "settled":
                # Another answer for a claim already answered: it belongs to the
                # resubmission, never replacing what the first content was paid.
                answers.append(row)
            else:
                kept.append(row)
                stored[row["claim_id"]] = row["record_json"]
        # One row per claim id (the last), as one multi-row upsert needs on PostgreSQL.
        last = list({row["claim_id"]: row for row in kept}.values())
        _upsert(session, Settlement.__table__, last, {"settled_at": "coalesce"})
        answer_versions(session, answers)

    return _write_batches(rows, write)


def load_settlements(session: Session, source: Iterable[str | bytes]) -> int:
    """Load settlement records (spec section 6) from JSONL."""
    return load_settlement_objects(session, (obj for _, obj in _lines(source)))


def score_row(rec: dict[str, Any]) -> dict[str, Any]:
    """The ``claims`` columns of a score record or a flag.

    A claim a ``certain`` audit-rule hit flags (``flagged_by_rule``) is in the
    queue whatever the model says; a flag with no model score (the stream's
    flag of a claim only a rule flags) leaves the claim unscored.
    """
    codes = [
        str(hit.get("code"))
        for hit in rec.get("rule_hits") or []
        if isinstance(hit, dict) and hit.get("code")
    ]
    hits = audit_hits(rec)
    codes += [str(hit["rule_code"]) for hit in hits]
    results = sorted({str(hit.get("result"))[:16].replace(",", " ") for hit in hits})
    score = rec.get("fraud_score")
    return {
        "claim_id": str(rec["claim_id"]),
        "scored": score is not None,
        "flagged": bool(rec.get("flagged")) or rec.get("flagged_by_rule") is True,
        "fraud_score": float(score) if isinstance(score, int | float | str) else 0.0,
        "threshold": float(rec["threshold"]) if rec.get("threshold") is not None else None,
        "model_version": rec.get("model_version"),
        "rule_codes": ",".join(dict.fromkeys(codes))[:512] or None,
        "audit_results": ",".join(results)[:32] or None,
        "score_json": mask_identity_numbers(json.dumps(rec, ensure_ascii=False, default=str)),
        # Queue fields, used only when the claim itself was not loaded.
        "hospital_id": masked(rec.get("hospital_id"), 64),
        "insured_region": rec.get("insured_region"),
        "scheme": rec.get("scheme"),
        "claim_type": rec.get("claim_type"),
        "discharge_date": _date(rec.get("discharge_date")),
        "total_fen": _fen_text(rec.get("total")),
    }


def audit_hits(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's audit-rule hits that name a rule code (docs/rules.md)."""
    return [
        hit
        for hit in rec.get("audit_hits") or []
        if isinstance(hit, dict) and isinstance(hit.get("rule_code"), str) and hit["rule_code"]
    ]


def audit_hit_rows(claim_id: str, rec: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``claim_audit_hits`` rows of one record, in its order, identity numbers masked."""
    rows = []
    for seq, hit in enumerate(audit_hits(rec)):
        index = hit.get("item_index")
        evidence = hit.get("evidence") if isinstance(hit.get("evidence"), dict) else {}
        rows.append(
            {
                "claim_id": claim_id,
                "seq": seq,
                "rule_code": masked(hit["rule_code"], 64),
                "result": masked(str(hit.get("result")), 16),
                "item_index": index if isinstance(index, int) and index >= 0 else None,
                "item_code": masked(hit.get("item_code"), 64)
                if isinstance(hit.get("item_code"), str)
                else None,
                "evidence_json": json.dumps(mask_tree(evidence), ensure_ascii=False, default=str),
                "amount_at_stake_fen": _fen(hit.get("amount_at_stake")),
            }
        )
    return rows


# Queue fields of a score record are kept only where the claim itself gave none.
_COALESCED = dict.fromkeys(
    ("hospital_id", "insured_region", "scheme", "claim_type", "discharge_date", "total_fen"),
    "coalesce",
)


def load_score_objects(session: Session, records: Iterable[Any]) -> int:
    """Upsert score records (the brief's format), their red flags and audit-rule hits."""

    def write(batch: list[dict[str, Any]]) -> None:
        # One row per claim id (the last record), as one multi-row upsert needs on PostgreSQL.
        last = list({row["claim_id"]: row for row in batch}.values())
        claims = [{k: v for k, v in row.items() if k != "audit_hits"} for row in last]
        _upsert(session, Claim.__table__, claims, _COALESCED)
        ids = [row["claim_id"] for row in last]
        session.execute(delete(ClaimRule).where(ClaimRule.claim_id.in_(ids)))
        session.execute(delete(AuditHit).where(AuditHit.claim_id.in_(ids)))
        hits = [
            {"claim_id": row["claim_id"], "code": code}
            for row in last
            for code in dict.fromkeys((row["rule_codes"] or "").split(","))
            if code
        ]
        if hits:
            session.execute(ClaimRule.__table__.insert(), hits)
        audit = [hit for row in last for hit in row["audit_hits"]]
        if audit:
            session.execute(AuditHit.__table__.insert(), audit)

    rows = (
        {**score_row(rec), "audit_hits": audit_hit_rows(str(rec["claim_id"]), rec)}
        for rec in records
        if isinstance(rec, dict) and isinstance(rec.get("claim_id"), str)
    )
    return _write_batches(rows, write)


def load_scores(session: Session, source: Iterable[str | bytes]) -> int:
    """Load score records from JSONL."""
    return load_score_objects(session, (obj for _, obj in _lines(source)))


def load_hospital_risk(session: Session, source: Iterable[str | bytes]) -> int:
    """Load a hospital risk table (the detector's rows), replacing derived rows.

    From then on :func:`refresh_hospitals` keeps its scores, ranks and reasons.
    """
    rows = []
    for _, rec in _lines(source):
        if isinstance(rec, dict) and rec.get("hospital_id"):
            rows.append(
                {
                    "hospital_id": masked(str(rec["hospital_id"]), 64),
                    "region": rec.get("region"),
                    "level": rec.get("level"),
                    "risk_score": float(rec.get("risk_score") or 0.0),
                    "rank": rec.get("rank"),
                    "claims": int(rec.get("claims") or 0),
                    "flagged": int(rec.get("flagged") or 0),
                    "top_reasons_json": json.dumps(rec.get("top_reasons") or []),
                }
            )
    _upsert(session, Hospital.__table__, rows, {})
    session.merge(Meta(key=RISK_SOURCE, value="table"))
    return len(rows)
