"""Prometheus metrics of the review follower (``yibao review follow``), in a registry of its own.

Served on a small HTTP endpoint of their own (:meth:`FollowMetrics.serve`): the
follower has no web server otherwise. The alerting rules that use them are in
``deploy/prometheus/yibao-alerts.yml``.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class FollowMetrics:
    """What the follower loaded, how far behind it is, and the topics it saw recreated."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.records = Counter(
            "yibao_follow_records",
            "Records loaded into the review database, by kind (claims, settlements, flags).",
            ["kind"],
            registry=r,
        )
        self.bad = Counter("yibao_follow_bad", "Messages skipped: not JSON.", registry=r)
        self.batches = Counter("yibao_follow_batches", "Batches loaded and committed.", registry=r)
        self.lag = Gauge(
            "yibao_follow_lag",
            "Messages behind the high watermark, per followed partition.",
            ["topic", "partition"],
            registry=r,
        )
        self.position = Gauge(
            "yibao_follow_position",
            "Next offset the follower reads, per followed partition.",
            ["topic", "partition"],
            registry=r,
        )
        self.last_batch = Gauge(
            "yibao_follow_last_batch_timestamp_seconds",
            "Unix time of the last batch loaded (0: none yet).",
            registry=r,
        )
        self.recreated = Counter(
            "yibao_follow_topic_recreated",
            "Partitions found recreated (stored offsets from an older topic): read from the start.",
            ["topic"],
            registry=r,
        )

    def loaded(self, kinds: dict[str, int], bad: int) -> None:
        """Count one batch loaded: records by kind, and messages that were not JSON."""
        for kind, n in kinds.items():
            if n:
                self.records.labels(kind).inc(n)
        if bad:
            self.bad.inc(bad)
        self.batches.inc()
        self.last_batch.set(time.time())

    def positions(self, positions: dict[Any, int], highwater: dict[Any, int | None]) -> None:
        """Set the position and lag of every followed partition (``TopicPartition`` keys)."""
        for tp, position in positions.items():
            labels = (tp.topic, str(tp.partition))
            self.position.labels(*labels).set(position)
            high = highwater.get(tp)
            if high is not None:
                self.lag.labels(*labels).set(max(0, high - position))

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)

    def serve(self, host: str, port: int) -> Any:
        """Serve ``/metrics`` on ``host:port`` from a daemon thread; returns the server.

        Raises:
            OSError: the port is taken (the caller names the setting to change).
        """
        from prometheus_client import start_http_server

        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server
