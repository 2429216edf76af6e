"""The worker's message handling: a valid claim on ``claims`` is read by the typed fast
path, and answers, routes and forwards exactly as the decoded-JSON path does."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from settlement.claim import Claim, parse_claim
from settlement.engine import Settler
from settlement.jsonio import decode_claim
from settlement.policy_loader import load_policy_dir
from streams.messages import MessageRules
from streams.routing import KIND_HEADER, kind_of, person_of, person_partition
from streams.topics import CLAIMS
from testkit.sample_claims import make_claims

PARTITIONS = 4


@pytest.fixture(scope="module")
def rules() -> MessageRules:
    return MessageRules(load_policy_dir(), 1 << 20, PARTITIONS)


def _messages() -> list[bytes]:
    claims = make_claims(300, seed=5, intercity_share=0.4)
    lines = [json.dumps(c, ensure_ascii=False).encode() for c in claims]
    # amounts as JSON numbers too, and claims the fast path leaves to the exact one
    lines += [line.replace(b'"amount": "', b'"amount": ').replace(b'", "quantity"', b', "quantity"')
              for line in lines[:50]]  # fmt: skip
    lines += [
        lines[0].replace(b'"claim_id": "', b'"note": 1, "claim_id": "'),  # unknown field
        lines[1].replace(b'"claim_type": "', b'"claim_type": "x'),  # rejected
        b'{"claim_id": "C9", "items": []',  # not JSON
        b"[1, 2]",
    ]
    return lines


class _Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    def add(self, *message: Any) -> None:
        self.sent.append(message)


def test_claims_topic_reads_valid_claims_as_the_exact_path_does(rules: MessageRules) -> None:
    book = rules.book
    fast = exact = 0
    for raw in _messages():
        on_claims, problem = rules.decode(raw, CLAIMS)
        on_ingress, ingress_problem = rules.decode(raw, "claims.realtime")
        assert type(on_ingress) is not Claim  # only routed there: never validated
        assert (problem is None) == (ingress_problem is None)
        if problem is not None:
            continue
        expected = parse_claim(decode_claim(raw), book).claim
        if type(on_claims) is Claim:
            fast += 1
            assert on_claims == expected
            assert kind_of(on_claims) == kind_of(on_ingress)
            assert person_of(on_claims) == person_of(on_ingress) == on_claims.person_id
        else:
            exact += 1
            assert on_claims == on_ingress
    assert fast >= 300 and exact >= 2
    assert {kind_of(c) for c in (rules.decode(m, CLAIMS)[0] for m in _messages()[:300])} == {
        "realtime",
        "intercity",
    }


def test_both_paths_give_the_same_answers_and_forwards(rules: MessageRules) -> None:
    messages = _messages()
    answers: dict[str, list[Any]] = {}
    for path in ("fast", "exact"):
        settlers = [Settler(rules.book) for _ in range(PARTITIONS)]
        out = answers[path] = []
        for offset, raw in enumerate(messages):
            obj, problem = rules.decode(raw, CLAIMS if path == "fast" else "claims.exact")
            r = SimpleNamespace(value=raw, headers=[], offset=offset)
            person = obj.person_id if type(obj) is Claim else None
            if person is None and problem is None and isinstance(obj, dict):
                person = obj.get("patient", {}).get("person_id")
            right = person_partition(person, PARTITIONS) if isinstance(person, str) else 0
            # a misrouted message on claims is forwarded, with its kind in a header
            wrong = (right + 1) % PARTITIONS
            box = _Outbox()
            forwarded = problem is None and rules.forward(box, r, (CLAIMS, wrong, offset), obj)
            kinds = [dict(m[4])[KIND_HEADER] for m in box.sent]
            state = _State()
            record, claim, dead = rules.settle(
                settlers[right], state, r, (CLAIMS, right, offset), obj, problem
            )
            out.append((forwarded, kinds, record, claim, dead))
    assert answers["fast"] == answers["exact"]
    assert sum(1 for a in answers["fast"] if a[2]["status"] == "settled") >= 300
    assert {k for a in answers["fast"] for k in a[1]} == {b"realtime", b"intercity"}


class _State:
    """The little of a partition's state ``settle`` touches for a first sight."""

    def __init__(self) -> None:
        self.shard = SimpleNamespace(source={}, settled={})

    def use(self, src: Any, claim: Claim) -> None:
        self.shard.source[claim.claim_id] = src
