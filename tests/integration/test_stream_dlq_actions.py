"""`yibao dlq resend` and `mark-handled` on a real embedded broker.

Dead letters are written to ``claims.dlq`` with the worker's own headers
(``streams.messages.dlq_headers``); the commands run as the installed program.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from streams.broker import EmbeddedBroker, create_topics, start_broker
from streams.dlq_actions import RESENT_HEADER
from streams.messages import dlq_headers
from streams.replay import read_topic
from streams.topics import CLAIMS, CLAIMS_DLQ, CLAIMS_DLQ_HANDLED, topic_layout

pytestmark = pytest.mark.integration

YIBAO = str(Path(sys.executable).parent / "yibao")


def claim(claim_id: str, person: str) -> bytes:
    return json.dumps(
        {
            "claim_id": claim_id,
            "claim_type": "outpatient",
            "patient": {"person_id": person, "insured_region": "441800"},
            "hospital": {"hospital_id": "QY-H01", "region": "441800", "level": 2},
        }
    ).encode()


A = claim("A1", "441802198001010012")
B = claim("B1", "441802198001010020")


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedBroker]:
    b = start_broker()
    try:
        create_topics(b.bootstrap, topic_layout(2))
        producer = KafkaProducer(bootstrap_servers=b.bootstrap, acks="all")
        rejected = {"errors": [{"code": "malformed", "message": "no policy for 2026-03-01"}]}
        for value, claim_id, source_offset in ((A, "A1", 5), (B, "B1", 6), (B, "B1", 6)):
            # The third is the second written again, as after a worker crash.
            headers = dlq_headers(("claims", 1, source_offset), {**rejected, "claim_id": claim_id})
            producer.send(CLAIMS_DLQ, value, partition=0, headers=headers)
        producer.flush()
        producer.close()
        yield b
    finally:
        b.stop()


def yibao(broker: EmbeddedBroker, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KAFKA_BOOTSTRAP": broker.bootstrap}
    return subprocess.run(
        [YIBAO, "dlq", *args], env=env, capture_output=True, text=True, timeout=120
    )


def resent(broker: EmbeddedBroker, want: int) -> list[tuple[bytes, dict[str, bytes]]]:
    records = read_topic(broker.bootstrap, CLAIMS, want=want, idle=0.5, timeout=30)
    return [(r.value, dict(r.headers)) for r in records]


def exported(broker: EmbeddedBroker, *flags: str) -> list[dict]:
    done = yibao(broker, "export", "--idle", "1", *flags)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_resend_mark_and_export_unhandled(broker: EmbeddedBroker) -> None:
    # nothing handled yet: --unhandled lists all three (the marks topic does not exist)
    assert len(exported(broker, "--unhandled")) == 3

    done = yibao(broker, "resend", "--claim-id", "A1", "--note", "policy 2026 added")
    assert done.returncode == 0, done.stderr
    assert "1 claims re-sent; 1 dead letters marked handled" in done.stdout
    ((value, headers),) = resent(broker, 1)
    assert value == A  # the original bytes
    assert headers[RESENT_HEADER] == f"{CLAIMS_DLQ}:0:0".encode()
    assert headers["yibao.kind"] == b"realtime"

    done = yibao(broker, "mark-handled", "--offset", "0:1", "--note", "ticket 7")
    assert done.returncode == 0, done.stderr
    left = exported(broker, "--unhandled")
    assert [(r["claim_id"], r["dlq"]["offset"]) for r in left] == [("B1", 2)]
    assert len(exported(broker)) == 3  # without the flag: everything, as before

    marks = read_topic(broker.bootstrap, CLAIMS_DLQ_HANDLED, want=2, idle=0.5, timeout=30)
    by_offset = {json.loads(m.value)["dlq"]["offset"]: json.loads(m.value) for m in marks}
    assert by_offset[0]["action"] == "resent" and by_offset[0]["note"] == "policy 2026 added"
    assert by_offset[1]["action"] == "handled" and by_offset[1]["claim_id"] == "B1"

    # handled before: refused, unless --again; a dead letter written twice is sent once
    done = yibao(broker, "resend", "--claim-id", "B1")
    assert done.returncode == 2
    assert "handled before: B1 (handled" in done.stderr and "--again" in done.stderr
    done = yibao(broker, "resend", "--claim-id", "B1", "--again")
    assert done.returncode == 0, done.stderr
    assert "1 claims re-sent; 2 dead letters marked handled" in done.stdout
    values = [v for v, _ in resent(broker, 2)]
    assert sorted(values) == sorted([A, B])
    assert exported(broker, "--unhandled") == []


def test_a_selector_that_finds_nothing_changes_nothing(broker: EmbeddedBroker) -> None:
    done = yibao(broker, "resend", "--claim-id", "NOPE", "--offset", "0:99")
    assert done.returncode == 2
    assert "no such dead letter: claim id NOPE, dead letter 0:99" in done.stderr
    done = yibao(broker, "mark-handled")
    assert done.returncode == 2
    assert "--claim-id or --offset" in done.stderr
    done = yibao(broker, "mark-handled", "--offset", "zero")
    assert done.returncode == 2
    assert "PARTITION:OFFSET" in done.stderr
