"""What an operator does with dead letters: re-send them, or mark them handled.

A dead letter is chosen by its claim id or by its place on ``claims.dlq``
(``partition:offset``). Re-sending puts the original bytes back on the claim log,
as ``yibao replay`` does, with a ``yibao.resent_from`` header naming the dead
letter. Each dead letter re-sent or marked gets one record on
``claims.dlq.handled`` (key: claim id; value: JSON with the dead letter's
place, the action, a note and the time), which ``yibao dlq export --unhandled``
leaves out. Dead letters themselves are never changed: Kafka cannot.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streams.replay import Outgoing, read_topic, send_claims
from streams.topics import CLAIMS_DLQ, CLAIMS_DLQ_HANDLED

#: Header of a re-sent claim: ``claims.dlq:<partition>:<offset>`` of its dead letter.
RESENT_HEADER = "yibao.resent_from"

Place = tuple[int, int]  # (partition, offset) on claims.dlq


@dataclass(frozen=True)
class Selection:
    """The dead letters chosen, and the selectors that chose none."""

    rows: list[dict[str, Any]]
    unmatched: list[str]


def parse_place(text: str) -> Place:
    """``"2:17"`` -> (2, 17).

    Raises:
        ValueError: not PARTITION:OFFSET with two non-negative integers.
    """
    partition, sep, offset = text.partition(":")
    if not sep or not partition.isdigit() or not offset.isdigit():
        raise ValueError(f"{text!r} is not PARTITION:OFFSET, e.g. 0:17")
    return int(partition), int(offset)


def place_of(row: dict[str, Any]) -> Place:
    return int(row["dlq"]["partition"]), int(row["dlq"]["offset"])


def select(
    rows: Iterable[dict[str, Any]], claim_ids: Iterable[str], places: Iterable[Place]
) -> Selection:
    """The export rows (``streams.dlq.dead_letter_row``) with one of the claim ids or places."""
    ids, where = set(claim_ids), set(places)
    chosen = [r for r in rows if r["claim_id"] in ids or place_of(r) in where]
    found_ids = {r["claim_id"] for r in chosen}
    found_places = {place_of(r) for r in chosen}
    unmatched = [f"claim id {c}" for c in sorted(ids - found_ids)]
    unmatched += [f"dead letter {p}:{o}" for p, o in sorted(where - found_places)]
    return Selection(chosen, unmatched)


def original_bytes(row: dict[str, Any]) -> bytes:
    """The dead letter's message exactly as it was read."""
    if "value_base64" in row:
        return base64.b64decode(row["value_base64"])
    return str(row["value"]).encode("utf-8")


def once_per_source(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows without repeats of one source message (a worker crash can write two)."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for row in rows:
        source = row["source"]
        ident = (source["topic"], source["partition"], source["offset"])
        if None not in ident and ident in seen:
            continue
        seen.add(ident)
        out.append(row)
    return out


def resend(
    bootstrap: str, rows: Iterable[dict[str, Any]], *, connect_timeout_s: float = 10.0
) -> int:
    """Send each row's original message to the claim log with a ``yibao.resent_from`` header.

    Returns:
        How many messages were sent.

    Raises:
        kafka.errors.KafkaError: the broker could not be reached in time.
    """
    messages = [
        Outgoing(original_bytes(r), ((RESENT_HEADER, _place_text(r).encode()),))
        for r in once_per_source(rows)
    ]
    send_claims(messages, bootstrap, connect_timeout_s=connect_timeout_s)
    return len(messages)


def handled_record(row: dict[str, Any], action: str, note: str, now: dt.datetime) -> bytes:
    """The ``claims.dlq.handled`` value for one dead letter."""
    partition, offset = place_of(row)
    return json.dumps(
        {
            "dlq": {"partition": partition, "offset": offset},
            "claim_id": row["claim_id"],
            "action": action,
            "note": note,
            "at": now.isoformat(timespec="seconds"),
        },
        ensure_ascii=False,
    ).encode("utf-8")


def mark_handled(
    bootstrap: str,
    rows: Iterable[dict[str, Any]],
    *,
    action: str,
    note: str = "",
    connect_timeout_s: float = 10.0,
) -> int:
    """Write one ``claims.dlq.handled`` record per row (the topic is made if missing).

    Returns:
        How many records were written.

    Raises:
        kafka.errors.KafkaError: the broker could not be reached in time.
    """
    from kafka import KafkaProducer

    from streams.broker import create_topics

    chosen = list(rows)
    create_topics(bootstrap, [(CLAIMS_DLQ_HANDLED, 1)], timeout=connect_timeout_s)
    now = dt.datetime.now(dt.UTC)
    timeout_ms = int(connect_timeout_s * 1000)
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        bootstrap_timeout_ms=timeout_ms,
        max_block_ms=timeout_ms,
    )
    try:
        for row in chosen:
            key = str(row["claim_id"]).encode("utf-8")
            producer.send(CLAIMS_DLQ_HANDLED, handled_record(row, action, note, now), key=key)
        producer.flush()
    finally:
        producer.close()
    return len(chosen)


def read_handled(
    bootstrap: str, *, idle: float = 1.0, connect_timeout_s: float = 10.0
) -> dict[Place, dict[str, Any]]:
    """The latest ``claims.dlq.handled`` record of each dead letter handled, by place."""
    if CLAIMS_DLQ_HANDLED not in _topics(bootstrap, connect_timeout_s):
        return {}
    records = read_topic(
        bootstrap, CLAIMS_DLQ_HANDLED, idle=idle, timeout=3600, connect_timeout_s=connect_timeout_s
    )
    out: dict[Place, dict[str, Any]] = {}
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        try:
            mark = json.loads(r.value)
            out[(int(mark["dlq"]["partition"]), int(mark["dlq"]["offset"]))] = mark
        except (ValueError, TypeError, KeyError):
            continue  # not written by yibao: ignored, as the worker ignores foreign headers
    return out


def _topics(bootstrap: str, timeout: float) -> set[str]:
    from aiokafka import AIOKafkaConsumer

    async def _list() -> set[str]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000)
        )
        try:
            await asyncio.wait_for(consumer.start(), timeout)
            return set(await consumer.topics())
        finally:
            await consumer.stop()

    return asyncio.run(_list())


def _place_text(row: dict[str, Any]) -> str:
    partition, offset = place_of(row)
    return f"{CLAIMS_DLQ}:{partition}:{offset}"
