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
import time
import uuid
from dataclasses import dataclass
from typing import Any

from settlement.claim import parse_claim
from settlement.engine import Settler, rejected_record, settlement_record
from settlement.errors import MALFORMED, ClaimIssue
from settlement.jsonio import decode_claim_fast, encode_record_bytes
from settlement.state import SettledOutcome
from streams.metrics import StreamMetrics
from streams.outbox import Outbox
from streams.scoring import ModelWatcher
from streams.tables import (
    CHANGELOG_SUFFIX,
    FENCE_PREFIX,
    PartitionShard,
    ShardState,
    clearing_totals,
    decode_entry,
)
from streams.topics import CLAIM_TOPICS, CLAIMS_DLQ, FRAUD_FLAGS, SETTLEMENTS

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
        self._inflight: asyncio.Future[None] | None = None
        self._outbox: Outbox | None = None
        self._flag_outbox: Outbox | None = None
        self._featurizing: asyncio.Future[Any] | None = None  # stage 1 of the last batch
        self._uncommitted: dict[Any, int] = {}
        self._last_commit = 0.0
        self.ready = asyncio.Event()
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
            async def on_partitions_revoked(self, revoked: Any) -> None:
                # Wait for the batch in hand to be acknowledged and committed.
                async with agent._lock:
                    await agent.drain()
                    await agent.commit_now()
                    agent.ready.clear()

            async def on_partitions_assigned(self, assigned: Any) -> None:
                async with agent._lock:
                    await agent._on_assigned(assigned)

        await self._producer.start()
        await self._reader.start()
        await self._consumer.start()
        topics = [SETTLEMENTS, FRAUD_FLAGS, CLAIMS_DLQ, cfg.changelog_topic]
        counts = {t: len(await self._producer.partitions_for(t)) for t in topics}
        self._outbox = Outbox(self._producer, counts)
        self._flag_outbox = Outbox(self._producer, counts)
        self._consumer.subscribe(list(CLAIM_TOPICS), listener=Listener())

    async def stop(self) -> None:
        """Finish the batch in hand, leave the group, close connections."""
        async with self._lock:
            if self._consumer is not None:
                await self.drain()
                await self.commit_now()
            for client in (self._consumer, self._reader, self._producer):
                if client is not None:
                    await client.stop()
            self._consumer = self._reader = self._producer = None
            self.ready.clear()

    async def run(self, stopped: asyncio.Event) -> None:
        """Process batches until ``stopped`` is set."""
        consumer = self._consumer
        while not stopped.is_set():
            self.last_loop = time.monotonic()
            batch = await consumer.getmany(
                timeout_ms=0 if self._inflight else self.config.poll_timeout_ms,
                max_records=self.config.max_batch,
            )
            if batch:
                async with self._lock:
                    pending = await self.process(batch)
                    # Batch k+1 is settled while batch k's sends are acknowledged; commits
                    # still happen in order, each after its own batch's acknowledgements.
                    await self.drain()
                    self._inflight = asyncio.ensure_future(self._finish(pending))
            elif self._inflight is not None:
                await self.drain()
            elif self._uncommitted:
                await self.commit_now()
            if self.watcher is not None:
                self.metrics.set_model(self.watcher.version)

    async def drain(self) -> None:
        """Wait until the batch in flight is acknowledged (its offsets then become committable)."""
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            await inflight

    async def commit_now(self) -> None:
        """Commit the offsets of every acknowledged batch not yet committed."""
        if self._uncommitted and self._consumer is not None:
            offsets, self._uncommitted = self._uncommitted, {}
            await self._consumer.commit(offsets)
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
        self.ready.set()

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
            reader.seek(tp, self.shards[tp.partition].applied_to)
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
        """Settle, score and send the answers of one batch (acknowledgements still pending)."""
        consumer = self._consumer
        assignment = consumer.assignment()
        outbox = self._outbox
        metrics = self.metrics
        scorer = self.watcher.scorer if self.watcher is not None else None
        commits = {}
        to_score: list[Any] = []
        stamps: list[int] = []
        statuses: dict[str, int] = {}
        n_dlq = 0
        for tp, recs in batch.items():
            if tp not in assignment or tp.partition not in self._states:
                continue  # revoked while this batch was in hand: the new owner reads it
            state = self._states[tp.partition]
            settler = self._settlers[tp.partition]
            topic, partition = tp.topic, tp.partition
            for r in recs:
                src = (topic, partition, r.offset)
                record, claim, malformed = self._settle_one(settler, state, r, src)
                status = record["status"]
                statuses[status] = statuses.get(status, 0) + 1
                outbox.add(SETTLEMENTS, record["claim_id"].encode(), encode_record_bytes(record))
                if malformed:
                    n_dlq += 1
                    outbox.add(CLAIMS_DLQ, r.key, r.value, headers=_dlq_headers(src, record))
                elif claim is not None and scorer is not None:
                    to_score.append(claim)
                stamps.append(r.timestamp)
            commits[tp] = recs[-1].offset + 1
            metrics.claims_in.labels(topic).inc(len(recs))
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
        outbox = self._flag_outbox
        for score in scores:
            outbox.add(FRAUD_FLAGS, score["claim_id"].encode(), encode_record_bytes(score))
        return await outbox.flush(), len(scores)  # type: ignore[union-attr]

    async def _finish(self, p: _Pending) -> None:
        """Wait for a batch's acknowledgements, then commit its input offsets; count it."""
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
        self, settler: Settler, state: ShardState, r: Any, src: tuple[str, int, int]
    ) -> tuple[dict[str, Any], Any, bool]:
        """(settlement record, validated claim or None, whether it goes to the dead letters)."""
        try:
            obj = decode_claim_fast(r.value or b"")
        except ValueError as exc:
            issue = ClaimIssue(MALFORMED, f"not valid JSON: {exc}")
            return rejected_record(_stream_id(src), [issue]), None, True
        check = parse_claim(obj, self.book)
        claim = check.claim
        if claim is None:
            record = rejected_record(check.claim_id or _stream_id(src), check.issues)
            return record, None, any(i.code == MALFORMED for i in check.issues)
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
