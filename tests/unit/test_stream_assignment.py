"""Partition n of both claim topics always lands on one worker (one person-shard).

Uses aiokafka's real assignor, the one the worker's consumer is configured
with, on a cluster description; no broker needed for the arithmetic.
"""

from __future__ import annotations

import pytest
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

from streams import agents
from streams.topics import CLAIM_TOPICS


class Cluster:
    def __init__(self, partitions: int) -> None:
        self.partitions = partitions

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(self.partitions))


def owners(assignor: type, workers: int, partitions: int) -> dict[tuple[str, int], str]:
    members = {f"worker-{n}": assignor.metadata(list(CLAIM_TOPICS)) for n in range(workers)}
    assignment = assignor.assign(Cluster(partitions), members)
    owner = {}
    for member, member_assignment in assignment.items():
        for topic, numbers in member_assignment.assignment:
            for number in numbers:
                owner[topic, number] = member
    return owner


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 5, 6, 7, 11, 12])
def test_range_assignment_keeps_each_shard_on_one_worker(workers: int) -> None:
    owner = owners(RangePartitionAssignor, workers, 12)
    assert len(owner) == 12 * len(CLAIM_TOPICS)
    for number in range(12):
        assert len({owner[topic, number] for topic in CLAIM_TOPICS}) == 1, number


def test_round_robin_would_split_shards_with_five_workers() -> None:
    owner = owners(RoundRobinPartitionAssignor, 5, 12)
    split = [n for n in range(12) if len({owner[t, n] for t in CLAIM_TOPICS}) > 1]
    assert split, "the reason the worker does not use the default assignor"


def test_the_worker_consumer_group_uses_the_range_assignor() -> None:
    options = agents.group_consumer_options(agents.AgentConfig(bootstrap="127.0.0.1:9"))
    assert options["partition_assignment_strategy"] == (RangePartitionAssignor,)
    assert options["group_id"] == "yibao-stream"
