"""The Faust application of the stream worker, built from the settings (nothing happens at import).

Faust gives the worker its life cycle (start, SIGTERM, graceful stop), the web
server (``/health``, ``/ready``, ``/metrics``, ``/clearing``, ``/dip``) and logging; the
claims themselves go through :class:`streams.agents.SettlementAgent`, an
aiokafka consumer group run as a Faust service (Faust's per-event stream
machinery is several times slower here: docs/stream.md).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streams.agents import AgentConfig, SettlementAgent
from streams.lifecycle import (
    BrokerDataLost,
    BrokerWatch,
    data_loss_marker,
    describe_failure,
    finished_within,
    record_data_loss,
)
from streams.metrics import StreamMetrics
from streams.scoring import ModelWatcher
from streams.topics import CLAIM_TOPICS

if TYPE_CHECKING:
    import faust

log = logging.getLogger(__name__)
_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def group_id(app_id: str) -> str:
    """The settlement agent's consumer group of a Faust app id."""
    return f"{app_id}-claims"


def faust_datadir(data_dir: Path, app_id: str) -> str:
    """Faust's ``datadir`` setting for ``app_id``: ``<data_dir>/faust/<app id>``, made
    here (Faust makes only the last folder of it, when the app starts).

    The setting is a format string (``{conf.name}``), so braces are doubled.
    """
    path = Path(data_dir) / "faust" / app_id
    path.mkdir(parents=True, exist_ok=True)
    return path.as_posix().replace("{", "{{").replace("}", "}}")


def create_app(
    settings: Any,
    *,
    app_id: str = "yibao-stream",
    web_port: int | None = None,
    score: bool = True,
    max_batch: int | None = None,
) -> tuple[Any, SettlementAgent]:
    """Build the Faust app and its settlement agent.

    Args:
        settings: ``yibao.settings.Settings``.
        app_id: Faust app id; also the agent's consumer group (plus "-claims").
        web_port: health/metrics port (default ``settings.stream_web_port``).
        score: False never scores (no MLflow look-ups).
        max_batch: messages per batch (default :class:`AgentConfig`'s).

    Returns:
        (the Faust app, the agent it runs).
    """
    import faust

    from dip.loader import load_dip_dir
    from settlement.policy_loader import load_policy_dir
    from streams.audit_rules import StreamRules

    book = load_policy_dir(settings.policies_dir)
    dip_book = load_dip_dir(settings.dip_dir)  # strict: a broken file stops start-up
    metrics = StreamMetrics()
    config = AgentConfig(
        bootstrap=settings.kafka_bootstrap,
        group_id=group_id(app_id),
        partitions=settings.stream_partitions,
        max_claim_bytes=settings.max_claim_bytes,
    )
    if max_batch:
        config.max_batch = max_batch
    if score and settings.feature_snapshot_seconds > 0:
        config.snapshot_dir = settings.data_dir
        config.snapshot_seconds = settings.feature_snapshot_seconds
    watcher = (
        ModelWatcher(
            settings.model_name,
            settings.tracking_uri(),
            settings.model_poll_seconds,
            settings.compiled_models_dir(),
        )
        if score
        else None
    )
    # The audit rules run where scoring does; a broken catalogue stops start-up.
    audit = StreamRules.load(settings.rules_dir) if score else None
    agent = SettlementAgent(config, book, watcher, metrics, dip_book, audit)
    metrics.set_model(watcher.version if watcher else "none")
    app = faust.App(
        app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        # Faust's own directory: its default, "<app id>-data", is relative to the
        # working directory and so landed in the repository.
        datadir=faust_datadir(settings.data_dir, app_id),
        web_enabled=True,
        web_host=settings.stream_web_host,
        web_port=web_port or settings.stream_web_port,
        web_in_thread=False,
        topic_partitions=settings.stream_partitions,
        # Tansu answers a first JoinGroup after half the session timeout (measured:
        # 60 s -> 30 s, 6 s -> 3 s); Faust's own consumer only runs the app here.
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
        broker_request_timeout=30.0,
    )
    broker_watch = BrokerWatch(agent, CLAIM_TOPICS)
    app.service(_agent_service(settings, agent, watcher, broker_watch))
    _add_pages(app, agent, watcher, broker_watch, dip_book)
    return app, agent


def _failure_reporter(settings: Any, agent: SettlementAgent, broker_watch: BrokerWatch) -> Any:
    """An async ``report(exc)``: logs once, in one line, why the agent stops."""
    reported: list[BaseException] = []

    async def report(exc: BaseException) -> None:
        """Log once, in one line, why the agent stops; /ready turns false at once."""
        if reported:
            return
        reported.append(exc)
        agent.fail(exc)
        exc = agent.failure or exc  # a rebalance listener's failure may have come first
        if not isinstance(exc, BrokerDataLost) and agent._consumer is not None:
            # A lost membership is also what a restarted, emptied broker looks like
            # first: look whether the data is gone before saying which it is.
            try:
                await finished_within(broker_watch.check(), 5.0)
            except BrokerDataLost as lost:
                exc = agent.failure = lost
        if isinstance(exc, BrokerDataLost):
            record_data_loss(data_loss_marker(settings.data_dir, agent.config.group_id), exc.cause)
        log.critical(
            "settlement agent failed: %s; the worker stops and exits with code 1",
            describe_failure(exc),
            extra={"cause": type(exc).__name__},
        )

    return report


