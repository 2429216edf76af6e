"""What the worker does when the broker goes away: liveness, data-loss checks, bounded stop.

The settlement agent reconnects by itself after a broker outage (aiokafka
retries). What it cannot survive it reports: :class:`BrokerWatch` notices lost
broker data (committed offsets gone backwards, claim topics gone) and the
agent's own failures (lost group membership, a dead run loop) name their cause
through :func:`describe_failure`; the worker then stops within a bounded time
(:class:`StopDeadline`) and exits non-zero for a supervisor to restart it.
Operator's view: docs/operator-runbook.md, "Broker outage".

Errors::

    AgentFailure            the agent cannot go on; ``cause`` is one line for the operator
    └── BrokerDataLost      the broker no longer holds what the worker committed or wrote
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: exit codes of ``yibao stream`` (docs/operator-runbook.md)
EXIT_OK = 0
EXIT_FAILED = 1  # the agent stopped on an error it cannot recover from
EXIT_STOP_TIMEOUT = 2  # a signal asked it to stop, and stopping took longer than allowed
EXIT_DATA_LOST = 3  # refused to start: the broker lost its data under an earlier run

#: written when the broker lost its data; a worker of the group refuses to start while it exists
DATA_LOSS_MARKER = "BROKER-DATA-LOST"


class AgentFailure(RuntimeError):
    """The settlement agent cannot go on; ``cause`` says why in one line."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


class BrokerDataLost(AgentFailure):
    """The broker lost what the worker relies on (restarted in-memory broker, recreated topics)."""


def describe_failure(exc: BaseException) -> str:
    """One line naming why the agent stopped, for the log and the exit message."""
    from aiokafka.errors import CommitFailedError, KafkaConnectionError, KafkaError

    if isinstance(exc, AgentFailure):
        return exc.cause
    first = str(exc).strip().splitlines()[0].strip() if str(exc).strip() else ""
    if isinstance(exc, CommitFailedError):
        return (
            "lost group membership (CommitFailedError): the group rebalanced without this "
            "worker, e.g. after a broker outage longer than the session timeout"
        )
    if isinstance(exc, KafkaConnectionError):
        return f"broker connection failed ({type(exc).__name__}: {first})"
    if isinstance(exc, KafkaError):
        return f"Kafka error {type(exc).__name__}: {first}"
    return f"{type(exc).__name__}: {first}"


async def finished_within(aw: Any, seconds: float) -> bool:
    """Await ``aw`` for at most ``seconds``: True when it finished (its error is raised).

    On time-out the task is cancelled but not waited for, unlike
    ``asyncio.wait_for``, which waits for the cancellation to complete: a
    Kafka client that swallows it while waiting for an unreachable broker
    would hold the stop for good.
    """
    task = asyncio.ensure_future(aw)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task in done:
        task.result()
        return True
    task.cancel()
    return False


def data_loss_marker(data_dir: Path, group_id: str) -> Path:
    """Where a worker of ``group_id`` records that the broker lost its data."""
    return data_dir / "stream" / group_id / DATA_LOSS_MARKER


def record_data_loss(marker: Path, cause: str) -> None:
    """Write the marker: a worker restarted on the emptied broker would settle without history."""
    marker.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    marker.write_text(f"{stamp} {cause}\n", encoding="utf-8")


def refusal(marker: Path) -> str | None:
    """Why a worker must not start (the marker's content and what to do), or None."""
    try:
        seen = marker.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return (
        f"the broker lost its data under an earlier run ({seen}); recover as in "
        "docs/operator-runbook.md 'The broker's data is lost', then delete "
        f"{marker}"
    )


