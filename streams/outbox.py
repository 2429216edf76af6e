"""Batched sending: the messages of one processed batch go out as whole record batches.

``producer.send()`` costs a coroutine, a partitioner call and a future per
message; filling aiokafka ``BatchBuilder``s per topic-partition and handing
each to ``send_batch`` costs one append per message (a third of the CPU the
send path took in the py-spy profile, docs/stream.md).
"""

from __future__ import annotations

from typing import Any

from aiokafka.partitioner import murmur2


class Outbox:
    """Collects (topic, partition, key, value) into record batches; ``flush`` submits them.

    Args:
        producer: a started ``AIOKafkaProducer``.
        partitions: partition count per topic (for key hashing, as Kafka's default
            partitioner does: murmur2 of the key).
    """

    def __init__(self, producer: Any, partitions: dict[str, int]) -> None:
        self.producer = producer
        self.partitions = partitions
        self._open: dict[tuple[str, int], Any] = {}
        self._full: list[tuple[str, int, Any]] = []
        self.count = 0

    def partition_for(self, topic: str, key: bytes) -> int:
        digest: int = murmur2(key)  # aiokafka ships no type hints
        return (digest & 0x7FFFFFFF) % self.partitions[topic]

    def add(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        """Queue one message; ``partition`` None hashes the key (key None: partition 0)."""
        if partition is None:
            partition = self.partition_for(topic, key) if key is not None else 0
        slot = (topic, partition)
        batch = self._open.get(slot)
        if batch is None:
            batch = self._open[slot] = self.producer.create_batch()
        if batch.append(timestamp=None, key=key, value=value, headers=headers or []) is None:
            self._full.append((topic, partition, batch))
            batch = self._open[slot] = self.producer.create_batch()
            if batch.append(timestamp=None, key=key, value=value, headers=headers or []) is None:
                raise ValueError(f"message of {len(value or b'')} bytes exceeds the batch size")
        self.count += 1

    async def flush(self) -> list[Any]:
        """Submit every batch; return the futures that resolve when each is acknowledged."""
        pending = self._full + [(t, p, b) for (t, p), b in self._open.items()]
        self._full, self._open, self.count = [], {}, 0
        futures = []
        for topic, partition, batch in pending:
            batch.close()
            futures.append(await self.producer.send_batch(batch, topic, partition=partition))
        return futures
