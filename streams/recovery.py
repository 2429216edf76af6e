"""Changelog recovery: rebuild a worker's shards from the state changelog, up to a fence.

The fence is a record this worker appends to each changelog partition it now
owns: everything written before it (by any earlier owner) is read, without
trusting end offsets (which the embedded broker under-reports). Why one entry
per claim makes this exact: docs/stream.md, "State".
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from streams.lifecycle import BrokerDataLost
from streams.tables import FENCE_PREFIX, PartitionShard, decode_entry


async def catch_up(
    producer: Any, reader: Any, shards: Mapping[int, PartitionShard], tps: list[Any]
) -> int:
    """Apply the changelog entries since each shard's last applied offset, up to a fresh fence.

    Args:
        producer: a started ``AIOKafkaProducer`` (writes the fences).
        reader: a started ``AIOKafkaConsumer`` without a group (reads the changelog).
        shards: the shards to bring up to date, by partition number.
        tps: the changelog ``TopicPartition`` of each shard.

    Returns:
        How many entries changed a shard (entries already applied are no-ops).

    Raises:
        BrokerDataLost: a changelog partition is behind what this worker had read.
    """
    token = FENCE_PREFIX + uuid.uuid4().hex.encode()
    fences = {}
    for tp in tps:
        md = await (await producer.send(tp.topic, b"", key=token, partition=tp.partition))
        fences[tp] = md.offset
    reader.assign(tps)
    for tp in tps:
        applied_to = shards[tp.partition].applied_to
        if fences[tp] < applied_to:  # the log started again: the broker lost it
            raise BrokerDataLost(
                f"broker lost its data: changelog {tp.topic}[{tp.partition}] is at offset "
                f"{fences[tp]}, this worker had read it up to {applied_to}"
            )
        reader.seek(tp, applied_to)
    pending = set(tps)
    applied = 0
    while pending:
        batch = await reader.getmany(*pending, timeout_ms=500, max_records=10_000)
        for tp, recs in batch.items():
            shard = shards[tp.partition]
            for r in recs:
                if r.offset > fences[tp]:
                    break
                if r.value and not r.key.startswith(FENCE_PREFIX):
                    applied += shard.apply(decode_entry(r.value))
                shard.applied_to = r.offset + 1
            if shard.applied_to > fences[tp]:
                pending.discard(tp)
    reader.unsubscribe()
    return applied