class BrokerWatch:
    """Checks, every ``period`` seconds, that the broker still holds what the agent relies on.

    * Committed offsets of the claim partitions only grow: the highest this
      worker ever committed is remembered, and one the broker answers lower
      (or not at all) means the broker lost the group's offsets. One
      partition is asked per round, in turn.
    * The claim topics must stay in the cluster's metadata.

    It also tracks whether the agent is consuming: a fetch answered (aiokafka's
    ``last_poll_timestamp``, updated by empty answers too) or a claim processed
    within ``stale_after`` seconds.

    Args:
        agent: the :class:`streams.agents.SettlementAgent`.
        topics: the claim topics.
        stale_after: seconds without a fetch answer or a processed claim after
            which the agent is not consuming (``/ready`` false).
    """

    def __init__(
        self,
        agent: Any,
        topics: tuple[str, ...],
        *,
        period: float = 1.0,
        stale_after: float = 3.0,
    ) -> None:
        self.agent = agent
        self.topics = topics
        self.period = period
        self.stale_after = stale_after
        self.best: dict[Any, int] = {}  # topic-partition -> highest offset this worker committed
        self._progress = (agent.processed, time.monotonic())
        self._seen_topics = False
        self._down_since: float | None = None
        self._round = 0

    def consuming(self) -> bool:
        """True when a fetch was answered or a claim processed in the last ``stale_after`` s."""
        agent = self.agent
        consumer = agent._consumer
        assigned = consumer.assignment() if consumer is not None else set()
        if not assigned:
            return False
        now = time.monotonic()
        processed, at = self._progress
        if agent.processed != processed:
            self._progress = (agent.processed, now)
            return True
        if now - at < self.stale_after:
            return True
        polled = [consumer.last_poll_timestamp(tp) for tp in assigned]
        last = max((p for p in polled if p), default=0)
        return time.time() * 1000.0 - last < self.stale_after * 1000.0

    async def run(self, stopped: asyncio.Event) -> None:
        """Check until ``stopped``; raise :class:`BrokerDataLost` when the broker lost data."""
        while not stopped.is_set():
            await asyncio.sleep(self.period)
            if stopped.is_set() or self.agent._consumer is None:
                return
            self._note_connection()
            if self.agent.ready.is_set():
                await self.check()

    def _note_connection(self) -> None:
        """One log line when the agent stops consuming and one when it consumes again."""
        now = time.monotonic()
        if not self.agent.ready.is_set():
            return
        if self.consuming():
            if self._down_since is not None:
                log.warning(
                    "consuming again",
                    extra={"seconds_without_fetch": round(now - self._down_since, 1)},
                )
                self._down_since = None
        elif self._down_since is None:
            self._down_since = now - self.stale_after
            log.warning(
                "not consuming: no fetch answered for %.0f s (broker unreachable?); "
                "/ready is false until it is",
                self.stale_after,
            )

    async def check(self) -> None:
        """Raise :class:`BrokerDataLost` when offsets went backwards or claim topics are gone."""
        from aiokafka.errors import KafkaError

        consumer = self.agent._consumer
        for tp, off in list(self.agent._committed.items()):
            if off > self.best.get(tp, 0):
                self.best[tp] = off
        present = [t for t in self.topics if consumer.partitions_for_topic(t)]
        if present:
            self._seen_topics = True
        elif self._seen_topics:
            raise BrokerDataLost(
                f"broker lost its data: the claim topics {', '.join(self.topics)} are gone "
                "(a restarted in-memory broker, or deleted topics)"
            )
        if not self.best:
            return
        # One partition a round, in turn (one request a second, whatever the
        # partition count): lost data shows on every partition at once.
        self._round += 1
        tp, best = sorted(self.best.items())[self._round % len(self.best)]
        asked = asyncio.ensure_future(consumer.committed(tp))
        try:
            if not await finished_within(asked, 5.0):
                return  # not answered now: next round
        except KafkaError:
            return
        now = asked.result()
        if (now or 0) < best:
            raise BrokerDataLost(
                f"broker lost its data: committed offset of {tp.topic}[{tp.partition}] went "
                f"back from {best} to {now or 0} (a restarted in-memory broker, or "
                "recreated topics)"
            )


class StopDeadline:
    """Ends the process if a stop takes longer than ``seconds`` (a thread: the loop may be stuck).

    Armed when the worker starts to stop. Faust's graceful stop waits for the
    Kafka clients, which hang while the broker is unreachable; past the
    deadline the process exits with ``code()`` after one log line.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._timer: threading.Timer | None = None

    def arm(self, code: Any, why: Any) -> None:
        """Start the countdown (once); ``code()`` and ``why()`` are read when it fires."""
        if self._timer is not None:
            return

        def fire() -> None:
            log.critical(
                "stop took longer than %.0f s; exiting now with code %d: %s",
                self.seconds,
                code(),
                why(),
            )
            for handler in logging.getLogger().handlers:
                handler.flush()
            sys.stderr.flush()
            os._exit(code())

        self._timer = threading.Timer(self.seconds, fire)
        self._timer.daemon = True
        self._timer.start()
