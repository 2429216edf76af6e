"""Replay a JSON Lines claims file into the claim topics (kafka-python producer); read topics back.

Each line goes, as its original bytes and in file order, to the ``claims`` log
keyed by person_id (realtime and inter-city claims alike, with the kind in a
``yibao.kind`` header), so the stream settles each person's claims in the order
of the file, as ``yibao settle`` does. A line that is not a claim goes unkeyed
(the worker answers it ``malformed``). ``rate`` paces the sending in claims/s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.routing import KIND_HEADER, claim_key_and_topic, kind_of

log = logging.getLogger(__name__)

#: Largest message replay sends (over-long claims still reach the worker, which
#: rejects them with a reason; beyond this the line is reported, not sent).
MAX_SEND_BYTES = 16 * 1024 * 1024


def route(line: bytes) -> tuple[bytes | None, str]:
    """(key, topic) of one claim line."""
    return claim_key_and_topic(_decoded(line))


def _decoded(line: bytes) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):  # hostile lines are sent as they are
        return None


def claim_lines(path: Path) -> Iterator[bytes]:
    """The non-blank lines of a JSON Lines file, without their line ends."""
    with open(path, "rb") as fh:
        for line in fh:
            line = line.rstrip(b"\r\n")
            if line.strip():
                yield line


@dataclass(frozen=True)
class Outgoing:
    """One claim message to send: its bytes and headers beyond ``yibao.kind``."""

    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


def replay(
    lines: Iterable[bytes],
    bootstrap: str,
    *,
    rate: float | None = None,
    linger_ms: int = 5,
    connect_timeout_s: float = 10.0,
) -> Counter[str]:
    """Send every line; return counts per topic.

    Args:
        lines: claim lines (bytes, no line end).
        bootstrap: Kafka bootstrap servers.
        rate: claims per second, or None for as fast as possible.
        linger_ms: producer batching delay.
        connect_timeout_s: longest wait for the broker at start and for a send's metadata.

    Raises:
        kafka.errors.KafkaError: the broker could not be reached in time.
    """
    return send_claims(
        (Outgoing(line) for line in lines),
        bootstrap,
        rate=rate,
        linger_ms=linger_ms,
        connect_timeout_s=connect_timeout_s,
    )


def send_claims(
    messages: Iterable[Outgoing],
    bootstrap: str,
    *,
    rate: float | None = None,
    linger_ms: int = 5,
    connect_timeout_s: float = 10.0,
) -> Counter[str]:
    """Send claim messages as ``replay`` does, each with its own extra headers.

    Raises:
        kafka.errors.KafkaError: the broker could not be reached in time.
    """
    from kafka import KafkaProducer

    timeout_ms = int(connect_timeout_s * 1000)
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=linger_ms,
        batch_size=256 * 1024,
        max_request_size=MAX_SEND_BYTES,
        bootstrap_timeout_ms=timeout_ms,
        max_block_ms=timeout_ms,
    )
    counts: Counter[str] = Counter()
    start = time.monotonic()
    try:
        for i, message in enumerate(messages):
            line = message.value
            if rate:
                ahead = start + i / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            if len(line) > MAX_SEND_BYTES - 1024:
                # The worker would reject it unread anyway (MAX_CLAIM_BYTES); say so here.
                log.error("line %d: %d bytes, too large to send; skipped", i + 1, len(line))
                counts["unsent"] += 1
                continue
            obj = _decoded(line)
            key, topic = claim_key_and_topic(obj)
            headers = [(KIND_HEADER, kind_of(obj).encode()), *message.headers]
            producer.send(topic, value=line, key=key, headers=headers)
            counts[topic] += 1
        producer.flush()
    finally:
        # bounded: after a failed flush an unbounded close would wait for a dead
        # broker, here or in kafka-python's exit hook (the process never ends)
        producer.close(timeout=connect_timeout_s)
    log.info("replay done", extra={"counts": dict(counts), "seconds": time.monotonic() - start})
    return counts


async def _read_all(
    bootstrap: str, topic: str, want: int | None, idle: float, timeout: float, connect: float
) -> list[Any]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        request_timeout_ms=int(connect * 1000),
    )
    try:
        await asyncio.wait_for(c.start(), connect)
    except BaseException:
        await c.stop()
        raise
    try:
        parts: set[int] = set()
        wait_until = time.monotonic() + 20.0
        while not parts:  # metadata may not list the topic yet right after start
            await c.topics()
            parts = c.partitions_for_topic(topic) or set()
            if not parts:
                if time.monotonic() > wait_until:
                    raise LookupError(f"topic {topic} has no partitions on {bootstrap}")
                await asyncio.sleep(0.2)
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        out: list[Any] = []
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline:
            batch = await c.getmany(timeout_ms=200, max_records=10_000)
            for recs in batch.values():
                out.extend(recs)
            if batch:
                last = time.monotonic()
            elif (want is None or len(out) >= want) and time.monotonic() - last > idle:
                break
        return out
    finally:
        await c.stop()


def read_topic(
    bootstrap: str,
    topic: str,
    want: int | None = None,
    idle: float = 1.0,
    timeout: float = 120.0,
    connect_timeout_s: float = 10.0,
) -> list[Any]:
    """Every record of ``topic`` (all partitions, from the start), with aiokafka.

    Reads until at least ``want`` records are in and nothing new came for
    ``idle`` seconds (end offsets are not trusted: Tansu under-reports them).

    Raises:
        aiokafka.errors.KafkaError, TimeoutError: no broker answered within
            ``connect_timeout_s``.
        LookupError: the topic has no partitions.
    """
    return asyncio.run(_read_all(bootstrap, topic, want, idle, timeout, connect_timeout_s))
