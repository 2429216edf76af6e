"""Export the dead letters of ``claims.dlq`` to JSON Lines, for fixing and ``yibao replay``.

Reads every partition of the topic with partitions assigned by hand (no
consumer group, no committed offsets) and stops after ``--idle`` seconds
without a message. The values are the claims as sent, identity numbers
included (they are re-sent after fixing): keep the files like claim files.
Keys and reasons are masked. Usage (docs/operator-runbook.md, "Replay the dead-letter topic")::

    KAFKA_BOOTSTRAP=host:9092 python docs/dlq_export.py -o dlq.jsonl --claims-out to-fix.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

DLQ_TOPIC = "claims.dlq"
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def mask_ids(text: str) -> str:
    """Mask every 18-character identity number in ``text`` (``440103********1234``)."""
    from settlement.idnumber import mask_person_id

    return ID_NUMBER.sub(lambda m: mask_person_id(m.group(0)), text)


def dead_letter(record: Any) -> dict[str, Any]:
    """One exported row from an aiokafka ``ConsumerRecord`` of ``claims.dlq``."""
    headers = {k: mask_ids(v.decode("utf-8", "replace")) for k, v in (record.headers or ())}
    try:
        reasons = json.loads(headers.get("yibao.reasons", "[]"))
    except ValueError:
        reasons = headers.get("yibao.reasons")
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        # the key is the person_id: masked here; the value keeps it (it must be re-sent)
        "key": mask_ids(record.key.decode("utf-8", "replace")) if record.key else None,
        "source": {
            "topic": headers.get("yibao.source.topic"),
            "partition": _int(headers.get("yibao.source.partition")),
            "offset": _int(headers.get("yibao.source.offset")),
        },
        "claim_id": headers.get("yibao.claim_id"),
        "reasons": reasons,
        "value": (record.value or b"").decode("utf-8", "replace"),
    }


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.lstrip("-").isdigit() else None


async def read_dead_letters(
    bootstrap: str, *, topic: str = DLQ_TOPIC, idle_s: float = 5.0, since_offset: int = 0
) -> list[dict[str, Any]]:
    """Every dead letter of ``topic`` from ``since_offset`` on, in (partition, offset) order."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    rows: list[dict[str, Any]] = []
    try:
        await consumer.topics()  # loads the cluster's metadata
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return rows
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, since_offset)
        while True:
            batch = await consumer.getmany(timeout_ms=int(idle_s * 1000), max_records=5000)
            if not batch:
                break
            for records in batch.values():
                rows.extend(dead_letter(r) for r in records)
    finally:
        await consumer.stop()
    rows.sort(key=lambda r: (r["partition"], r["offset"]))
    return rows


def claim_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The original values, one line each, once per source message."""
    seen: set[tuple[Any, ...]] = set()
    lines = []
    for row in rows:
        source = row["source"]
        ident = (source["topic"], source["partition"], source["offset"])
        if ident != (None, None, None) and ident in seen:
            continue  # the same dead letter written twice (a worker crash)
        seen.add(ident)
        lines.append(row["value"].replace("\r", " ").replace("\n", " "))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, required=True, help="dead letters JSONL")
    parser.add_argument("--claims-out", type=Path, help="also write the original values alone")
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--topic", default=DLQ_TOPIC)
    parser.add_argument("--idle", type=float, default=5.0, help="stop after this many idle s")
    parser.add_argument("--since-offset", type=int, default=0, help="first offset per partition")
    args = parser.parse_args(argv)
    rows = asyncio.run(
        read_dead_letters(
            args.bootstrap, topic=args.topic, idle_s=args.idle, since_offset=args.since_offset
        )
    )
    with args.output.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    message = f"{len(rows)} dead letters written to {args.output}"
    if args.claims_out is not None:
        lines = claim_lines(rows)
        args.claims_out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        message += f"; {len(lines)} values to {args.claims_out}"
    print(message)  # a command-line script: its output is the report
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
