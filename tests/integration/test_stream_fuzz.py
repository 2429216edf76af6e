"""Fuzz a real worker with mutated and hostile claim documents: one answer each, no crash.

Hypothesis mutates valid claims (a field replaced by a huge number, an
exponent, deep nesting, a wrong type, a huge string, broken UTF-8, a cut
line...) and the worker must answer every message exactly once, as batch
settlement answers the same bytes, and stay up.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from settlement.engine import Settler
from settlement.jsonio import encode_record
from settlement.policy_loader import load_policy_dir
from streams.broker import create_topics, start_broker
from streams.replay import replay
from streams.topics import SETTLEMENTS, topic_layout
from testkit.sample_claims import make_claims
from testkit.workers import read_topic, start_worker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

BASE = make_claims(40, seed=77, prefix="F")
PATHS = [
    ("claim_id",),
    ("claim_type",),
    ("submitted_at",),
    ("patient",),
    ("patient", "person_id"),
    ("patient", "scheme"),
    ("patient", "insured_region"),
    ("patient", "category"),
    ("hospital", "level"),
    ("hospital", "region"),
    ("admission_date",),
    ("discharge_date",),
    ("items",),
    ("items", 0, "amount"),
    ("items", 0, "category"),
    ("items", 0, "quantity"),
    ("ltc",),
    ("diagnoses",),
    ("discharge_way",),
]
# Raw JSON literals spliced in as they are (json.dumps could not write most of them).
LITERALS = [
    b"1e999999",
    b"-1e999999",
    b"1E-1000000000",
    b"12.3400000000000000000000000001e0",
    b"12.5e1",
    b"9" * 5000,
    b"-0",
    b"0.1",
    b"18446744073709551616",
    b"[" * 3000 + b"]" * 3000,
    b'{"a":' * 1500 + b"1" + b"}" * 1500,
    b'"' + b"x" * 200_000 + b'"',
    b'"\\ud800"',
    b"true",
    b"null",
    b"{}",
    b"[]",
]
PLACEHOLDER = "\x00HOSTILE\x00"


@st.composite
def hostile_line(draw: st.DrawFn) -> bytes:
    claim = json.loads(json.dumps(draw(st.sampled_from(BASE))))
    path = draw(st.sampled_from(PATHS))
    node = claim
    for key in path[:-1]:
        node = node[key] if isinstance(node, dict) or isinstance(key, int) else node
    literal = draw(st.sampled_from(LITERALS))
    node[path[-1]] = PLACEHOLDER
    line = json.dumps(claim, ensure_ascii=False).encode()
    line = line.replace(json.dumps(PLACEHOLDER).encode(), literal)
    damage = draw(st.sampled_from(["none", "none", "cut", "bad-utf8", "crlf"]))
    if damage == "cut":
        line = line[: draw(st.integers(1, max(1, len(line) - 1)))]
    elif damage == "bad-utf8":
        at = draw(st.integers(0, len(line)))
        line = line[:at] + b"\xff\xc0" + line[at:]
    elif damage == "crlf":
        line += b"\r"
    if not line.strip():
        line = b"x"
    return line


@pytest.fixture(scope="module")
def worker_and_broker(tmp_path_factory):
    broker = start_broker()
    create_topics(broker.bootstrap, topic_layout(4))
    worker = start_worker(broker.bootstrap, tmp_path_factory.mktemp("fuzz"), app_id="t-fuzz")
    worker.wait_ready()
    yield worker, broker
    code = worker.stop()
    broker.stop()
    assert code == 0


class Sent:
    """What the module's worker has been sent so far, and batch settlement of it."""

    count: ClassVar[int] = 0
    settler: ClassVar[Settler] = Settler(load_policy_dir(None))
    expected: ClassVar[Counter[str]] = Counter()


@settings(
    max_examples=3,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.generate],  # each example is a round trip through a real worker: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=st.lists(hostile_line(), min_size=60, max_size=60))
def test_every_hostile_message_is_answered_once_as_batch_answers_it(worker_and_broker, lines):
    worker, broker = worker_and_broker
    replay(lines, broker.bootstrap)
    Sent.count += len(lines)
    # batch settlement of the same messages in the same order, state carried over
    Sent.expected.update(_comparable(Sent.settler.settle_json(line, "line")) for line in lines)
    records = read_topic(broker.bootstrap, SETTLEMENTS, want=Sent.count, timeout=120)
    assert worker.process.poll() is None, worker.tail()
    assert len(records) == Sent.count  # one answer per message, none lost, none twice
    got = Counter(_comparable(json.loads(r.value)) for r in records)
    assert got == Sent.expected, (got - Sent.expected, Sent.expected - got)
    assert "yibao_internal_errors_total 0.0" in worker.get("/metrics").decode()


def _comparable(record: dict) -> str:
    """Settled and duplicate records whole; rejected ones by id and error codes (an
    unnamed message's id, ``line`` here and ``topic:partition:offset`` in the stream,
    and the decoders' wording of a JSON error may differ)."""
    if record["status"] != "rejected":
        return encode_record(record)
    claim_id = record["claim_id"]
    if claim_id == "line" or claim_id.count(":") == 2:
        claim_id = "?"
    return f"rejected {claim_id} {sorted(e['code'] for e in record['errors'])}"
