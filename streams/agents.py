"""The settlement agent: the stream's hot path, an aiokafka consumer group inside the Faust worker.

Per batch: read claims, settle each with the pure core against the partition's
state, score the settled ones, then send state changelog entries, settlement
records, fraud flags and dead letters, wait for every acknowledgement, and only
then commit the input offsets. Why this order is crash-safe: docs/stream.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import traceback
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from settlement.claim import parse_claim
from settlement.engine import Settler, rejected_record, settlement_record
from settlement.errors import MALFORMED, ClaimIssue, internal_issue
from settlement.idnumber import mask_identity_numbers
from settlement.jsonio import decode_claim_fast, encode_record_bytes, malformed_message
from settlement.state import SettledOutcome
from streams.feature_snapshot import (
    FeatureSnapshot,
    fork_snapshot,
    load_snapshot,
    save_snapshot,
    snapshot_path,
)
from streams.lifecycle import BrokerDataLost, finished_within
from streams.metrics import StreamMetrics
from streams.outbox import Outbox
from streams.routing import (
    MAX_HOPS,
    Source,
    forward_headers,
    hops_of,
    kind_of,
    origin_of,
    person_of,
    person_partition,
)
from streams.scoring import ModelWatcher
from streams.tables import (
    CHANGELOG_SUFFIX,
    FENCE_PREFIX,
    PartitionShard,
    ShardState,
    clearing_totals,
    decode_entry,
)
from streams.topics import CLAIM_TOPICS, CLAIMS, CLAIMS_DLQ, FRAUD_FLAGS, SETTLEMENTS

log = logging.getLogger(__name__)


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


class SettlementAgent:
    """Consumes the claim topics in a consumer group and settles, scores and answers each claim.

    Args:
        config: connection and tuning.
        book: the policy book (``settlement.policy_loader.load_policy_dir``).
        watcher: the model watcher (None: never score).
        metrics: where to count.
    """

    def __init__(
        self,
        config: AgentConfig,
        book: Any,
        watcher: ModelWatcher | None = None,
        metrics: StreamMetrics | None = None,
    ) -> None:
        self.config = config
        self.book = book
        self.watcher = watcher
        self.metrics = metrics or StreamMetrics()
        self.shards: dict[int, PartitionShard] = {}
        self._states: dict[int, ShardState] = {}
        self._settlers: dict[int, Settler] = {}
        self._lock = asyncio.Lock()
        self._consumer: Any = None
        self._producer: Any = None
        self._reader: Any = None
        # batches answered but not yet acknowledged (or not yet scored), oldest first
        self._inflight: deque[asyncio.Future[None]] = deque()
        self._outbox: Outbox | None = None
        self._answer_partition = False  # answers to their claim's partition number (start())
        self._claims_partitions = 1  # partitions of the ``claims`` log (start())
        self._flag_outbox: Outbox | None = None
        self._featurizing: asyncio.Future[Any] | None = None  # stage 1 of the last batch
        self._uncommitted: dict[Any, int] = {}
        self._committed: dict[Any, int] = {}  # claim topic-partition -> committed offset
        self._last_commit = 0.0
        self._last_snapshot = time.monotonic()
        self._snapshot_took = 0.0  # seconds the last snapshot took
        self._snapshot_task: asyncio.Future[None] | None = None
        self._restored = False  # feature snapshot looked at (first assignment only)
        self._learned_to: dict[tuple[str, int], int] = {}  # restored memory's offsets
        # (claim topic, partition) -> (offset, timestamp, key) of the last message read
        self._marks: dict[tuple[str, int], tuple[int, int, bytes | None]] = {}
        self.ready = asyncio.Event()
        self.running = False  # run() is turning
        self.ran = False  # run() was started (health: a loop that ended is not healthy)
        self.failure: BaseException | None = None  # why the agent cannot go on (fail())
        self.last_loop = time.monotonic()
        self.processed = 0

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Connect the producer, the changelog reader and the group consumer."""
        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
        from aiokafka.abc import ConsumerRebalanceListener

        cfg = self.config
        self._producer = AIOKafkaProducer(
            bootstrap_servers=cfg.bootstrap,
            acks="all",
            linger_ms=cfg.linger_ms,
            max_batch_size=512 * 1024,
            max_request_size=4 * 1024 * 1024,
        )
        self._reader = AIOKafkaConsumer(
            bootstrap_servers=cfg.bootstrap,
            enable_auto_commit=False,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self._consumer = AIOKafkaConsumer(**group_consumer_options(cfg))
        agent = self

        class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
            # aiokafka logs and swallows a listener's exception: hand it to run() instead.
            async def on_partitions_revoked(self, revoked: Any) -> None:
                # Wait for the batch in hand to be acknowledged and committed.
                agent.ready.clear()
                try:
                    async with agent._lock:
                        await agent.drain()
                        await agent.commit_now()
                except Exception as exc:
                    agent.fail(exc)

            async def on_partitions_assigned(self, assigned: Any) -> None:
                try:
                    async with agent._lock:
                        await agent._on_assigned(assigned)
                except Exception as exc:
                    agent.fail(exc)

        await self._producer.start()
        await self._reader.start()
        await self._consumer.start()
        topics = [SETTLEMENTS, FRAUD_FLAGS, CLAIMS_DLQ, cfg.changelog_topic, *CLAIM_TOPICS]
        counts = {t: len(await self._producer.partitions_for(t)) for t in topics}
        # Settlement records go to the partition number of their claim (no key
        # hashing on the hot path: murmur2 in Python was 8% of the worker's time; and
        # a person's answers stay in order like the claims) when the topics line up;
        # otherwise Kafka's default key hashing.
        self._answer_partition = len({counts[SETTLEMENTS], *(counts[t] for t in CLAIM_TOPICS)}) == 1
        self._claims_partitions = counts[CLAIMS]
        self._outbox = Outbox(self._producer, counts)
        self._flag_outbox = Outbox(self._producer, counts)
        self._consumer.subscribe(list(CLAIM_TOPICS), listener=Listener())

    def fail(self, exc: BaseException) -> None:
        """Record why the agent cannot go on; ``run()`` raises it (the first one wins)."""
        if self.failure is None:
            self.failure = exc
        self.ready.clear()

    async def abort(self, timeout: float = 3.0) -> None:
        """Close the connections without finishing or committing anything (after a failure).

        Offsets not committed are read again by the next owner and answered
        idempotently. Each client gets ``timeout`` seconds: against an
        unreachable broker their own stop would wait for it.
        """
        self.ready.clear()
        clients, self._consumer = (self._consumer, self._reader, self._producer), None
        self._reader = self._producer = None
        for client in clients:
            if client is not None:
                try:
                    if not await finished_within(client.stop(), timeout):
                        name = type(client).__name__
                        log.warning("closing %s: no answer in %.0f s", name, timeout)
                except Exception as exc:  # closing anyway; say which one did not close
                    log.warning("closing %s failed: %r", type(client).__name__, exc)

    async def stop(self) -> None:
        """Finish the batch in hand, leave the group, close connections."""
        async with self._lock:
            if self._consumer is not None:
                await self.drain()
                await self.commit_now()
                await self._snapshot_now(wait=True)
            for client in (self._consumer, self._reader, self._producer):
                if client is not None:
                    await client.stop()
            self._consumer = self._reader = self._producer = None
            self.ready.clear()

    async def run(self, stopped: asyncio.Event) -> None:
        """Process batches until ``stopped`` is set; raise what made the agent fail."""
        consumer = self._consumer
        self.running = self.ran = True
        try:
            await self._run(consumer, stopped)
        finally:
            self.running = False
            self.ready.clear()

    async def _run(self, consumer: Any, stopped: asyncio.Event) -> None:
        while not stopped.is_set():
            if self.failure is not None:
                raise self.failure
            self.last_loop = time.monotonic()
            batch = await consumer.getmany(
                timeout_ms=0 if self._inflight else self.config.poll_timeout_ms,
                max_records=self.config.max_batch,
            )
            if batch:
                async with self._lock:
                    pending = await self.process(batch)
                    # Later batches are settled while earlier ones are acknowledged and
                    # scored (a slow scoring batch must not hold back settlements); each
                    # commits after its own acknowledgements and its predecessor's commit.
                    before = self._inflight[-1] if self._inflight else None
                    self._inflight.append(asyncio.ensure_future(self._finish(pending, before)))
                    while len(self._inflight) > self.config.max_inflight:
                        await self._inflight.popleft()
            elif self._inflight:
                await self.drain()
            elif self._uncommitted:
                await self.commit_now()
            if self.watcher is not None:
                self.metrics.set_model(self.watcher.version)
                if self._snapshot_due():
                    async with self._lock:
                        await self._snapshot_now()

    async def drain(self) -> None:
        """Wait until every batch in flight is acknowledged (its offsets then committable)."""
        while self._inflight:
            await self._inflight.popleft()

    async def commit_now(self) -> None:
        """Commit the offsets of every acknowledged batch not yet committed."""
        if self._uncommitted and self._consumer is not None:
            offsets, self._uncommitted = self._uncommitted, {}
            await self._consumer.commit(offsets)
            self._committed.update(offsets)
        self._last_commit = time.monotonic()

    # -- recovery ------------------------------------------------------------

    async def _on_assigned(self, assigned: Any) -> None:
        from aiokafka import TopicPartition

        numbers = sorted({tp.partition for tp in assigned})
        for gone in set(self.shards) - set(numbers):
            del self.shards[gone]
            self._states.pop(gone, None)
            self._settlers.pop(gone, None)
        t0 = time.monotonic()
        topic = self.config.changelog_topic
        tps = [TopicPartition(topic, n) for n in numbers]
        for n in numbers:
            if n not in self.shards:
                self.shards[n] = PartitionShard()
        applied = await self._catch_up(tps) if tps else 0
        for n in numbers:
            state = ShardState(self.shards[n])
            self._states[n] = state
            self._settlers[n] = Settler(self.book, state)
        self.metrics.partitions.set(len(numbers))
        log.info(
            "partitions assigned and state recovered",
            extra={
                "partitions": numbers,
                "entries_applied": applied,
                "claims_known": sum(len(s.settled) for s in self.shards.values()),
                "seconds": round(time.monotonic() - t0, 3),
            },
        )
        await self._read_committed(numbers)
        if not self._restored and self.watcher is not None and self.config.snapshot_dir:
            self._restored = True  # only at start: a running worker keeps its memory
            await self._restore_features(numbers)
        self.ready.set()

    async def _read_committed(self, numbers: list[int]) -> None:
        """The group's committed offsets of the claim partitions now owned."""
        from aiokafka import TopicPartition

        committed = {}
        for topic in CLAIM_TOPICS:
            for n in numbers:
                tp = TopicPartition(topic, n)
                committed[tp] = await self._consumer.committed(tp) or 0
        self._committed = committed

    # -- fraud-feature memory: snapshots (streams/feature_snapshot.py) -----------

    def _feature_state(self) -> Any:
        return self.watcher.feature_state if self.watcher is not None else None

    def _snapshot_due(self) -> bool:
        # A snapshot pickles the whole memory (0.8 s for 100,000 claims' worth,
        # docs/stream.md) and costs a quiet point: never more than 5% of the time.
        cfg = self.config
        if self._snapshot_task is not None and not self._snapshot_task.done():
            return False
        every = max(cfg.snapshot_seconds, 20 * self._snapshot_took)
        return (
            cfg.snapshot_dir is not None
            and cfg.snapshot_seconds > 0
            and time.monotonic() - self._last_snapshot >= every
        )

    async def _snapshot_now(self, wait: bool = False) -> None:
        """Snapshot the feature memory at a quiet point; call with the lock held.

        Every batch read so far is settled, acknowledged and committed and its
        features learned, so the committed offsets say exactly what the memory
        holds. A forked child pickles it (``fork_snapshot``) while the worker
        goes on; where there is no fork, a thread pickles it as a step of the
        feature stage (the next batch's features wait for it).
        """
        self._last_snapshot = time.monotonic()
        state = self._feature_state()
        if state is None or self.config.snapshot_dir is None or not self.shards:
            return
        if self._snapshot_task is not None:
            await self._snapshot_task  # the previous one's child, before a new one
        await self.drain()
        await self.commit_now()
        if self._featurizing is not None:
            await asyncio.shield(self._featurizing)
        from detection.features import FEATURE_VERSION

        numbers = sorted(self.shards)
        offsets = {(tp.topic, tp.partition): off for tp, off in self._committed.items()}
        snap = FeatureSnapshot(
            group_id=self.config.group_id,
            partitions=numbers,
            offsets=offsets,
            state=state,
            feature_version=FEATURE_VERSION,
            marks={k: m for k, m in self._marks.items() if m[0] == offsets.get(k, 0) - 1},
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
        if pid is None:
            self._featurizing = self._snapshot_task
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

    async def _restore_features(self, numbers: list[int]) -> None:
        """Load this partition set's snapshot and learn the claims committed since it."""
        from detection.features import FEATURE_VERSION

        assert self.watcher is not None and self.config.snapshot_dir is not None
        t0 = time.monotonic()
        path = snapshot_path(self.config.snapshot_dir, self.config.group_id, numbers)
        snap = await asyncio.to_thread(load_snapshot, path, self.config.group_id, FEATURE_VERSION)
        if snap is None:
            return
        other = await self._marks_missing(snap.marks, snap.offsets)
        if other:
            log.warning(
                "feature snapshot not used; fraud features start cold",
                extra={"path": str(path), "reason": other},
            )
            return
        self._marks.update(snap.marks)
        from_snapshot = snap.state.claims_seen
        relearned = await self._relearn(snap.state, snap.offsets)
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
        self, marks: dict[tuple[str, int], tuple[int, int, Any]], offsets: dict[Any, int]
    ) -> str:
        """Why the snapshot's last messages are not where it saw them ("" when they are)."""
        from aiokafka import TopicPartition

        unmarked = sorted(k for k, off in offsets.items() if off > 0 and k not in marks)
        if unmarked:
            return f"no last message recorded for {unmarked}: cannot tell it matches the topics"
        wanted = {TopicPartition(t, p): mark for (t, p), mark in marks.items()}
        if not wanted:
            return ""
        reader = self._reader
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

    async def _relearn(self, state: Any, since: dict[tuple[str, int], int]) -> int:
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
            for tp, end in self._committed.items()
            if end > since.get((tp.topic, tp.partition), 0)
        }
        if not targets:
            return 0
        reader = self._reader
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
                    chunk += await asyncio.to_thread(self._settled_by, tp, wanted)
                    last = wanted[-1]
                    self._marks[(tp.topic, tp.partition)] = (last.offset, last.timestamp, last.key)
                if recs and recs[-1].offset >= end - 1:
                    pending.discard(tp)
            if chunk:
                learned += await asyncio.to_thread(_learn_in_order, state, chunk)
            for tp in list(pending):  # gone from the log (retention): nothing more to read
                if tp not in batch and await reader.position(tp) >= targets[tp][1]:
                    pending.discard(tp)
        reader.unsubscribe()
        return learned

    def _settled_by(self, tp: Any, records: list[Any]) -> list[Any]:
        """The validated claims these messages settled (first time, this very message)."""
        if tp.topic != CLAIMS:
            return []  # ingress messages are forwarded, never settled where they are
        source = self.shards[tp.partition].source
        out = []
        for r in records:
            try:
                obj = decode_claim_fast(r.value or b"")
            except ValueError:
                continue
            claim = parse_claim(obj, self.book).claim
            here = (tp.topic, tp.partition, r.offset)
            if claim is not None and source.get(claim.claim_id) == _source(r, here):
                out.append(claim)
        return out

    async def _catch_up(self, tps: list[Any]) -> int:
        """Apply changelog entries since each shard's last applied offset, up to a fresh fence.

        The fence is a record this worker appends to each changelog partition:
        everything written before it (by any earlier owner) is read, without
        trusting end offsets (which this broker under-reports).
        """
        token = FENCE_PREFIX + uuid.uuid4().hex.encode()
        fences = {}
        for tp in tps:
            md = await (await self._producer.send(tp.topic, b"", key=token, partition=tp.partition))
            fences[tp] = md.offset
        reader = self._reader
        reader.assign(tps)
        for tp in tps:
            applied_to = self.shards[tp.partition].applied_to
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
                shard = self.shards[tp.partition]
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

    # -- the hot path --------------------------------------------------------

    async def process(self, batch: dict[Any, list[Any]]) -> _Pending:
        """Settle (or forward), score and send the answers of one batch (acks still pending).

        No message can stop the batch: anything that raises while one message is
        handled is answered ``rejected`` (``internal_error``), dead-lettered with
        the error in a header, counted, and the next message goes on.
        """
        consumer = self._consumer
        assignment = consumer.assignment()
        outbox = self._outbox
        assert outbox is not None, "process() before start()"
        metrics = self.metrics
        scorer = self.watcher.scorer if self.watcher is not None else None
        commits = {}
        to_score: list[Any] = []
        stamps: list[int] = []
        statuses: dict[str, int] = {}
        n_dlq = n_forwarded = 0
        for tp, recs in batch.items():
            if tp not in assignment or tp.partition not in self._states:
                continue  # revoked while this batch was in hand: the new owner reads it
            state = self._states[tp.partition]
            settler = self._settlers[tp.partition]
            topic, partition = tp.topic, tp.partition
            answer_to = partition if self._answer_partition else None
            # messages the restored feature memory already holds (offsets reset by hand)
            learned_to = self._learned_to.get((topic, partition), 0)
            for r in recs:
                here = (topic, partition, r.offset)
                try:
                    obj, problem = self._decode(r.value)
                    if problem is None and self._forward(outbox, r, here, obj):
                        n_forwarded += 1
                        continue
                    record, claim, dead = self._settle_one(settler, state, r, here, obj, problem)
                    headers = _dlq_headers(here, record) if dead else None
                except Exception as exc:  # a fault of ours: answer, keep, count, go on
                    record, claim = _internal_error(here, exc), None
                    headers = [*_dlq_headers(here, record), ("yibao.error", _error_summary(exc))]
                    metrics.internal_errors.inc()
                    log.exception("claim handling failed; answered internal_error",
                                  extra={"source": _stream_id(here)})  # fmt: skip
                status = record["status"]
                statuses[status] = statuses.get(status, 0) + 1
                outbox.add(
                    SETTLEMENTS, record["claim_id"].encode(), encode_record_bytes(record), answer_to
                )
                if headers is not None:
                    n_dlq += 1
                    key = r.key if r.key is None or len(r.key) <= 1024 else None
                    outbox.add(CLAIMS_DLQ, key, *self._dead_letter(r.value, headers))
                elif claim is not None and scorer is not None and r.offset >= learned_to:
                    to_score.append(claim)
                stamps.append(r.timestamp)
            commits[tp] = recs[-1].offset + 1
            last = recs[-1]
            self._marks[(topic, partition)] = (last.offset, last.timestamp, last.key)
            metrics.claims_in.labels(topic).inc(len(recs))
        if n_forwarded:
            metrics.forwarded.inc(n_forwarded)
        changelog = self.config.changelog_topic
        for n, state in self._states.items():
            for key, value in state.take_pending():
                outbox.add(changelog, key, value, partition=n)
        futures = await outbox.flush()
        scoring = None
        if to_score and scorer is not None:
            # Scored after the answers are on their way, in two stages on worker
            # threads: features (Python, holding the GIL; batches one after the
            # other, as the feature state learns claims in order), then LightGBM
            # (without the GIL), which for batch k overlaps the features of batch
            # k+1 and the settling of the batches after it.
            features = asyncio.ensure_future(self._features(scorer, to_score, self._featurizing))
            self._featurizing = features
            scoring = asyncio.ensure_future(self._flag(scorer, features))
        return _Pending(futures, commits, stamps, statuses, n_dlq, scoring)

    def _decode(self, value: bytes | None) -> tuple[Any, ClaimIssue | None]:
        """The decoded message, or the reason it is malformed (never raises for bad bytes)."""
        raw = value or b""
        limit = self.config.max_claim_bytes
        if len(raw) > limit:
            return None, ClaimIssue(
                MALFORMED,
                f"the message is {len(raw)} bytes, over the limit of {limit} bytes "
                "(MAX_CLAIM_BYTES)",
            )
        try:  # bounded: depth, numbers, size (docs/settlement.md, "Limits on input")
            return decode_claim_fast(raw, limit), None
        except ValueError as exc:
            return None, ClaimIssue(MALFORMED, malformed_message(exc))

    def _forward(self, outbox: Outbox, r: Any, here: Source, obj: Any) -> bool:
        """Send a message that is not in its person's partition of ``claims`` there.

        Returns False when the message is settled here: it is in the right place,
        or it names no person (it is answered ``malformed`` where it is).
        """
        person = person_of(obj)
        if person is None:
            return False
        target = person_partition(person, self._claims_partitions)
        if here[0] == CLAIMS and here[1] == target:
            return False
        hops = hops_of(r.headers)
        if hops >= MAX_HOPS:  # partitions changed under a forwarded message: stop bouncing
            raise RuntimeError(f"claim forwarded {hops} times and still not in its partition")
        origin = origin_of(r.headers) or here
        headers = forward_headers(origin, hops + 1, kind_of(obj))
        outbox.add(CLAIMS, person.encode("utf-8", "surrogatepass"), r.value, target, headers)
        return True

    def _dead_letter(
        self, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> tuple[bytes | None, None, list[tuple[str, bytes]]]:
        """(value, partition, headers) of a dead letter: the original bytes, cut at the
        message limit (the full message stays in its source topic) and said so."""
        limit = self.config.max_claim_bytes
        if value is not None and len(value) > limit:
            headers = [*headers, ("yibao.truncated_from", str(len(value)).encode())]
            value = value[:limit]
        return value, None, headers

    async def _features(self, scorer: Any, claims: list[Any], previous: Any) -> Any:
        """Stage 1 of scoring, after the previous batch's: the batch's features, or None."""
        if previous is not None:
            await asyncio.shield(previous)
        try:
            return await asyncio.to_thread(scorer.features, claims)
        except Exception:
            # Settling is the duty; a scoring fault must not stop it (nor loop on
            # redelivery). The batch's flags are lost and counted.
            log.exception("computing features failed; batch settled without flags")
            self.metrics.scoring_errors.inc()
            return None

    async def _flag(self, scorer: Any, features: Any) -> tuple[list[Any], int]:
        """Stage 2: score the featurized batch and send its flags: (futures, flags)."""
        batch = await asyncio.shield(features)
        if batch is None:
            return [], 0
        try:
            scores = await asyncio.to_thread(scorer.flags, batch)
        except Exception:
            log.exception("scoring failed; batch settled without flags")
            self.metrics.scoring_errors.inc()
            return [], 0
        self.metrics.scored.labels(scorer.version).inc(len(batch.facts))
        self.metrics.feature_claims.set(scorer.feature_state.claims_seen)
        outbox = self._flag_outbox
        for score in scores:
            outbox.add(FRAUD_FLAGS, score["claim_id"].encode(), encode_record_bytes(score))
        return await outbox.flush(), len(scores)  # type: ignore[union-attr]

    async def _finish(self, p: _Pending, before: asyncio.Future[None] | None) -> None:
        """Wait for a batch's acknowledgements (and the batch ``before`` it), then commit
        its input offsets; count it."""
        consumer, metrics = self._consumer, self.metrics
        stamps, statuses, commits = p.stamps, p.statuses, p.commits
        n_dlq = p.n_dlq
        if p.futures:
            await asyncio.gather(*p.futures)
        done_ms = time.time() * 1000.0
        n_flags = 0
        if p.scoring is not None:  # flags are acknowledged before the offsets are committed
            flag_futures, n_flags = await p.scoring
            await asyncio.gather(*flag_futures)
        if before is not None:
            await asyncio.shield(before)
        # A commit is only a progress mark (everything before it is acknowledged), so it
        # is throttled: at low load it would cost a round trip per small batch.
        self._uncommitted.update(commits)
        if time.monotonic() - self._last_commit >= self.config.commit_interval:
            await self.commit_now()
        for ts in stamps:
            metrics.latency.observe(max(0.0, (done_ms - ts) / 1000.0))
        n = len(stamps)
        self.processed += n
        metrics.batch_size.observe(n)
        metrics.records_out.labels(SETTLEMENTS).inc(n)
        for status, count in statuses.items():
            metrics.statuses.labels(status).inc(count)
        if n_dlq:
            metrics.dlq.inc(n_dlq)
            metrics.records_out.labels(CLAIMS_DLQ).inc(n_dlq)
        if n_flags:
            metrics.records_out.labels(FRAUD_FLAGS).inc(n_flags)
        for tp, nxt in commits.items():
            high = consumer.highwater(tp)
            if high is not None:
                metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, high - nxt))

    def _settle_one(
        self,
        settler: Settler,
        state: ShardState,
        r: Any,
        here: Source,
        obj: Any,
        problem: ClaimIssue | None,
    ) -> tuple[dict[str, Any], Any, bool]:
        """(settlement record, validated claim or None, whether it goes to the dead letters)."""
        if problem is not None:
            return rejected_record(_stream_id(here), [problem]), None, True
        check = parse_claim(obj, self.book)
        claim = check.claim
        if claim is None:  # every rejected message is kept: its bytes are not in the answer
            return rejected_record(check.claim_id or _stream_id(here), check.issues), None, True
        # A forwarded message counts as the message first read (a forward repeated
        # after a crash is the same message, not a resubmission).
        src = _source(r, here)
        if state.shard.source.get(claim.claim_id) == src:
            # The same message again (its offset was not committed before a crash or
            # rebalance): answer what was answered, not "duplicate"; consumers dedupe.
            outcome = SettledOutcome(*state.shard.settled[claim.claim_id])
            return settlement_record(outcome), claim, False
        state.use(src)
        record = settler.settle_claim(claim)
        return record, (claim if record["status"] == "settled" else None), False

    # -- operator views --------------------------------------------------------

    def clearing_totals(self) -> list[dict[str, Any]]:
        """Gross inter-city totals over the partitions this worker owns."""
        return clearing_totals(self.shards.values())


