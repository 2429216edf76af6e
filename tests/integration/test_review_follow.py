"""The review DB follows the stream's topics on a real (embedded Tansu) broker."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from review.db import make_engine, session_factory, upgrade_head
from review.follow import follow
from review.models import AuditHit, Claim, Settlement, StreamOffset
from settlement.claim import parse_claim
from settlement.policy_loader import load_policy_dir
from streams.audit_rules import rule_flag
from streams.broker import create_topics, running_broker
from streams.topics import CLAIMS_REALTIME, FRAUD_FLAGS, SETTLEMENTS
from testkit.review_data import make_dataset

pytestmark = pytest.mark.integration


def produce(bootstrap: str, topic: str, rows: list[dict]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for row in rows:
        producer.send(topic, key=row["claim_id"].encode(), value=json.dumps(row).encode())
    producer.send(topic, key=b"bad", value=b"{not json")
    producer.flush()
    producer.close()


def test_follow_loads_topics_and_resumes_from_stored_offsets(tmp_path):
    claims, records, scores = make_dataset(120, seed=5)
    for record in records:
        del record["settled_at"]  # as the worker produces them
    started = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=5)
    flags = [s for s in scores if s["flagged"]]
    # A claim the model did not flag, flagged by a certain audit-rule hit: the
    # stream's own flag (streams.audit_rules.rule_flag) with its hit.
    ruled = next(c for c, s in zip(claims[:80], scores, strict=False) if not s["flagged"])
    hit = {
        "rule_code": "YB-XB-002",
        "result": "certain",
        "item_index": 0,
        "item_code": ruled["items"][0]["code"],
        "evidence": {
            "rule": "诊疗项目限定性别",
            "knowledge": {"sex": "F"},
            "observed": {"sex": "M"},
        },
        "amount_at_stake": "12.34",
    }
    parsed = parse_claim(ruled, load_policy_dir(None)).claim
    assert parsed is not None
    rule_only = rule_flag(parsed, [hit], "sample/0")
    engine = make_engine(f"sqlite:///{tmp_path / 'review.db'}")
    upgrade_head(engine)
    sessions = session_factory(engine)
    with running_broker() as broker:
        create_topics(broker.bootstrap, [(CLAIMS_REALTIME, 2), (SETTLEMENTS, 2), (FRAUD_FLAGS, 2)])
        produce(broker.bootstrap, CLAIMS_REALTIME, claims[:80])
        produce(broker.bootstrap, SETTLEMENTS, records[:80])
        produce(broker.bootstrap, FRAUD_FLAGS, [f for f in flags if f in scores[:80]] + [rule_only])
        first = asyncio.run(follow(broker.bootstrap, sessions, until_idle_s=2.0))
        assert first.loaded["claims"] == 80 and first.bad == 3

        produce(broker.bootstrap, CLAIMS_REALTIME, claims[80:])
        produce(broker.bootstrap, SETTLEMENTS, records[80:])
        produce(broker.bootstrap, FRAUD_FLAGS, [f for f in flags if f in scores[80:]])
        second = asyncio.run(follow(broker.bootstrap, sessions, until_idle_s=2.0))
    # The second run starts where the first stopped: only the new messages.
    assert second.loaded["claims"] == 40
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Claim)) == 120
        assert db.scalar(select(func.count()).select_from(Settlement)) == 120
        flagged = db.scalar(select(func.count()).select_from(Claim).where(Claim.flagged.is_(True)))
        assert flagged == len(flags) + 1
        stored = db.scalars(select(AuditHit).where(AuditHit.claim_id == ruled["claim_id"])).one()
        assert (stored.rule_code, stored.result, stored.amount_at_stake_fen) == (
            "YB-XB-002",
            "certain",
            1234,
        )
        assert all(o.next_offset > 0 for o in db.scalars(select(StreamOffset)))
        # Settled when the worker produced the record: the message time.
        stamps = db.scalars(select(Settlement.settled_at)).all()
        assert all(started <= t <= started + timedelta(minutes=5) for t in stamps)
        masked = db.scalars(select(Claim.person_masked)).all()
        assert all("********" in m for m in masked)
