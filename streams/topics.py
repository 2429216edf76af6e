"""Topic names and layout of the stream service (one place, used by worker, replay and tests)."""

from __future__ import annotations

#: The one ordered log of claims: realtime and inter-city claims alike, keyed by
#: person_id (Kafka's default partitioner), so each person's claims are settled
#: in the order they were sent, by the one worker that owns the person's shard.
CLAIMS = "claims"
#: Ingress topics of producers that still split claims by kind. The worker does
#: not settle from them: it forwards each message to ``claims`` (the order of a
#: person's claims is fixed there, once and durably) and then commits it.
CLAIMS_REALTIME = "claims.realtime"
CLAIMS_INTERCITY = "claims.intercity"
SETTLEMENTS = "settlements"
FRAUD_FLAGS = "fraud.flags"
CLAIMS_DLQ = "claims.dlq"
#: What operators did with dead letters (``yibao dlq resend`` / ``mark-handled``), one
#: record per dead letter handled; made on first use, so not in ``topic_layout``.
CLAIMS_DLQ_HANDLED = "claims.dlq.handled"

INGRESS_TOPICS = (CLAIMS_REALTIME, CLAIMS_INTERCITY)
#: Every input topic the worker reads (settles from ``claims``, forwards the rest).
CLAIM_TOPICS = (CLAIMS, *INGRESS_TOPICS)
#: Output topics of the worker.
OUTPUT_TOPICS = (SETTLEMENTS, FRAUD_FLAGS, CLAIMS_DLQ)


def topic_layout(partitions: int) -> list[tuple[str, int]]:
    """(name, partitions) of every topic the service reads or writes."""
    return [(name, partitions) for name in (*CLAIM_TOPICS, *OUTPUT_TOPICS)]
