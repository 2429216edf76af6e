"""Follow the stream: load claims, settlement records and fraud flags into the review DB.

Reads the claim topics, ``settlements`` and ``fraud.flags`` with partitions
assigned by hand (no consumer group): the next offset of every partition is
stored in the review database in the same transaction as the rows it loaded,
so a crash never loses or double-applies a batch (the loads are upserts anyway).
Each stored offset keeps the identity of a record it loaded (``offset:timestamp``):
when a topic was deleted and made again (the embedded broker starts empty on every
``make demo``), that record is gone and the partition is read from the beginning.
:func:`reset_offsets` rewrites those stored offsets (``yibao review reset-offsets``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review import ingest
from review.derived import refresh_derived
from review.follow_metrics import FollowMetrics
from review.models import StreamOffset
from settlement.jsonio import decode_claim
from streams.topics import CLAIM_TOPICS, FRAUD_FLAGS, SETTLEMENTS

log = logging.getLogger(__name__)

TOPICS = (*CLAIM_TOPICS, SETTLEMENTS, FRAUD_FLAGS)


@dataclass
class FollowStats:
    """What a follow run loaded, by kind, and the messages that were not JSON."""

    loaded: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bad: int = 0
    batches: int = 0


def _kind(topic: str) -> str:
    if topic == SETTLEMENTS:
        return "settlements"
    if topic == FRAUD_FLAGS:
        return "flags"
    return "claims"


def apply_batch(
    db: Session,
    batch: dict[Any, list[Any]],
    stats: FollowStats,
    identified: set[tuple[str, int]] | None = None,
) -> dict[str, int]:
    """Load one ``getmany`` batch and record the partitions' next offsets; commits.

    Args:
        db: a session of the review database.
        batch: what ``getmany`` returned.
        stats: counted into.
        identified: partitions whose stored offset has an identity; the others get the
            identity of their first message here (and are added).

    Returns:
        Records loaded, by kind.
    """
    by_kind: dict[str, list[Any]] = defaultdict(list)
    for tp, messages in batch.items():
        kind = _kind(tp.topic)
        for message in messages:
            try:
                obj = decode_claim(message.value or b"")
                if kind == "settlements" and isinstance(obj, dict) and message.timestamp:
                    # The worker's produce time is when the claim was settled.
                    settled = datetime.fromtimestamp(message.timestamp / 1000, UTC)
                    obj.setdefault("settled_at", settled.isoformat())
                by_kind[kind].append(obj)
            except ValueError:
                stats.bad += 1
                log.warning("%s:%d:%d is not JSON; skipped", tp.topic, tp.partition, message.offset)
        if messages:
            row = StreamOffset(
                topic=tp.topic, partition=tp.partition, next_offset=messages[-1].offset + 1
            )
            if identified is not None and (tp.topic, tp.partition) not in identified:
                row.identity = record_identity(messages[0])
                identified.add((tp.topic, tp.partition))
            db.merge(row)  # an identity not set here is kept
    # Claims first, so scores and settlements land on complete rows when they can.
    loaded = {
        "claims": ingest.load_claim_objects(db, by_kind["claims"]),
        "settlements": ingest.load_settlement_objects(db, by_kind["settlements"]),
        "flags": ingest.load_score_objects(db, by_kind["flags"]),
    }
    db.commit()
    for kind, n in loaded.items():
        stats.loaded[kind] += n
    stats.batches += 1
    return loaded


def record_identity(message: Any) -> str:
    """What identifies a partition's record across a topic's deletion: offset and timestamp."""
    return f"{message.offset}:{message.timestamp}"


async def _seek_stored(
    consumer: Any, partitions: list[Any], rows: dict[tuple[str, int], Any], recreated: Any
) -> dict[Any, int]:
    """Seek each partition to its stored offset (the beginning when none or recreated)."""
    positions: dict[Any, int] = {}
    for tp in partitions:
        row = rows.get((tp.topic, tp.partition))
        if row is not None and tp not in recreated:
            consumer.seek(tp, row.next_offset)
            positions[tp] = row.next_offset
        else:
            await consumer.seek_to_beginning(tp)
            positions[tp] = await consumer.position(tp)
    return positions


async def follow(
    bootstrap: str,
    sessions: Callable[[], Session],
    *,
    until_idle_s: float | None = None,
    stop: asyncio.Event | None = None,
    max_records: int = 2000,
    refresh_every_s: float = 60.0,
    metrics: FollowMetrics | None = None,
) -> FollowStats:
    """Consume until ``stop`` is set, or until no message came for ``until_idle_s``.

    Args:
        bootstrap: Kafka bootstrap servers.
        sessions: a session factory of the review database.
        until_idle_s: return after this long without messages (None: never).
        stop: set it to end the loop after the batch in hand.
        max_records: largest batch per read.
        refresh_every_s: recompute re-admissions and hospital risk at most this often.
        metrics: where to count (None: nowhere).
    """
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id="yibao-review",
    )
    await consumer.start()
    stats = FollowStats()
    metrics = metrics or FollowMetrics()
    try:
        partitions = await _followed_partitions(consumer)
        if not partitions:
            log.warning("none of the topics %s exists yet", ", ".join(TOPICS))
            return stats
        consumer.assign(partitions)
        with sessions() as db:
            rows = {(o.topic, o.partition): o for o in db.scalars(select(StreamOffset))}
        recreated = await _recreated(consumer, partitions, rows)
        positions = await _seek_stored(consumer, partitions, rows, recreated)
        for tp in recreated:
            metrics.recreated.labels(tp.topic).inc()
        identified = {key for key, row in rows.items() if row.identity is not None} - {
            (tp.topic, tp.partition) for tp in recreated
        }
        log.info("following %d partitions of %s", len(partitions), ", ".join(TOPICS))
        last_message = last_refresh = time.monotonic()
        dirty = False
        while stop is None or not stop.is_set():
            batch = await consumer.getmany(timeout_ms=500, max_records=max_records)
            now = time.monotonic()
            if any(batch.values()):
                bad = stats.bad
                with sessions() as db:
                    loaded = apply_batch(db, batch, stats, identified)
                metrics.loaded(loaded, stats.bad - bad)
                for tp, messages in batch.items():
                    if messages:
                        positions[tp] = messages[-1].offset + 1
                last_message, dirty = now, True
            metrics.positions(positions, {tp: consumer.highwater(tp) for tp in positions})
            if dirty and now - last_refresh >= refresh_every_s:
                _refresh(sessions)
                last_refresh, dirty = now, False
            if until_idle_s is not None and now - last_message >= until_idle_s:
                break
        if dirty:
            _refresh(sessions)
    finally:
        await consumer.stop()
    return stats


async def _recreated(consumer: Any, partitions: list[Any], rows: dict[Any, Any]) -> set[Any]:
    """The partitions whose stored offset belongs to an older topic of the same name.

    A partition is recreated when it is now empty although offsets were stored, or
    when the record the stored identity names is not there any more (another record,
    or none, at that offset). A record that retention deleted cannot be checked:
    those partitions keep their offsets.
    """
    checked = {
        tp: rows[tp.topic, tp.partition] for tp in partitions if (tp.topic, tp.partition) in rows
    }
    if not checked:
        return set()
    ends = await consumer.end_offsets(list(checked))
    starts = await consumer.beginning_offsets(list(checked))
    recreated = {tp for tp, row in checked.items() if ends[tp] == 0 and row.next_offset > 0}
    wanted: dict[Any, tuple[int, str]] = {}
    for tp, row in checked.items():
        if tp in recreated or row.identity is None:
            continue
        offset = int(row.identity.split(":", 1)[0])
        if offset >= starts[tp]:
            wanted[tp] = (offset, row.identity)
            consumer.seek(tp, offset)
    if wanted:
        consumer.pause(*(tp for tp in partitions if tp not in wanted))
        seen: dict[Any, str] = {}
        deadline = time.monotonic() + 10.0
        while len(seen) < len(wanted) and time.monotonic() < deadline:
            batch = await consumer.getmany(*wanted, timeout_ms=500, max_records=len(wanted))
            for tp, messages in batch.items():
                if messages and tp not in seen:
                    seen[tp] = record_identity(messages[0])
        consumer.resume(*partitions)
        # A partition that answered nothing in 10 s keeps its offset (a slow broker is
        # no proof of a new topic); one that answered with another record is recreated.
        recreated |= {tp for tp, got in seen.items() if got != wanted[tp][1]}
    for tp in sorted(recreated):
        row = checked[tp]
        log.warning(
            "%s partition %d was recreated (stored offset %d, identity %s): reading it "
            "from the beginning",
            tp.topic,
            tp.partition,
            row.next_offset,
            row.identity,
        )
    return recreated


def _refresh(sessions: Callable[[], Session]) -> None:
    with sessions() as db:
        refresh_derived(db)
        db.commit()


@dataclass(frozen=True)
class OffsetChange:
    """One stored offset rewritten by :func:`reset_offsets`; None means "from the beginning"."""

    topic: str
    partition: int
    old: int | None
    new: int | None


def reset_offsets(db: Session, new: dict[tuple[str, int], int] | None) -> list[OffsetChange]:
    """Rewrite the follower's stored offsets; commits. Stop the follower first.

    Args:
        db: a session of the review database.
        new: the next offset per (topic, partition), e.g. from :func:`end_offsets`;
            None forgets every stored offset, so the follower reads every partition
            from the beginning again (the loads are upserts: nothing is counted twice).

    Returns:
        What changed, in (topic, partition) order.
    """
    stored = {(o.topic, o.partition): o for o in db.scalars(select(StreamOffset))}
    changes = []
    if new is None:
        for key, row in stored.items():
            changes.append(OffsetChange(key[0], key[1], row.next_offset, None))
            db.delete(row)
    else:
        for (topic, partition), offset in new.items():
            current = stored.get((topic, partition))
            old = current.next_offset if current is not None else None
            if old != offset:
                changes.append(OffsetChange(topic, partition, old, offset))
            db.merge(StreamOffset(topic=topic, partition=partition, next_offset=offset))
    db.commit()
    changes.sort(key=lambda c: (c.topic, c.partition))
    log.info("review follower offsets reset: %d changed", len(changes))
    return changes


async def end_offsets(bootstrap: str, *, idle_s: float = 1.0) -> dict[tuple[str, int], int]:
    """The next offset after the last message of every partition of the followed topics.

    Starts from the end offsets the broker reports and reads on from there until
    nothing comes for ``idle_s``: the embedded Tansu broker reports the last
    batch's first offset + 1, not the end (measured here).

    Raises:
        LookupError: none of the followed topics exists.
    """
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = await _followed_partitions(consumer)
        if not partitions:
            raise LookupError(f"none of the topics {', '.join(TOPICS)} exists on {bootstrap}")
        ends = {tp: int(offset) for tp, offset in (await consumer.end_offsets(partitions)).items()}
        consumer.assign(partitions)
        for tp, offset in ends.items():
            consumer.seek(tp, offset)
        while batch := await consumer.getmany(timeout_ms=int(idle_s * 1000), max_records=10_000):
            for tp, messages in batch.items():
                if messages:
                    ends[tp] = max(ends[tp], messages[-1].offset + 1)
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}


async def _followed_partitions(consumer: Any) -> list[Any]:
    """Every partition of the followed topics that exist on the broker, in order."""
    from aiokafka import TopicPartition

    present = await consumer.topics()
    return [
        TopicPartition(topic, p)
        for topic in TOPICS
        if topic in present
        for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]
