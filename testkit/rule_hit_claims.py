"""Three hand-made claims with known audit-rule hits, loaded into a review DB for tests.

The hits are the real rule engine's (the bundled catalogue, docs/rules.md),
carried the way ``yibao score`` and the stream's flags carry them. One
hospital in Tianhe District (``H44010600001``) bills them all.
"""

from __future__ import annotations

import io
import json
from typing import Any

from settlement.idnumber import check_character

HOSPITAL = "H44010600001"  # a hospital in Tianhe District (440106), Guangzhou


def _person(birth: str, serial: str) -> str:
    first17 = f"440106{birth}{serial}"
    return first17 + check_character(first17)


MAN = _person("19860302", "001")  # 17th digit odd: a man


def _claim(claim_id: str, items: list[dict[str, Any]], diagnosis: str = "E11.9") -> dict[str, Any]:
    return {
        "claim_id": claim_id,
        "claim_type": "outpatient",
        "submitted_at": "2026-03-02T10:00:00+08:00",
        "patient": {"person_id": MAN, "scheme": "employee", "insured_region": "440100"},
        "hospital": {"hospital_id": HOSPITAL, "region": "440100", "level": 2},
        "admission_date": "2026-03-02",
        "discharge_date": "2026-03-02",
        "diagnosis": diagnosis,
        "items": items,
    }


def rule_hit_claims() -> list[dict[str, Any]]:
    """RH-CERTAIN (two certain hits), RH-SUSPICIOUS (one suspicious), RH-CLEAN (none)."""
    return [
        # A man billed a gynaecological examination (YB-XB-002, certain, 20.00 at
        # stake) and a consultation 3.00 above its level-2 ceiling (YB-BZ-001, certain).
        _claim(
            "RH-CERTAIN",
            [
                {"code": "311201001000000", "category": "A", "amount": "20.00", "quantity": 1},
                {"code": "110200001000000", "category": "A", "amount": "18.00", "quantity": 1},
            ],
        ),
        # HbA1c twice on one claim: once more than a month allows (YB-PC-002, suspicious).
        {
            **_claim(
                "RH-SUSPICIOUS",
                [{"code": "250302001000000", "category": "A", "amount": "110.00", "quantity": 2}],
            ),
            "diagnoses": ["I10", "Q99.9"],
        },
        # An honest claim, with a code and a diagnosis no reference file knows.
        _claim(
            "RH-CLEAN",
            [
                {"code": "110200001000000", "category": "A", "amount": "10.00", "quantity": 1},
                {"code": "ZZ9999", "category": "C", "amount": "5.00", "quantity": 1},
            ],
            diagnosis="Q99.9",
        ),
    ]


def engine_hits(claims: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each claim's hits as ``yibao rules check`` gives them (claims folded in order)."""
    from detection.rule_batch import check_lines
    from detection.rule_engine import RuleEngine
    from detection.rule_state import RuleState
    from detection.rulebook_loader import load_rule_dir
    from settlement.policy_loader import load_policy_dir

    lines = io.BytesIO(b"".join(json.dumps(c).encode() + b"\n" for c in claims))
    engine = RuleEngine(load_rule_dir(None))
    answers = check_lines(engine, RuleState(), load_policy_dir(None), lines)
    return {a["claim_id"]: a["hits"] for a in answers}


def score_records(hits: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """RH-CERTAIN as the stream's flag of a claim only a rule flags (no model score);
    the others as ``yibao score`` writes them, the model flagging both."""
    common = {"hospital_id": HOSPITAL, "insured_region": "440100", "scheme": "employee"}
    return [
        {
            "claim_id": "RH-CERTAIN",
            "fraud_score": None,
            "flagged": False,
            "flagged_by_rule": True,
            "model_version": "sample/0",
            "audit_hits": hits["RH-CERTAIN"],
            "rule_hits": [],
            "reasons": [],
            **common,
        },
        {
            "claim_id": "RH-SUSPICIOUS",
            "fraud_score": 0.91,
            "flagged": True,
            "threshold": 0.5,
            "model_version": "sample/0",
            "rule_hits": [{"code": "COST_OUTLIER", "reason": "total cost 3.1x the median"}],
            "reasons": [],
            "audit_hits": hits["RH-SUSPICIOUS"],
            "flagged_by_rule": False,
            **common,
        },
        {
            "claim_id": "RH-CLEAN",
            "fraud_score": 0.7,
            "flagged": True,
            "threshold": 0.5,
            "audit_hits": hits["RH-CLEAN"],
            "flagged_by_rule": False,
            **common,
        },
    ]


def load_rule_hit_claims(database_url: str) -> dict[str, list[dict[str, Any]]]:
    """Settle and load the three claims, their records and scores into a migrated DB.

    Returns each claim's hits, for assertions.
    """
    from review import ingest
    from review.db import make_engine, session_factory
    from review.derived import refresh_derived
    from testkit.review_data import settle_claims

    claims = rule_hit_claims()
    hits = engine_hits(claims)
    records = settle_claims(claims)
    engine = make_engine(database_url)
    with session_factory(engine)() as db:
        ingest.load_claim_objects(db, claims)
        ingest.load_settlement_objects(db, records)
        ingest.load_score_objects(db, score_records(hits))
        refresh_derived(db)
        db.commit()
    engine.dispose()
    return hits
