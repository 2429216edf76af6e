"""The settlement agent: the stream's hot path, an aiokafka consumer group inside the Faust worker.

Per batch: read claims, settle each with the pure core against the partition's
state, score the settled ones, then send state changelog entries, settlement
records, fraud flags and dead letters, wait for every acknowledgement, and only
then commit the input offsets. Why this order is crash-safe: docs/stream.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from settlement.engine import Settler
from settlement.jsonio import encode_record_bytes
from streams.agent_config import AgentConfig, group_consumer_options
from streams.audit_rules import StreamRules
from streams.dip_tally import DipScorer, dip_month_records
from streams.feature_memory import FeatureMemory
from streams.lifecycle import finished_within
from streams.messages import (
    MessageRules,
    dlq_headers,
    error_summary,
    internal_error_record,
    stream_id,
)
from streams.metrics import StreamMetrics
from streams.outbox import Outbox
from streams.rebalance import RebalanceListener
from streams.recovery import catch_up
from streams.scoring import ModelWatcher
from streams.scoring_pipeline import ScoringPipeline
from streams.tables import PartitionShard, ShardState, clearing_totals
from streams.topics import CLAIM_TOPICS, CLAIMS, CLAIMS_DLQ, FRAUD_FLAGS, SETTLEMENTS

log = logging.getLogger(__name__)

__all__ = ["AgentConfig", "SettlementAgent", "group_consumer_options"]


class SettlementAgent:
    """Consumes the claim topics in a consumer group and settles, scores and answers each claim.

    Args:
        config: connection and tuning.
        book: the policy book (``settlement.policy_loader.load_policy_dir``).
        watcher: the model watcher (None: never score).
        metrics: where to count.
        dip_book: the DIP policies (``dip.loader.load_dip_dir``); None keeps no DIP tally.
        audit: the audit rules (streams/audit_rules.py); None checks none.
    """

    def __init__(
        self,
        config: AgentConfig,
        book: Any,
        watcher: ModelWatcher | None = None,
        metrics: StreamMetrics | None = None,
        dip_book: Any = None,
        audit: StreamRules | None = None,
    ) -> None:
        self.config = config
        self.audit = audit
        self.book = book
        self.dip_book = dip_book
        self._dip = DipScorer(dip_book) if dip_book is not None else None
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
        self._rules = MessageRules(book, config.max_claim_bytes, 1)  # partitions: start()
        self._scoring: ScoringPipeline | None = None  # start()
        self.memory = FeatureMemory(config, watcher, self._rules, self.metrics, audit)
        self._uncommitted: dict[Any, int] = {}
        self._committed: dict[Any, int] = {}  # claim topic-partition -> committed offset
        self._last_commit = 0.0
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
        self._rules.claims_partitions = counts[CLAIMS]
        self._outbox = Outbox(self._producer, counts)
        self._scoring = ScoringPipeline(Outbox(self._producer, counts), self.metrics, self.audit)
        self._consumer.subscribe(list(CLAIM_TOPICS), listener=RebalanceListener(self))

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
                await self._snapshot(wait=True)
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
                if self.memory.due():
                    async with self._lock:
                        await self._snapshot()

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
        applied = await catch_up(self._producer, self._reader, self.shards, tps) if tps else 0
        for n in numbers:
            state = ShardState(self.shards[n], self._dip)
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
        if not self.memory.restored and self.memory.enabled:
            self.memory.restored = True  # only at start: a running worker keeps its memory
            await self.memory.restore(numbers, self._reader, self._committed, self.shards)
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

    # -- fraud-feature memory (streams/feature_memory.py) ----------------------

    async def _snapshot(self, wait: bool = False) -> None:
        """Snapshot the feature memory at a quiet point; call with the lock held."""
        await self.memory.snapshot(self._quiet_point, sorted(self.shards), self._scoring, wait)

    async def _quiet_point(self) -> dict[Any, int]:
        """Every batch read so far acknowledged and committed: the committed offsets."""
        await self.drain()
        await self.commit_now()
        return self._committed

    # -- the hot path --------------------------------------------------------

    async def process(self, batch: dict[Any, list[Any]]) -> _Pending:
        """Settle (or forward), score and send the answers of one batch (acks still pending).

        No message can stop the batch: anything that raises while one message is
        handled is answered ``rejected`` (``internal_error``), dead-lettered with
        the error in a header, counted, and the next message goes on.
        """
        consumer = self._consumer
        assignment = consumer.assignment()
        outbox, pipeline, rules = self._outbox, self._scoring, self._rules
        assert outbox is not None and pipeline is not None, "process() before start()"
        metrics = self.metrics
        scorer = self.watcher.scorer if self.watcher is not None else None
        checking = scorer is not None or self.audit is not None
        commits = {}
        to_score: list[Any] = []
        stamps: list[int] = []
        statuses: dict[str, int] = {}
        n_dlq = n_forwarded = 0
        cpu_started = time.thread_time()
        for tp, recs in batch.items():
            if tp not in assignment or tp.partition not in self._states:
                continue  # revoked while this batch was in hand: the new owner reads it
            state = self._states[tp.partition]
            settler = self._settlers[tp.partition]
            topic, partition = tp.topic, tp.partition
            answer_to = partition if self._answer_partition else None
            # messages the restored feature memory already holds (offsets reset by hand)
            learned_to = self.memory.learned_to(topic, partition)
            for r in recs:
                here = (topic, partition, r.offset)
                try:
                    obj, problem = rules.decode(r.value, topic)
                    if problem is None and rules.forward(outbox, r, here, obj):
                        n_forwarded += 1
                        continue
                    record, claim, dead = rules.settle(settler, state, r, here, obj, problem)
                    headers = dlq_headers(here, record) if dead else None
                except Exception as exc:  # a fault of ours: answer, keep, count, go on
                    record, claim = internal_error_record(here, exc), None
                    headers = [*dlq_headers(here, record), ("yibao.error", error_summary(exc))]
                    metrics.internal_errors.inc()
                    log.exception("claim handling failed; answered internal_error",
                                  extra={"source": stream_id(here)})  # fmt: skip
                status = record["status"]
                statuses[status] = statuses.get(status, 0) + 1
                outbox.add(
                    SETTLEMENTS, record["claim_id"].encode(), encode_record_bytes(record), answer_to
                )
                if headers is not None:
                    n_dlq += 1
                    key = r.key if r.key is None or len(r.key) <= 1024 else None
                    outbox.add(CLAIMS_DLQ, key, *rules.dead_letter(r.value, headers))
                elif claim is not None and checking and r.offset >= learned_to:
                    to_score.append(claim)
                stamps.append(r.timestamp)
            commits[tp] = recs[-1].offset + 1
            last = recs[-1]
            self.memory.note(topic, partition, last)
            metrics.claims_in.labels(topic).inc(len(recs))
        if n_forwarded:
            metrics.forwarded.inc(n_forwarded)
        metrics.stage_cpu.labels("settle").inc(time.thread_time() - cpu_started)
        changelog = self.config.changelog_topic
        for n, state in self._states.items():
            for key, value in state.take_pending():
                outbox.add(changelog, key, value, partition=n)
        futures = await outbox.flush()
        scoring = None
        if to_score:
            # Scored after the answers are on their way (streams/scoring_pipeline.py).
            scoring = pipeline.submit(scorer, to_score)
        return _Pending(futures, commits, stamps, statuses, n_dlq, scoring)

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
                metrics.set_lag(tp.topic, tp.partition, max(0, high - nxt))

    # -- operator views --------------------------------------------------------

    def committed_offsets(self) -> dict[str, int]:
        """The committed input offset of each owned claim partition, as ``topic:partition``."""
        return {f"{tp.topic}:{tp.partition}": off for tp, off in sorted(self._committed.items())}

    def clearing_totals(self) -> list[dict[str, Any]]:
        """Gross inter-city totals over the partitions this worker owns."""
        return clearing_totals(self.shards.values())

    def dip_months(self, period: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
        """DIP month records (as ``yibao dip month``) over the partitions this worker owns."""
        if self.dip_book is None:
            return [], []
        return dip_month_records(self.shards.values(), self.dip_book, period)


@dataclass
class _Pending:
    """A batch whose answers are sent but not yet acknowledged."""

    futures: list[Any]
    commits: dict[Any, int]
    stamps: list[int]
    statuses: dict[str, int]
    n_dlq: int
    scoring: asyncio.Future[tuple[list[Any], int]] | None
