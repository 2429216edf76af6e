"""Synthetic claims, settlements and score records for tests, the benchmark and demos.

The scores here are fabricated deterministically from the claim (a stand-in
until a detector's output is at hand); they are test data, not a detector.
Claims are valid under spec sections 2 and 5 and are settled by the real engine.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from settlement.idnumber import check_character

REGIONS = ("441800", "440100", "440300", "440600", "441900")
DIAGNOSES = ("J18.9", "I10", "E11.9", "K35.8", "S72.0", "N18.9")
RULES = {
    "READMIT_SAME_DX": "re-admitted {d} days after discharge, same diagnosis",
    "COST_OUTLIER": "total cost {r:.1f}x the median of peer hospitals",
    "WEEKEND_BULK": "many items billed on a weekend",
    "LONG_STAY": "length of stay {d} days, above the peer 95th percentile",
}


def identity_number(rng: random.Random, region: str) -> str:
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 60))
    first17 = f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + check_character(first17)


def make_claims(
    n: int, seed: int = 7, start: date = date(2026, 1, 5), hospitals: int = 20, people: int = 0
) -> list[dict[str, Any]]:
    """``n`` valid claims over about four months, a fifth of them inter-city."""
    rng = random.Random(seed)
    people = people or max(1, n // 3)
    persons = []
    for _ in range(people):
        region = rng.choice(REGIONS)
        persons.append((identity_number(rng, region), region, rng.choice(("employee", "resident"))))
    hosp = [
        (f"H{region}-{i:02d}", region, 1 + i % 3)
        for i in range(hospitals)
        for region in (REGIONS[i % len(REGIONS)],)
    ]
    claims = []
    for i in range(n):
        pid, insured, scheme = persons[rng.randrange(people)]
        local = [h for h in hosp if h[1] == insured] or hosp
        hospital_id, h_region, level = rng.choice(hosp if rng.random() < 0.2 else local)
        claim_type = rng.choices(("inpatient", "outpatient", "ltc"), (6, 3, 1))[0]
        if claim_type == "ltc" and h_region != insured:
            claim_type = "inpatient"
        admitted = start + timedelta(days=rng.randrange(0, 120))
        stay = 0 if claim_type == "outpatient" else rng.randrange(1, 15)
        discharged = admitted + timedelta(days=stay)
        items = [
            {
                "code": f"X{rng.randrange(100):03d}",
                "category": rng.choice("AAB C".replace(" ", "")),
                "amount": f"{rng.randrange(1000, 800000) / 100:.2f}",
                "quantity": rng.randrange(1, 4),
            }
            for _ in range(rng.randrange(1, 5))
        ]
        claim: dict[str, Any] = {
            "claim_id": f"C{seed:02d}-{i:06d}",
            "claim_type": claim_type,
            "submitted_at": (
                datetime.combine(discharged, datetime.min.time())
                + timedelta(hours=rng.randrange(1, 72))
            ).isoformat()
            + "+08:00",
            "patient": {
                "person_id": pid,
                "scheme": scheme,
                "insured_region": insured,
                "intercity_registered": rng.random() < 0.5,
            },
            "hospital": {"hospital_id": hospital_id, "region": h_region, "level": level},
            "admission_date": admitted.isoformat(),
            "discharge_date": discharged.isoformat(),
            "diagnosis": rng.choice(DIAGNOSES),
            "items": items,
        }
        if claim_type == "ltc":
            claim["ltc"] = {"setting": rng.choice(("institutional", "home")), "days": stay + 1}
        claims.append(claim)
    return claims


def settle_claims(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Settle ``claims`` in order with the real engine and the bundled policies."""
    from settlement.engine import Settler
    from settlement.policy_loader import load_policy_dir

    settler = Settler(load_policy_dir(None))
    return [settler.settle(claim, f"line:{i}") for i, claim in enumerate(claims, 1)]


