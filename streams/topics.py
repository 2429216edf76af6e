"""Topic names and layout of the stream service (one place, used by worker, replay and tests)."""

from __future__ import annotations

CLAIMS_REALTIME = "claims.realtime"
CLAIMS_INTERCITY = "claims.intercity"
SETTLEMENTS = "settlements"
FRAUD_FLAGS = "fraud.flags"
CLAIMS_DLQ = "claims.dlq"

#: Input topics, keyed by person_id so one person's claims stay ordered in one partition.
CLAIM_TOPICS = (CLAIMS_REALTIME, CLAIMS_INTERCITY)
#: Output topics of the worker.
OUTPUT_TOPICS = (SETTLEMENTS, FRAUD_FLAGS, CLAIMS_DLQ)


def topic_layout(partitions: int) -> list[tuple[str, int]]:
    """(name, partitions) of every topic the service reads or writes."""
    return [(name, partitions) for name in (*CLAIM_TOPICS, *OUTPUT_TOPICS)]
