"""The settlement agent's configuration and the options of its claims consumer group."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.tables import CHANGELOG_SUFFIX


@dataclass
class AgentConfig:
    """Tuning of the hot path (defaults measured on a 2-core machine, docs/stream.md)."""

    bootstrap: str
    group_id: str = "yibao-stream"
    partitions: int = 4
    max_batch: int = 500
    poll_timeout_ms: int = 100
    linger_ms: int = 2
    session_timeout_ms: int = 6000  # Tansu holds a first JoinGroup for half of it
    heartbeat_interval_ms: int = 1000
    commit_interval: float = 0.25  # seconds between offset commits
    max_inflight: int = 4  # batches settled ahead of the oldest one not yet acknowledged/scored
    #: where feature snapshots go (None: never snapshot) and how often (streams.feature_snapshot)
    snapshot_dir: Path | None = None
    snapshot_seconds: float = 120.0
    #: longest claim message settled; longer ones are rejected ``malformed`` unread
    max_claim_bytes: int = 1 << 20

    @property
    def changelog_topic(self) -> str:
        return self.group_id + CHANGELOG_SUFFIX


def group_consumer_options(cfg: AgentConfig) -> dict[str, Any]:
    """Options of the claims consumer group, one place for the worker and its tests."""
    from aiokafka.coordinator.assignors.range import RangePartitionAssignor

    return {
        "bootstrap_servers": cfg.bootstrap,
        "group_id": cfg.group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": cfg.session_timeout_ms,
        "heartbeat_interval_ms": cfg.heartbeat_interval_ms,
        "rebalance_timeout_ms": 60_000,
        "max_partition_fetch_bytes": 4 * 1024 * 1024,
        "fetch_max_bytes": 16 * 1024 * 1024,
        # Partition n of both claim topics is one person-shard: the range
        # assignor keeps them on one worker for any worker count, where the
        # default round-robin splits them unless workers divide partitions.
        "partition_assignment_strategy": (RangePartitionAssignor,),
    }
