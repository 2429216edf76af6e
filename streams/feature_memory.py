"""The fraud-feature memory of a worker: snapshots, restore after a restart, re-learning.

What the features remember (each person's and hospital's past claims) is not
in the settlement changelog. This module keeps it across restarts (the
snapshot format is in :mod:`streams.feature_snapshot`; the whole story with
measured numbers in docs/stream.md, "The feature memory survives restarts").
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from streams.audit_rules import StreamRules
from streams.feature_snapshot import (
    FeatureSnapshot,
    fork_snapshot,
    load_snapshot,
    save_snapshot,
    snapshot_path,
)
from streams.messages import MessageRules
from streams.metrics import StreamMetrics
from streams.scoring import ModelWatcher
from streams.scoring_pipeline import ScoringPipeline
from streams.tables import PartitionShard

log = logging.getLogger(__name__)


class FeatureMemory:
    """Snapshots and restores the scorer's feature state (a no-op without a watcher).

    Args:
        config: the agent's configuration (snapshot directory and period, group id).
        watcher: the model watcher whose scorer holds the feature state (None: no scoring).
        rules: how messages are read (to find the claims that settled, when re-learning).
        metrics: where snapshots are counted.
        audit: the stream's audit rules, whose windows are snapshotted and restored
            with the feature memory (None: no rules).
    """

    def __init__(
        self,
        config: Any,
        watcher: ModelWatcher | None,
        rules: MessageRules,
        metrics: StreamMetrics,
        audit: StreamRules | None = None,
    ) -> None:
        self.config = config
        self.audit = audit
        self.watcher = watcher
        self.rules = rules
        self.metrics = metrics
        self._last_snapshot = time.monotonic()
        self._snapshot_took = 0.0  # seconds the last snapshot took
        self._snapshot_task: asyncio.Future[None] | None = None
        self.restored = False  # snapshot looked at (first assignment only)
        self._learned_to: dict[tuple[str, int], int] = {}  # restored memory's offsets
        # (claim topic, partition) -> (offset, timestamp, key) of the last message read
        self.marks: dict[tuple[str, int], tuple[int, int, bytes | None]] = {}

    @property
    def enabled(self) -> bool:
        """Snapshots are taken and restored (scoring on and a snapshot directory set)."""
        return self.watcher is not None and self.config.snapshot_dir is not None

    def _feature_state(self) -> Any:
        return self.watcher.feature_state if self.watcher is not None else None

    def note(self, topic: str, partition: int, last: Any) -> None:
        """Remember the last message read from a claim partition (checked at restore)."""
        self.marks[(topic, partition)] = (last.offset, last.timestamp, last.key)

    def learned_to(self, topic: str, partition: int) -> int:
        """Offset below which the restored memory already holds this partition's claims."""
        return self._learned_to.get((topic, partition), 0)

    def due(self) -> bool:
        """A snapshot is due (and none is being written)."""
        # A snapshot pickles the whole memory (0.8 s for 100,000 claims' worth,
        # docs/stream.md) and costs a quiet point: never more than 5% of the time.
        cfg = self.config
        if self._snapshot_task is not None and not self._snapshot_task.done():
            return False
        every = max(cfg.snapshot_seconds, 20 * self._snapshot_took)
        return (
            self.enabled
            and cfg.snapshot_seconds > 0
            and time.monotonic() - self._last_snapshot >= every
        )

    async def snapshot(
        self,
        quiet_point: Callable[[], Awaitable[dict[Any, int]]],
        numbers: list[int],
        pipeline: ScoringPipeline | None,
        wait: bool = False,
    ) -> None:
        """Snapshot the feature memory at a quiet point; call with the agent's lock held.

        ``quiet_point`` drains and commits every batch in flight and returns the
        group's committed offsets; ``numbers`` are the partitions owned.

        Every batch read so far is settled, acknowledged and committed and its
        features learned, so the committed offsets say exactly what the memory
        holds. A forked child pickles it (``fork_snapshot``) while the worker
        goes on; where there is no fork, a thread pickles it as a step of the
        feature stage (the next batch's features wait for it).
        """
        self._last_snapshot = time.monotonic()
        state = self._feature_state()
        if state is None or self.config.snapshot_dir is None or not numbers:
            return
        if self._snapshot_task is not None:
            await self._snapshot_task  # the previous one's child, before a new one
        committed = await quiet_point()
        if pipeline is not None:
            await pipeline.quiet()
        from detection.features import FEATURE_VERSION

        offsets = {(tp.topic, tp.partition): off for tp, off in committed.items()}
        snap = FeatureSnapshot(
            group_id=self.config.group_id,
            partitions=numbers,
            offsets=offsets,
            state=state,
            feature_version=FEATURE_VERSION,
            marks={k: m for k, m in self.marks.items() if m[0] == offsets.get(k, 0) - 1},
            rule_state=self.audit.snapshot() if self.audit is not None else None,
        )
        path = snapshot_path(self.config.snapshot_dir, self.config.group_id, numbers)
        # Forked here, while nothing learns: the child's copy is exactly this memory.
        t0, claims = time.monotonic(), state.claims_seen
        pid = None
        if hasattr(os, "fork"):
            try:
                pid = fork_snapshot(path, snap)
            except OSError as exc:  # no memory or process slot for a child: pickle here
                log.warning("feature snapshot: fork failed, pickling in the worker", exc_info=exc)
        self._snapshot_task = asyncio.ensure_future(
            self._finish_snapshot(path, snap, pid, t0, claims)
        )
        if pid is None and pipeline is not None:
            pipeline.then(self._snapshot_task)
        if wait:
            await self._snapshot_task

    async def _finish_snapshot(
        self, path: Path, snap: FeatureSnapshot, pid: int | None, t0: float, claims: int
    ) -> None:
        """Wait for the snapshot's child (or, without fork, pickle on a thread); count it."""
        try:
            if pid is None:
                size = await asyncio.to_thread(save_snapshot, path, snap)
            else:
                _, status = await asyncio.to_thread(os.waitpid, pid, 0)
                code = os.waitstatus_to_exitcode(status)
                if code != 0:
                    raise RuntimeError(f"snapshot process {pid} exited with {code}")
                size = path.stat().st_size
        except Exception:
            log.exception("feature snapshot failed; the previous one stays", extra={"path": path})
            return
        took = self._snapshot_took = time.monotonic() - t0
        self.metrics.snapshots.inc()
        self.metrics.snapshot_seconds.observe(took)
        log.info(
            "feature snapshot written",
            extra={
                "path": str(path),
                "claims": claims,  # in the snapshot (the live memory has moved on)
                "bytes": size,
                "seconds": round(took, 3),
            },
        )

    async def restore(
        self,
        numbers: list[int],
        reader: Any,
        committed: dict[Any, int],
        shards: dict[int, PartitionShard],
    ) -> None:
        """Load this partition set's snapshot and learn the claims committed since it.

        Args:
            numbers: the partitions now owned (the snapshot must cover exactly these).
            reader: a started group-less ``AIOKafkaConsumer`` to read the claim topics.
            committed: the group's committed offsets of the claim partitions.
            shards: the recovered settlement shards (which message settled each claim).
        """
        from detection.features import FEATURE_VERSION

        assert self.watcher is not None and self.config.snapshot_dir is not None
        t0 = time.monotonic()
        path = snapshot_path(self.config.snapshot_dir, self.config.group_id, numbers)
        snap = await asyncio.to_thread(load_snapshot, path, self.config.group_id, FEATURE_VERSION)
        if snap is None:
            return
        other = await self._marks_missing(reader, snap.marks, snap.offsets)
        if other:
            log.warning(
                "feature snapshot not used; fraud features start cold",
                extra={"path": str(path), "reason": other},
            )
            return
        self.marks.update(snap.marks)
        if self.audit is not None:
            self.audit.restore(snap.rule_state)
        from_snapshot = snap.state.claims_seen
        relearned = await self._relearn(reader, committed, shards, snap.state, snap.offsets)
        # Normally the committed offsets are past the snapshot's; after a manual reset
        # of the group's offsets, messages before them must not be learned twice.
        self._learned_to = dict(snap.offsets)
        await asyncio.to_thread(self.watcher.use_feature_state, snap.state)
        self.metrics.feature_claims.set(snap.state.claims_seen)
        log.info(
            "feature memory restored",
            extra={
                "path": str(path),
                "claims_from_snapshot": from_snapshot,
                "claims_relearned": relearned,
                "snapshot_age_seconds": round(time.time() - snap.taken_at, 1),
                "seconds": round(time.monotonic() - t0, 3),
            },
        )

    async def _marks_missing(
        self,
        reader: Any,
        marks: dict[tuple[str, int], tuple[int, int, Any]],
        offsets: dict[Any, int],
    ) -> str:
        """Why the snapshot's last messages are not where it saw them ("" when they are)."""
        from aiokafka import TopicPartition

        unmarked = sorted(k for k, off in offsets.items() if off > 0 and k not in marks)
        if unmarked:
            return f"no last message recorded for {unmarked}: cannot tell it matches the topics"
        wanted = {TopicPartition(t, p): mark for (t, p), mark in marks.items()}
        if not wanted:
            return ""
        reader.assign(list(wanted))
        for tp, (offset, _ts, _key) in wanted.items():
            reader.seek(tp, offset)
        found: dict[Any, Any] = {}
        deadline = time.monotonic() + 3.0
        while len(found) < len(wanted) and time.monotonic() < deadline:
            pending = [tp for tp in wanted if tp not in found]
            batch = await reader.getmany(*pending, timeout_ms=300, max_records=100)
            for tp, recs in batch.items():
                if recs:
                    found[tp] = recs[0]
        reader.unsubscribe()
        for tp, (offset, ts, key) in sorted(wanted.items()):
            r = found.get(tp)
            if r is None or (r.offset, r.timestamp, r.key) != (offset, ts, key):
                return (
                    f"{tp.topic}[{tp.partition}] offset {offset} no longer holds the message "
                    "the snapshot learned last: the claim topics are not those it was taken from"
                )
        return ""

    async def _relearn(
        self,
        reader: Any,
        committed: dict[Any, int],
        shards: dict[int, PartitionShard],
        state: Any,
        since: dict[tuple[str, int], int],
    ) -> int:
        """Learn into ``state`` the claims settled between ``since`` and the committed offsets.

        They are read again from the claim topics. A message counts when it is
        the one that settled its claim (the changelog's source coordinates),
        so rejected, duplicate and repeated messages are left out as the
        stream left them out. Learned chunk by chunk as fetched, each chunk in
        event order as the stream learns its batches, on a thread (the event
        loop keeps the group's heartbeats going).
        """
        targets = {
            tp: (since.get((tp.topic, tp.partition), 0), end)
            for tp, end in committed.items()
            if end > since.get((tp.topic, tp.partition), 0)
        }
        if not targets:
            return 0
        reader.assign(list(targets))
        for tp, (start, _) in targets.items():
            reader.seek(tp, start)
        pending = set(targets)
        learned = 0
        while pending:
            batch = await reader.getmany(*pending, timeout_ms=500, max_records=5_000)
            chunk: list[Any] = []
            for tp, recs in batch.items():
                end = targets[tp][1]
                wanted = [r for r in recs if r.offset < end]
                if wanted:
                    shard = shards[tp.partition]
                    chunk += await asyncio.to_thread(self.rules.settled_by, shard, tp, wanted)
                    self.note(tp.topic, tp.partition, wanted[-1])
                if recs and recs[-1].offset >= end - 1:
                    pending.discard(tp)
            if chunk:
                learned += await asyncio.to_thread(_learn_in_order, state, chunk, self.audit)
            for tp in list(pending):  # gone from the log (retention): nothing more to read
                if tp not in batch and await reader.position(tp) >= targets[tp][1]:
                    pending.discard(tp)
        reader.unsubscribe()
        return learned


def _learn_in_order(state: Any, claims: list[Any], audit: StreamRules | None = None) -> int:
    from detection.facts import facts_from_claim
    from detection.features import batch_features

    if audit is not None:
        audit.learn(claims)
    return len(batch_features([facts_from_claim(c) for c in claims], state))
