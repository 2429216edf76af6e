"""One input message: decode it within bounds, forward it to its person's partition, or
settle it against its shard, and say what goes to the dead letters.

Nothing here talks to Kafka: the agent hands in records and an outbox.
Routing rules: docs/stream.md, "One person, one partition, one order".
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from settlement.claim import Claim, parse_claim
from settlement.claim_fast import fast_claim
from settlement.engine import Settler, rejected_record, settlement_record
from settlement.errors import MALFORMED, ClaimIssue, internal_issue
from settlement.idnumber import mask_identity_numbers
from settlement.jsonio import decode_claim_fast, malformed_message
from settlement.state import SettledOutcome
from streams.outbox import Outbox
from streams.routing import (
    MAX_HOPS,
    Source,
    forward_headers,
    hops_of,
    kind_of,
    origin_of,
    person_of,
    person_partition,
)
from streams.tables import PartitionShard, ShardState
from streams.topics import CLAIMS


class MessageRules:
    """How the worker treats one message; the limits and the topic layout it needs.

    Args:
        book: the policy book.
        max_claim_bytes: longest message settled (longer ones are rejected unread).
        claims_partitions: partitions of the ``claims`` log.
    """

    def __init__(self, book: Any, max_claim_bytes: int, claims_partitions: int) -> None:
        self.book = book
        self.max_claim_bytes = max_claim_bytes
        self.claims_partitions = claims_partitions

    def decode(self, value: bytes | None, topic: str = "") -> tuple[Any, ClaimIssue | None]:
        """The decoded message, or the reason it is malformed (never raises for bad bytes).

        On ``claims``, where messages are settled, a valid claim comes back as its
        :class:`Claim`, read by the typed fast path (``fast_claim``: the same
        ``Claim`` that ``parse_claim`` gives, a quarter cheaper than decoding and
        validating apart); anything else, and every message of the ingress topics
        (only routed, never validated there), as the decoded JSON value.
        """
        raw = value or b""
        limit = self.max_claim_bytes
        if len(raw) > limit:
            return None, ClaimIssue(
                MALFORMED,
                f"the message is {len(raw)} bytes, over the limit of {limit} bytes "
                "(MAX_CLAIM_BYTES)",
            )
        if topic == CLAIMS:
            claim = fast_claim(raw, self.book)
            if claim is not None:
                return claim, None
        try:  # bounded: depth, numbers, size (docs/settlement.md, "Limits on input")
            return decode_claim_fast(raw, limit), None
        except ValueError as exc:
            return None, ClaimIssue(MALFORMED, malformed_message(exc))

    def forward(self, outbox: Outbox, r: Any, here: Source, obj: Any) -> bool:
        """Send a message that is not in its person's partition of ``claims`` there.

        Returns False when the message is settled here: it is in the right place,
        or it names no person (it is answered ``malformed`` where it is).
        """
        person = person_of(obj)
        if person is None:
            return False
        target = person_partition(person, self.claims_partitions)
        if here[0] == CLAIMS and here[1] == target:
            return False
        hops = hops_of(r.headers)
        if hops >= MAX_HOPS:  # partitions changed under a forwarded message: stop bouncing
            raise RuntimeError(f"claim forwarded {hops} times and still not in its partition")
        origin = origin_of(r.headers) or here
        headers = forward_headers(origin, hops + 1, kind_of(obj))
        outbox.add(CLAIMS, person.encode("utf-8", "surrogatepass"), r.value, target, headers)
        return True

    def settle(
        self,
        settler: Settler,
        state: ShardState,
        r: Any,
        here: Source,
        obj: Any,
        problem: ClaimIssue | None,
    ) -> tuple[dict[str, Any], Claim | None, bool]:
        """(settlement record, claim to score or None, whether it goes to the dead letters)."""
        if problem is not None:
            return rejected_record(stream_id(here), [problem]), None, True
        if type(obj) is Claim:
            claim = obj
        else:
            check = parse_claim(obj, self.book)
            # every rejected message is kept: its bytes are not in the answer
            if check.claim is None:
                return rejected_record(check.claim_id or stream_id(here), check.issues), None, True
            claim = check.claim
        # A forwarded message counts as the message first read (a forward repeated
        # after a crash is the same message, not a resubmission).
        src = source_of(r, here)
        if state.shard.source.get(claim.claim_id) == src:
            # The same message again (its offset was not committed before a crash or
            # rebalance): answer what was answered, not "duplicate"; consumers dedupe.
            outcome = SettledOutcome(*state.shard.settled[claim.claim_id])
            return settlement_record(outcome), claim, False
        state.use(src, claim)
        record = settler.settle_claim(claim)
        return record, (claim if record["status"] == "settled" else None), False

    def dead_letter(
        self, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> tuple[bytes | None, None, list[tuple[str, bytes]]]:
        """(value, partition, headers) of a dead letter: the original bytes, cut at the
        message limit (the full message stays in its source topic) and said so."""
        limit = self.max_claim_bytes
        if value is not None and len(value) > limit:
            headers = [*headers, ("yibao.truncated_from", str(len(value)).encode())]
            value = value[:limit]
        return value, None, headers

    def settled_by(self, shard: PartitionShard, tp: Any, records: list[Any]) -> list[Claim]:
        """The validated claims these messages settled (first time, this very message)."""
        if tp.topic != CLAIMS:
            return []  # ingress messages are forwarded, never settled where they are
        out = []
        for r in records:
            obj, problem = self.decode(r.value, tp.topic)
            if problem is not None:
                continue
            claim = obj if type(obj) is Claim else parse_claim(obj, self.book).claim
            here = (tp.topic, tp.partition, r.offset)
            if claim is not None and shard.source.get(claim.claim_id) == source_of(r, here):
                out.append(claim)
        return out


def source_of(r: Any, here: Source) -> Source:
    """The coordinates a settlement remembers: the first-read place of a forwarded message."""
    return (origin_of(r.headers) if r.headers else None) or here


def internal_error_record(here: Source, exc: BaseException) -> dict[str, Any]:
    """The answer to a message whose handling raised: a fault of ours, never of the sender."""
    return rejected_record(stream_id(here), [internal_issue(exc)])


def error_summary(exc: BaseException) -> bytes:
    """The exception and its last frames, for the dead letter's ``yibao.error`` header."""
    lines = traceback.format_exception(exc, limit=-4)
    return mask_identity_numbers("".join(lines))[-4000:].encode("utf-8", "replace")


def stream_id(src: Source) -> str:
    """The id of a message without a usable claim_id (spec section 5)."""
    return f"{src[0]}:{src[1]}:{src[2]}"


def dlq_headers(src: Source, record: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Where a dead letter was read, its claim id and why it was rejected."""
    return [
        ("yibao.source.topic", src[0].encode()),
        ("yibao.source.partition", str(src[1]).encode()),
        ("yibao.source.offset", str(src[2]).encode()),
        ("yibao.claim_id", record["claim_id"].encode()),
        ("yibao.reasons", json.dumps(record["errors"], ensure_ascii=False).encode()),
    ]
