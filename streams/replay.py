"""Replay a JSON Lines claims file into the claim topics with a kafka-python producer.

Each line goes, as its original bytes, to ``claims.intercity`` when the insured
and hospital regions differ and to ``claims.realtime`` otherwise, keyed by
person_id; a line that is not a claim goes unkeyed to the realtime topic (the
worker answers it ``malformed``). ``rate`` paces the sending in claims/s.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from streams.sample_claims import claim_key_and_topic

log = logging.getLogger(__name__)


def route(line: bytes) -> tuple[bytes | None, str]:
    """(key, topic) of one claim line."""
    try:
        obj = json.loads(line)
    except ValueError:
        obj = None
    return claim_key_and_topic(obj)


def claim_lines(path: Path) -> Iterator[bytes]:
    """The non-blank lines of a JSON Lines file, without their line ends."""
    with open(path, "rb") as fh:
        for line in fh:
            line = line.rstrip(b"\r\n")
            if line.strip():
                yield line


def replay(
    lines: Iterable[bytes], bootstrap: str, *, rate: float | None = None, linger_ms: int = 5
) -> Counter[str]:
    """Send every line; return counts per topic.

    Args:
        lines: claim lines (bytes, no line end).
        bootstrap: Kafka bootstrap servers.
        rate: claims per second, or None for as fast as possible.
        linger_ms: producer batching delay.
    """
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=linger_ms,
        batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    counts: Counter[str] = Counter()
    start = time.monotonic()
    try:
        for i, line in enumerate(lines):
            if rate:
                ahead = start + i / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            key, topic = route(line)
            producer.send(topic, value=line, key=key)
            counts[topic] += 1
        producer.flush()
    finally:
        producer.close()
    log.info("replay done", extra={"counts": dict(counts), "seconds": time.monotonic() - start})
    return counts
