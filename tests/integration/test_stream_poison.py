"""Hostile and misrouted input against a real worker: nothing stops it, nothing is paid twice.

Poison messages (a huge exponent, 5,000-deep nesting, a 5 MB message, broken
UTF-8) come first, then a claim re-sent on every other partition of ``claims``
and on the ingress topics, then 1,000 valid claims: the worker answers each
message once, keeps every rejected one in ``claims.dlq`` with its reasons, pays
the re-sent claim once and answers its copies ``duplicate``, wherever they landed.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest
from kafka import KafkaProducer

from settlement.engine import Settler
from settlement.jsonio import encode_record
from settlement.policy_loader import load_policy_dir
from streams.broker import create_topics, start_broker
from streams.replay import replay
from streams.routing import ORIGIN_HEADER, person_of, person_partition
from streams.topics import (
    CLAIMS,
    CLAIMS_DLQ,
    CLAIMS_INTERCITY,
    CLAIMS_REALTIME,
    SETTLEMENTS,
    topic_layout,
)
from testkit.sample_claims import make_claims
from testkit.workers import read_topic, start_worker, wait_for_claims

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PARTITIONS = 4


def poison_lines(template: dict) -> dict[str, bytes]:
    """Hostile messages by name; each must be answered ``rejected`` and dead-lettered."""
    huge = json.dumps({**template, "claim_id": "POISON-EXP"}).encode()
    first_amount = json.dumps(template["items"][0]["amount"]).encode()
    huge = huge.replace(first_amount, b"1e999999", 1)
    deep = b'{"claim_id": "POISON-DEEP", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    return {
        "exponent": huge,
        "deep": deep,
        "bare-deep": b"[" * 5000 + b"]" * 5000,
        "giant": b'{"claim_id": "POISON-BIG", "note": "' + b"x" * (5 << 20) + b'"}',
        "utf8": b'{"claim_id": "POISON-UTF8", "x": "\xff\xfe"}',
    }


def test_poison_and_misrouted_resends_stop_nothing_and_pay_once(tmp_path):
    broker = start_broker()
    worker = None
    try:
        create_topics(broker.bootstrap, topic_layout(PARTITIONS))
        worker = start_worker(broker.bootstrap, tmp_path, app_id="t-poison")
        worker.wait_ready()
        resent = make_claims(1, seed=42, prefix="A")[0]
        resent["claim_id"] = "A-V1"
        resent_line = json.dumps(resent).encode()
        person = resent["patient"]["person_id"]
        home = person_partition(person, PARTITIONS)
        poison = poison_lines(make_claims(1, seed=43)[0])

        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, max_request_size=16 << 20)
        # the claim settles where it belongs, then the hostile messages arrive
        producer.send(CLAIMS, resent_line, key=person.encode()).get(timeout=20)
        forwarded = 0  # a poison message naming a person is forwarded to its partition first
        for n, line in enumerate(poison.values()):
            producer.send(CLAIMS, line, partition=n % PARTITIONS).get(timeout=20)
            owner = person_of(json.loads(line)) if line == poison["exponent"] else None
            forwarded += owner is not None and person_partition(owner, PARTITIONS) != n % PARTITIONS
        # the same claim again on every other partition, unkeyed, and on the ingress topics
        copies = 0
        for n in range(PARTITIONS):
            if n != home:
                producer.send(CLAIMS, resent_line, partition=n).get(timeout=20)
                copies += 1
        for topic in (CLAIMS_REALTIME, CLAIMS_INTERCITY):
            producer.send(topic, resent_line, partition=(home + 1) % PARTITIONS).get(timeout=20)
            producer.send(topic, resent_line, key=person.encode()).get(timeout=20)
            copies += 2
        producer.close()
        valid = make_claims(1000, seed=44, prefix="V")
        valid_lines = [json.dumps(c).encode() for c in valid]
        replay(valid_lines, broker.bootstrap)

        ids = {c["claim_id"] for c in valid} | {"A-V1"}
        records = [json.loads(r.value) for r in wait_for_claims(broker.bootstrap, SETTLEMENTS, ids)]
        answers = defaultdict(list)
        for r in records:
            answers[r["claim_id"]].append(r)
        # every copy of the re-sent claim is answered (forwarded to its person's partition)
        while len(answers["A-V1"]) < 1 + copies:
            more = read_topic(broker.bootstrap, SETTLEMENTS, want=len(records) + 1, timeout=30)
            records = [json.loads(r.value) for r in more]
            answers = defaultdict(list)
            for r in records:
                answers[r["claim_id"]].append(r)
        dlq = read_topic(broker.bootstrap, CLAIMS_DLQ, want=len(poison))
        metrics = worker.get("/metrics").decode()
        assert worker.process.poll() is None, worker.tail()  # still up
    finally:
        code = worker.stop() if worker is not None else 0
        broker.stop()
    assert code == 0

    # the re-sent claim: paid once, every copy "duplicate" with the same amounts
    resent_answers = answers["A-V1"]
    assert Counter(r["status"] for r in resent_answers) == {"settled": 1, "duplicate": copies}
    settled = next(r for r in resent_answers if r["status"] == "settled")
    for r in resent_answers:
        assert {**r, "status": "settled"} == settled

    # the 1,000 valid claims behind the poison: settled as batch settles them
    settler = Settler(load_policy_dir(None))
    settler.settle_json(resent_line, "line:1")
    expected = [settler.settle_json(line, f"line:{i}") for i, line in enumerate(valid_lines, 2)]
    got = {r["claim_id"]: r for r in records if r["claim_id"].startswith("V")}
    assert len(got) == 1000
    assert [encode_record(got[e["claim_id"]]) for e in expected] == [
        encode_record(e) for e in expected
    ]

    # each poison message: one rejected answer and a dead letter with reasons
    rejected = [r for r in records if r["status"] == "rejected"]
    assert len(rejected) == len(poison)
    letters = {}
    for letter in dlq:
        headers = dict(letter.headers)
        letters[headers["yibao.claim_id"].decode()] = (letter, headers)
    assert len(letters) == len(poison)
    codes = {}
    for claim_id, (_letter, headers) in letters.items():
        reasons = json.loads(headers["yibao.reasons"])
        assert reasons and all(e["code"] and e["message"] for e in reasons)
        codes[claim_id] = {e["code"] for e in reasons}
        assert "yibao.error" not in headers  # rejected for the input, not a fault of ours
    assert codes["POISON-EXP"] == {"invalid_amount"}
    assert all(c == {"malformed"} for k, c in codes.items() if k != "POISON-EXP")
    # the 5 MB message is kept up to the message limit, and says how long it was
    giant = next(v for v in letters.values() if b"POISON-BIG" in v[0].value)
    assert int(giant[1]["yibao.truncated_from"]) == len(poison["giant"])
    assert giant[0].value == poison["giant"][: 1 << 20]
    assert "yibao_internal_errors_total 0.0" in metrics
    counted = [ln for ln in metrics.splitlines() if ln.startswith("yibao_forwarded_total ")]
    assert counted == [f"yibao_forwarded_total {float(copies + forwarded)}"]
    assert ORIGIN_HEADER  # forwarded copies carry their first-read coordinates (unit-tested)
