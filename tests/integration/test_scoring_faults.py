"""A scoring fault costs a batch its model flags, never its certain audit-rule flags."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from settlement.claim import parse_claim
from settlement.policy_loader import load_policy_dir
from streams.audit_rules import StreamRules
from streams.broker import create_topics, running_broker
from streams.metrics import StreamMetrics
from streams.outbox import Outbox
from streams.scoring_pipeline import ScoringPipeline
from streams.topics import FRAUD_FLAGS
from testkit.rule_hit_claims import rule_hit_claims

pytestmark = pytest.mark.integration


class BrokenScorer:
    """A loaded model whose feature step fails (a fault injected on purpose)."""

    version = "m/1"

    def features(self, claims: list[Any]) -> Any:
        raise RuntimeError("feature state corrupted")


async def send_batch(bootstrap: str, claims: list[Any], metrics: StreamMetrics) -> int:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        pipeline = ScoringPipeline(Outbox(producer, {FRAUD_FLAGS: 1}), metrics, StreamRules.load())
        futures, flags = await pipeline.submit(BrokenScorer(), claims)
        await asyncio.gather(*futures)
        return flags
    finally:
        await producer.stop()


def read_flags(bootstrap: str) -> list[dict[str, Any]]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        FRAUD_FLAGS, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )  # fmt: skip
    try:
        return [json.loads(m.value) for m in consumer]
    finally:
        consumer.close()


def test_failed_features_still_send_the_certain_rule_flags() -> None:
    book = load_policy_dir(None)
    claims = [parse_claim(c, book).claim for c in rule_hit_claims()]
    assert all(c is not None for c in claims)
    metrics = StreamMetrics()
    with running_broker() as broker:
        create_topics(broker.bootstrap, [(FRAUD_FLAGS, 1)])
        sent = asyncio.run(send_batch(broker.bootstrap, claims, metrics))
        flags = read_flags(broker.bootstrap)
    assert sent == 1 and [f["claim_id"] for f in flags] == ["RH-CERTAIN"]
    flag = flags[0]
    assert flag["flagged_by_rule"] is True and flag["fraud_score"] is None
    assert flag["model_version"] == "m/1"
    assert sorted(h["rule_code"] for h in flag["audit_hits"]) == ["YB-BZ-001", "YB-XB-002"]
    assert {h["amount_at_stake"] for h in flag["audit_hits"]} == {"20.00", "3.00"}
    assert metrics.scoring_errors._value.get() == 1  # the fault is counted