def fake_score(claim: dict[str, Any], total: str, threshold: float = 0.5) -> dict[str, Any]:
    """A deterministic score record (the brief's format) for one claim: test data."""
    rng = random.Random(claim["claim_id"])
    score = round(rng.random() ** 1.5, 4)
    flagged = score >= threshold
    hits = []
    if flagged:
        for code in rng.sample(sorted(RULES), rng.randrange(0, 3)):
            hits.append(
                {
                    "code": code,
                    "reason": RULES[code].format(d=rng.randrange(1, 20), r=1 + rng.random() * 3),
                }
            )
    ratio = round(1 + rng.random() * 3, 1)
    reasons = [
        {
            "feature": "cost_vs_peer_ratio",
            "value": ratio,
            "contribution": round(score * 0.5, 3),
            "text": f"total cost {ratio}x the median of level-{claim['hospital']['level']} "
            f"hospitals for {claim['diagnosis']}",
        },
        {
            "feature": "items_per_day",
            "value": len(claim["items"]),
            "contribution": round(score * 0.2, 3),
            "text": f"{len(claim['items'])} items billed per day of stay",
        },
    ]
    return {
        "claim_id": claim["claim_id"],
        "fraud_score": score,
        "flagged": flagged,
        "threshold": threshold,
        "model_version": "sample/0",
        "rule_hits": hits,
        "reasons": reasons,
        "hospital_id": claim["hospital"]["hospital_id"],
        "insured_region": claim["patient"]["insured_region"],
        "scheme": claim["patient"]["scheme"],
        "claim_type": claim["claim_type"],
        "discharge_date": claim["discharge_date"],
        "total": total,
    }


def make_dataset(
    n: int, seed: int = 7
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Claims, their settlement records and fabricated score records."""
    claims = make_claims(n, seed=seed)
    records = settle_claims(claims)
    rng = random.Random(seed)
    for claim, record in zip(claims, records, strict=True):
        # As `yibao review follow` stamps it from the message time: 1 to 96 hours later.
        submitted = datetime.fromisoformat(claim["submitted_at"])
        record["settled_at"] = (submitted + timedelta(hours=rng.uniform(1, 96))).isoformat()
    scores = [
        fake_score(claim, rec.get("total", "0.00"))
        for claim, rec in zip(claims, records, strict=True)
    ]
    return claims, records, scores


DEMO_USERS = (
    ("clara", "clerk"),
    ("colin", "clerk"),
    ("sam", "supervisor"),
    ("dana", "data_scientist"),
)


def demo_password(name: str) -> str:
    """The demo accounts' password (tests and demos only)."""
    return f"{name}-demo-pass"


def build_demo_db(database_url: str, n: int, seed: int = 7) -> dict[str, Any]:
    """Create (migrate) a database, load ``n`` sample claims and the demo users.

    Returns the claims, records and scores that were loaded, for assertions.
    """
    from datetime import UTC

    from review import ingest
    from review.db import make_engine, session_factory, upgrade_head
    from review.derived import refresh_derived

    engine = make_engine(database_url)
    upgrade_head(engine)
    claims, records, scores = make_dataset(n, seed=seed)
    with session_factory(engine)() as db:
        ingest.load_claim_objects(db, claims)
        ingest.load_settlement_objects(db, records)
        ingest.load_score_objects(db, scores)
        refresh_derived(db)
        add_demo_users(db, datetime.now(UTC).replace(tzinfo=None))
        db.commit()
    engine.dispose()
    return {"claims": claims, "records": records, "scores": scores}


def add_demo_users(db: Any, created_at: datetime) -> None:
    """Add the sample accounts (``DEMO_USERS``, passwords from ``demo_password``)."""
    from review.models import User
    from review.security import hash_password

    for name, role in DEMO_USERS:
        db.add(
            User(
                name=name,
                role=role,
                password_hash=hash_password(demo_password(name)),
                created_at=created_at,
            )
        )
