"""`yibao review reset-offsets` rewrites the follower's offsets in a real review database."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from review.db import make_engine, session_factory, upgrade_head
from review.follow import follow
from review.models import StreamOffset
from streams.broker import create_topics, running_broker
from streams.topics import CLAIMS_REALTIME, FRAUD_FLAGS, SETTLEMENTS
from testkit.review_data import make_dataset

pytestmark = pytest.mark.integration

LINE = re.compile(r"^(?P<topic>[\w.]+)\[(?P<partition>\d+)\]: (?P<old>\w+) -> (?P<new>\w+)$")


def produce(bootstrap: str, topic: str, rows: list[dict]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for row in rows:
        producer.send(topic, key=row["claim_id"].encode(), value=json.dumps(row).encode())
    producer.flush()
    producer.close()


def reset(database_url: str, bootstrap: str, to: str) -> tuple[dict, str]:
    """Run the command; return its per-partition lines as {(topic, partition): (old, new)}."""
    env = {**os.environ, "DATABASE_URL": database_url, "KAFKA_BOOTSTRAP": bootstrap}
    done = subprocess.run(
        [sys.executable, "-m", "yibao.cli", "review", "reset-offsets", "--to", to],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    *lines, summary = done.stdout.strip().splitlines()
    changes = {}
    for line in lines:
        m = LINE.match(line)
        assert m, line
        changes[m["topic"], int(m["partition"])] = (m["old"], m["new"])
    return changes, summary


def stored(sessions) -> dict[tuple[str, int], int]:
    with sessions() as db:
        return {(o.topic, o.partition): o.next_offset for o in db.scalars(select(StreamOffset))}


def test_reset_to_earliest_rereads_and_to_latest_skips(tmp_path: Path) -> None:
    claims, records, _ = make_dataset(40, seed=8)
    url = f"sqlite:///{tmp_path / 'review.db'}"
    engine = make_engine(url)
    upgrade_head(engine)
    sessions = session_factory(engine)
    with running_broker() as broker:
        create_topics(broker.bootstrap, [(CLAIMS_REALTIME, 2), (SETTLEMENTS, 2), (FRAUD_FLAGS, 1)])
        produce(broker.bootstrap, CLAIMS_REALTIME, claims[:30])
        produce(broker.bootstrap, SETTLEMENTS, records[:30])
        first = asyncio.run(follow(broker.bootstrap, sessions, until_idle_s=1.5))
        assert first.loaded["claims"] == 30
        before = stored(sessions)
        assert before and all(n > 0 for n in before.values())

        # earliest: every stored offset is forgotten, and the follower reads everything again
        changes, summary = reset(url, broker.bootstrap, "earliest")
        assert changes == {key: (str(n), "beginning") for key, n in before.items()}
        assert summary.startswith(f"{len(before)} stored offsets removed")
        assert stored(sessions) == {}
        again = asyncio.run(follow(broker.bootstrap, sessions, until_idle_s=1.5))
        assert again.loaded["claims"] == 30 and again.loaded["settlements"] == 30
        assert stored(sessions) == before

        # latest: what is on the topics now is skipped; only later messages are read
        produce(broker.bootstrap, CLAIMS_REALTIME, claims[30:35])
        changes, summary = reset(url, broker.bootstrap, "latest")
        after = stored(sessions)
        assert set(after) == {(t, p) for t, n in ((CLAIMS_REALTIME, 2), (SETTLEMENTS, 2),
                                                   (FRAUD_FLAGS, 1)) for p in range(n)}  # fmt: skip
        assert after[FRAUD_FLAGS, 0] == 0 and changes[FRAUD_FLAGS, 0] == ("beginning", "0")
        moved = [k for k in changes if k[0] == CLAIMS_REALTIME]
        assert moved and all(after[k] > before[k] for k in moved)
        assert all(changes[k] == (str(before[k]), str(after[k])) for k in moved)
        assert "partitions now at their end" in summary
        produce(broker.bootstrap, CLAIMS_REALTIME, claims[35:])
        last = asyncio.run(follow(broker.bootstrap, sessions, until_idle_s=1.5))
    assert last.loaded["claims"] == 5  # claims[35:], not claims[30:35]