@dataclass
class _Pending:
    """A batch whose answers are sent but not yet acknowledged."""

    futures: list[Any]
    commits: dict[Any, int]
    stamps: list[int]
    statuses: dict[str, int]
    n_dlq: int
    scoring: asyncio.Future[tuple[list[Any], int]] | None


def _learn_in_order(state: Any, claims: list[Any]) -> int:
    from detection.facts import facts_from_claim
    from detection.features import batch_features

    return len(batch_features([facts_from_claim(c) for c in claims], state))


def _source(r: Any, here: Source) -> Source:
    """The coordinates a settlement remembers: the first-read place of a forwarded message."""
    return (origin_of(r.headers) if r.headers else None) or here


def _internal_error(here: Source, exc: BaseException) -> dict[str, Any]:
    """The answer to a message whose handling raised: a fault of ours, never of the sender."""
    return rejected_record(_stream_id(here), [internal_issue(exc)])


def _error_summary(exc: BaseException) -> bytes:
    """The exception and its last frames, for the dead letter's ``yibao.error`` header."""
    lines = traceback.format_exception(exc, limit=-4)
    return mask_identity_numbers("".join(lines))[-4000:].encode("utf-8", "replace")


def _stream_id(src: tuple[str, int, int]) -> str:
    """The id of a message without a usable claim_id (spec section 5)."""
    return f"{src[0]}:{src[1]}:{src[2]}"


def _dlq_headers(src: tuple[str, int, int], record: dict[str, Any]) -> list[tuple[str, bytes]]:
    return [
        ("yibao.source.topic", src[0].encode()),
        ("yibao.source.partition", str(src[1]).encode()),
        ("yibao.source.offset", str(src[2]).encode()),
        ("yibao.claim_id", record["claim_id"].encode()),
        ("yibao.reasons", json.dumps(record["errors"], ensure_ascii=False).encode()),
    ]
