"""What the review app derives from the loaded claims: re-admissions and hospital rows.

Recomputed after loads (``yibao review load``, the follower) rather than on
every page: re-admission flags over the review window and each hospital's
counts and risk.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import timedelta

from sqlalchemy import bindparam, case, delete, func, select, text, update
from sqlalchemy.orm import Session

from review.db import meta_value
from review.ingest import BATCH, RISK_SOURCE
from review.models import REVIEW_READMISSION_WINDOW_DAYS, Claim, Hospital


def refresh_readmissions(session: Session, days: int = REVIEW_READMISSION_WINDOW_DAYS) -> int:
    """Mark in-patient stays that began within ``days`` of the same patient's last discharge."""
    rows = session.execute(
        select(Claim.claim_id, Claim.person_key, Claim.admission_date, Claim.discharge_date)
        .where(Claim.claim_type == "inpatient", Claim.person_key.is_not(None))
        .where(Claim.admission_date.is_not(None))
        .order_by(Claim.person_key, Claim.admission_date, Claim.claim_id)
    ).all()
    readmitted: list[str] = []
    last_person, last_discharge = None, None
    for claim_id, key, admitted, discharged in rows:
        if (
            key == last_person
            and admitted is not None  # always: the query selects only dated stays
            and last_discharge is not None
            and timedelta(0) <= admitted - last_discharge <= timedelta(days=days)
        ):
            readmitted.append(claim_id)
        if key != last_person or (
            discharged and (not last_discharge or discharged > last_discharge)
        ):
            last_discharge = discharged
        last_person = key
    session.execute(update(Claim).where(Claim.readmission.is_(True)).values(readmission=False))
    if readmitted:
        session.execute(
            update(Claim.__table__)
            .where(Claim.__table__.c.claim_id == bindparam("cid"))
            .values(readmission=True),
            [{"cid": c} for c in readmitted],
        )
    return len(readmitted)


def refresh_hospitals(session: Session) -> int:
    """Derive each hospital's risk row from its claims' scores.

    Risk score = mean fraud score of its scored claims; rank 1 = riskiest;
    top reasons = the most frequent rule codes and reason features among its
    flagged claims. Once a detector's risk table was loaded, only the claim
    counts are refreshed (and hospitals new to it are added after its ranks).
    """
    stats = session.execute(
        select(
            Claim.hospital_id,
            func.max(Claim.hospital_region),
            func.max(Claim.hospital_level),
            func.count(),
            func.sum(case((Claim.flagged.is_(True), 1), else_=0)),
            func.avg(Claim.fraud_score),
        )
        .where(Claim.hospital_id.is_not(None))
        .group_by(Claim.hospital_id)
    ).all()
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    for hospital_id, score_json in session.execute(
        select(Claim.hospital_id, Claim.score_json).where(Claim.flagged.is_(True))
    ):
        if hospital_id is None:
            continue  # no hospital row to give reasons to (``stats`` skips these claims)
        try:
            rec = json.loads(score_json or "{}")
        except ValueError:
            continue
        for hit in rec.get("rule_hits") or []:
            if isinstance(hit, dict) and hit.get("code"):
                reasons[hospital_id][f"rule {hit['code']}"] += 1
        for reason in (rec.get("reasons") or [])[:3]:
            if isinstance(reason, dict) and reason.get("feature"):
                reasons[hospital_id][str(reason["feature"])] += 1
    ordered = sorted(stats, key=lambda r: (-(r[5] or 0.0), r[0]))
    rows = [
        {
            "hospital_id": hospital_id,
            "region": region,
            "level": level,
            "risk_score": round(float(avg or 0.0), 4),
            "rank": rank,
            "claims": int(claims or 0),
            "flagged": int(flagged or 0),
            "top_reasons_json": json.dumps([r for r, _ in reasons[hospital_id].most_common(5)]),
        }
        for rank, (hospital_id, region, level, claims, flagged, avg) in enumerate(ordered, 1)
    ]
    if meta_value(session, RISK_SOURCE) == "table":
        # The detector's risk table stays authoritative: refresh the counts,
        # and rank hospitals it did not know after those it ranked.
        known = {h.hospital_id: h for h in session.scalars(select(Hospital))}
        last = max((h.rank or 0 for h in known.values()), default=0)
        for row in rows:
            hospital = known.get(row["hospital_id"])
            if hospital is not None:
                hospital.claims, hospital.flagged = row["claims"], row["flagged"]
            else:
                last += 1
                session.add(Hospital(**{**row, "rank": last}))
        session.flush()
        return len(rows)
    session.execute(delete(Hospital))
    for start in range(0, len(rows), BATCH):
        session.execute(Hospital.__table__.insert(), rows[start : start + BATCH])
    return len(rows)


def refresh_derived(session: Session) -> None:
    """Recompute re-admissions and hospital risk rows after a load."""
    refresh_readmissions(session)
    refresh_hospitals(session)
    if session.get_bind().dialect.name == "postgresql":
        # Fresh planner statistics after a bulk load (autovacuum would come later).
        session.execute(text("ANALYZE claims"))
        session.execute(text("ANALYZE claim_rules"))