def _agent_service(
    settings: Any, agent: SettlementAgent, watcher: ModelWatcher | None, broker_watch: BrokerWatch
) -> Any:
    """The Faust service class that runs the agent, the broker watch and the model watcher."""
    from mode import Service

    from streams.broker import create_topics
    from streams.topics import topic_layout

    config = agent.config
    report = _failure_reporter(settings, agent, broker_watch)
    # The agent's stop signal, our own (Faust's Service keeps its private ``_stopped``);
    # an asyncio.Event binds to the running loop when first awaited, not here.
    agent_stopped = asyncio.Event()

    class AgentService(Service):
        """Runs the settlement agent and the model watcher inside the worker."""

        async def on_start(self) -> None:
            await asyncio.to_thread(
                create_topics,
                config.bootstrap,
                [*topic_layout(config.partitions), (config.changelog_topic, config.partitions)],
                compacted=[config.changelog_topic],
            )
            # Everything imported so far lives as long as the process: keep it out of
            # the cyclic GC's full passes, and run those passes less often (latency).
            gc.collect()
            gc.freeze()
            gc.set_threshold(20_000, 20, 100)
            await agent.start()

        @Service.task
        async def _work(self) -> None:
            if watcher is not None:
                # First look before any claim (while the group join goes on), so the
                # first batch is scored when a champion exists.
                try:
                    await asyncio.to_thread(watcher.check)
                except Exception:
                    log.exception("model check failed; settling only")
                agent.metrics.set_model(watcher.version)
            try:
                await agent.run(agent_stopped)
            except Exception as exc:
                await report(exc)
                raise  # Faust's crash path: the worker stops and exits with code 1

        @Service.task
        async def _check_broker(self) -> None:
            try:
                await broker_watch.run(agent_stopped)
            except Exception as exc:
                await report(exc)
                raise

        @Service.task
        async def _watch(self) -> None:
            if watcher is not None:
                await asyncio.sleep(watcher.poll_seconds)
                await watcher.run(agent_stopped)

        async def on_stop(self) -> None:
            agent_stopped.set()
            await _stop_agent(agent, settings.stream_stop_seconds)

    return AgentService


async def _stop_agent(agent: SettlementAgent, stop_seconds: float) -> None:
    """Finish, commit and close, within the agent's share of the worker's bounded stop."""
    # The agent's share of the worker's bounded stop (streams.worker): 40% to finish and
    # commit, then 10% per client to close; the rest is for Faust's own clients.
    agent_stop_seconds = stop_seconds * 0.4
    if agent.failure is None:
        try:
            if not await finished_within(agent.stop(), agent_stop_seconds):
                log.warning(
                    "stopping the agent took longer than %.0f s (broker unreachable?); "
                    "closing without committing: the last batches will be read again",
                    agent_stop_seconds,
                )
        except Exception as exc:
            log.warning("stopping the agent failed: %r; closing without committing", exc)
    # after a failure nothing is committed; after a graceful stop nothing is left to close
    await agent.abort(stop_seconds * 0.1)
    log.info("settlement agent stopped", extra={"processed": agent.processed})


def _add_pages(
    app: faust.App,
    agent: SettlementAgent,
    watcher: ModelWatcher | None,
    broker_watch: BrokerWatch,
    dip_book: Any,
) -> None:
    """The worker's web pages: /health, /ready, /metrics, /clearing, /dip."""
    metrics = agent.metrics

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        stale = time.monotonic() - agent.last_loop
        ended = agent.ran and not agent.running  # the processing loop has stopped
        ok = stale < 60.0 and not ended and agent.failure is None
        body = {"ok": ok, "loop_seconds_ago": round(stale, 3), "loop_running": agent.running}
        return web.json(body, status=200 if ok else 503)

    @app.page("/ready")
    async def ready(web: Any, request: Any) -> Any:
        consuming = broker_watch.consuming() if agent.ready.is_set() else False
        ok = agent.ready.is_set() and agent.running and agent.failure is None and consuming
        state = watcher.feature_state if watcher is not None else None
        body = {
            "ready": ok,
            # a fetch answered or a claim processed in the last few seconds
            "consuming": consuming,
            "partitions": sorted(agent.shards),
            "processed": agent.processed,
            # claims the fraud-feature memory has learned (restored ones included)
            "feature_claims": state.claims_seen if state is not None else 0,
            # the group's committed input offsets of the partitions owned ("topic:partition")
            "committed": agent.committed_offsets(),
            # the scoring model's version ("none": not scoring)
            "model": watcher.version if watcher is not None else "none",
            "group": agent.config.group_id,
            # the worker's process (one of several with yibao stream --processes N)
            "pid": os.getpid(),
        }
        return web.json(body, status=200 if ok else 503)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        return web.bytes(metrics.render(), content_type="text/plain; version=0.0.4")

    @app.page("/clearing")
    async def clearing(web: Any, request: Any) -> Any:
        return web.json({"partitions": sorted(agent.shards), "totals": agent.clearing_totals()})

    @app.page("/dip")
    async def dip(web: Any, request: Any) -> Any:
        period = request.query.get("period")
        if period is not None and not _PERIOD.fullmatch(period):
            return web.json({"error": f"period must be YYYY-MM, got {period!r}"}, status=400)
        records, warnings = agent.dip_months(period)
        body = {
            "partitions": sorted(agent.shards),
            "dip_policies": dip_book.source,
            "records": records,
            "warnings": warnings,
        }
        return web.json(body)
