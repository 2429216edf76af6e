"""Prometheus metrics of the stream worker, in a registry of its own (one per worker object).

Exposed as text on the worker's ``/metrics`` page.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class StreamMetrics:
    """Counters, gauges and the latency histogram of one worker."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.claims_in = Counter(
            "yibao_claims_in", "Claim messages read, by input topic.", ["topic"], registry=r
        )
        self.records_out = Counter(
            "yibao_records_out", "Messages written, by output topic.", ["topic"], registry=r
        )
        self.statuses = Counter(
            "yibao_settlements", "Settlement records by status.", ["status"], registry=r
        )
        self.scored = Counter(
            "yibao_scored", "Claims scored, by model version.", ["version"], registry=r
        )
        self.flagged = Counter(
            "yibao_flagged", "Claims flagged for review, by model version.", ["version"], registry=r
        )
        self.flag_rate = Gauge(
            "yibao_flag_rate",
            "Share of the last scored claims flagged (window: streams.flag_rate).",
            registry=r,
        )
        self.scoring_errors = Counter(
            "yibao_scoring_errors", "Batches settled but not scored (scorer failed).", registry=r
        )
        self.dlq = Counter("yibao_dlq", "Rejected messages dead-lettered.", registry=r)
        self.forwarded = Counter(
            "yibao_forwarded",
            "Messages forwarded to their person's partition of the claims log "
            "(from an ingress topic or a wrong partition).",
            registry=r,
        )
        self.internal_errors = Counter(
            "yibao_internal_errors",
            "Messages whose handling raised (answered internal_error, dead-lettered).",
            registry=r,
        )
        self.latency = Histogram(
            "yibao_settlement_latency_seconds",
            "From the input message's timestamp to its settlement being acknowledged.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )
        self.batch_size = Histogram(
            "yibao_batch_size",
            "Messages per processed batch.",
            buckets=(1, 10, 100, 500, 1000, 2000, 5000),
            registry=r,
        )
        self.lag = Gauge(
            "yibao_consumer_lag",
            "Messages behind the high watermark.",
            ["topic", "partition"],
            registry=r,
        )
        self.model = Gauge(
            "yibao_model_info", "The scoring model in use (value 1).", ["version"], registry=r
        )
        self.partitions = Gauge("yibao_partitions_owned", "Input partitions owned.", registry=r)
        self.feature_claims = Gauge(
            "yibao_feature_state_claims", "Claims the fraud-feature memory has learned.", registry=r
        )
        self.snapshots = Counter(
            "yibao_feature_snapshots", "Feature snapshots written.", registry=r
        )
        self.snapshot_seconds = Histogram(
            "yibao_feature_snapshot_seconds",
            "Time to write one feature snapshot (in a forked child; the worker goes on).",
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=r,
        )
        self.stage_cpu = Counter(
            "yibao_stage_cpu_seconds",
            "CPU seconds of the thread running each stage of the hot path: settle (decode,"
            " validate, settle, answer), rules (the audit catalogue), features, model.",
            ["stage"],
            registry=r,
        )
        self._model_label: str | None = None
        self._lag_labels: set[tuple[str, str]] = set()

    def set_model(self, version: str) -> None:
        if version == self._model_label:
            return
        if self._model_label is not None:
            self.model.remove(self._model_label)
        self.model.labels(version).set(1)
        self._model_label = version

    def set_lag(self, topic: str, partition: int, lag: int) -> None:
        """Messages behind the high watermark of one input partition owned."""
        labels = (topic, str(partition))
        self.lag.labels(*labels).set(lag)
        self._lag_labels.add(labels)

    def forget_partitions(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Stop reporting partitions handed over (revoked): their next owner reports them."""
        gone = {(topic, str(number)) for topic, number in partitions}
        for labels in gone & self._lag_labels:
            self.lag.remove(*labels)
        self._lag_labels -= gone

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
