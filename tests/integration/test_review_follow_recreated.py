"""The review follower notices a recreated topic (a second ``make demo`` starts an empty broker
while the review DB keeps the last run's offsets) and reads it from the beginning."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from review.db import make_engine, session_factory, upgrade_head
from review.follow import follow
from review.follow_metrics import FollowMetrics
from review.models import Claim, StreamOffset
from streams.broker import create_topics, running_broker
from streams.topics import CLAIMS_REALTIME, FRAUD_FLAGS, SETTLEMENTS
from testkit.review_data import make_dataset
from tests.integration.test_review_follow import produce

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
LAYOUT = [(CLAIMS_REALTIME, 2), (SETTLEMENTS, 2), (FRAUD_FLAGS, 2)]


def test_follower_reads_a_recreated_topic_from_the_beginning(tmp_path):
    claims, records, scores = make_dataset(100, seed=8)
    engine = make_engine(f"sqlite:///{tmp_path / 'review.db'}")
    upgrade_head(engine)
    sessions = session_factory(engine)
    with running_broker() as first:
        create_topics(first.bootstrap, LAYOUT)
        produce(first.bootstrap, CLAIMS_REALTIME, claims[:30])
        produce(first.bootstrap, SETTLEMENTS, records[:30])
        produce(first.bootstrap, FRAUD_FLAGS, scores[:30])
        before = asyncio.run(follow(first.bootstrap, sessions, until_idle_s=2.0))
    assert before.loaded["claims"] == 30
    with sessions() as db:
        stored = {(o.topic, o.partition): o for o in db.scalars(select(StreamOffset))}
    assert stored and all(o.identity for o in stored.values())

    # The next run's broker starts empty: more claims than before on the claim topic
    # (stored offsets point into the new messages), none at all on fraud.flags (they
    # point past the end).
    metrics = FollowMetrics()
    with running_broker() as second:
        create_topics(second.bootstrap, LAYOUT)
        produce(second.bootstrap, CLAIMS_REALTIME, claims[30:])
        produce(second.bootstrap, SETTLEMENTS, records[30:40])
        after = asyncio.run(follow(second.bootstrap, sessions, until_idle_s=2.0, metrics=metrics))
        # and a third run on the same topics starts where the second stopped
        produce(second.bootstrap, SETTLEMENTS, records[40:45])
        again = asyncio.run(follow(second.bootstrap, sessions, until_idle_s=2.0))
    assert after.loaded["claims"] == 70  # every claim of the new topic, none skipped
    assert after.loaded["settlements"] == 10
    assert again.loaded["settlements"] == 5 and again.loaded["claims"] == 0
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Claim)) == 100
    text = metrics.render().decode()
    for topic in (CLAIMS_REALTIME, SETTLEMENTS, FRAUD_FLAGS):
        assert f'yibao_follow_topic_recreated_total{{topic="{topic}"}} 2.0' in text, topic
    assert 'yibao_follow_records_total{kind="claims"} 70.0' in text
    assert "yibao_follow_lag{" in text
