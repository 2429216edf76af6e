"""What ``yibao status`` reports: the broker, topics, consumer-group lag, workers, dead letters
and the review follower's position, gathered within a time limit and judged by a pure function.

:func:`gather` talks to Kafka and the workers' ``/ready`` pages; :func:`assess` and
:func:`render` only read the :class:`Status` it returns.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any

from streams.topics import CLAIM_TOPICS, CLAIMS_DLQ, FRAUD_FLAGS, OUTPUT_TOPICS, SETTLEMENTS

#: Topics the follower reads (review.follow.TOPICS, without importing the review app).
FOLLOWED = (*CLAIM_TOPICS, SETTLEMENTS, FRAUD_FLAGS)


@dataclass
class GroupLag:
    """A consumer group's committed offsets against the end of its input partitions."""

    group: str
    lag: int
    partitions: dict[str, int] = field(default_factory=dict)  # "topic:partition" -> lag
    committed: bool = True  # False: the group never committed (no worker ran yet)


@dataclass
class WorkerSeen:
    """One worker's ``/ready`` answer (``reachable`` False: nothing answered)."""

    url: str
    reachable: bool
    ready: bool = False
    partitions: list[int] = field(default_factory=list)
    processed: int = 0
    model: str | None = None
    error: str | None = None


@dataclass
class Status:
    """Everything ``yibao status`` found; :func:`assess` says whether it is healthy."""

    bootstrap: str
    broker_reachable: bool
    broker_error: str | None = None
    topics: dict[str, int] = field(default_factory=dict)  # topic -> partitions
    missing_topics: list[str] = field(default_factory=list)
    groups: list[GroupLag] = field(default_factory=list)
    workers: list[WorkerSeen] = field(default_factory=list)
    dead_letters: int = 0
    follower: dict[str, Any] | None = None  # {"behind": n, "partitions": {...}} or None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def assess(status: Status, *, max_lag: int) -> list[str]:
    """The problems that make the system unhealthy (empty: healthy).

    Dead letters are reported but are not a problem by themselves: they wait for
    an operator (``yibao dlq export``).
    """
    if not status.broker_reachable:
        return [f"broker {status.bootstrap} not reachable: {status.broker_error}"]
    problems = [f"topic {t} is missing" for t in status.missing_topics]
    for g in status.groups:
        if g.lag > max_lag:
            problems.append(f"group {g.group} is {g.lag} messages behind (limit {max_lag})")
    if not any(w.ready for w in status.workers):
        problems.append("no worker is ready")
    for w in status.workers:
        if not w.reachable:
            problems.append(f"worker {w.url} does not answer: {w.error}")
        elif not w.ready:
            problems.append(f"worker {w.url} is not ready")
    if status.follower is not None and status.follower["behind"] > max_lag:
        problems.append(
            f"review follower is {status.follower['behind']} messages behind (limit {max_lag})"
        )
    return problems


def render(status: Status, problems: list[str]) -> list[str]:
    """Lines for a terminal."""
    if not status.broker_reachable:
        return [f"broker     {status.bootstrap}: NOT REACHABLE ({status.broker_error})"]
    lines = [f"broker     {status.bootstrap}: reachable"]
    topics = ", ".join(f"{t} ({n})" for t, n in sorted(status.topics.items()))
    lines.append(f"topics     {topics or 'none'}")
    for g in status.groups:
        note = "" if g.committed else " (nothing committed yet)"
        lines.append(f"group      {g.group}: lag {g.lag}{note}")
    for w in status.workers:
        if not w.reachable:
            lines.append(f"worker     {w.url}: no answer ({w.error})")
        else:
            state = "ready" if w.ready else "NOT READY"
            lines.append(
                f"worker     {w.url}: {state}, partitions {w.partitions}, model {w.model}, "
                f"processed {w.processed}"
            )
    lines.append(f"dead letters waiting in {CLAIMS_DLQ}: {status.dead_letters}")
    if status.follower is None:
        lines.append("review follower: no stored offsets (never ran, or no review database)")
    else:
        lines.append(f"review follower: {status.follower['behind']} messages behind")
    lines.append("healthy" if not problems else "UNHEALTHY: " + "; ".join(problems))
    return lines


async def gather(
    bootstrap: str,
    *,
    groups: list[str],
    worker_urls: list[str],
    follower_offsets: dict[tuple[str, int], int] | None,
    timeout: float,
) -> Status:
    """Look at the broker, the groups, the workers and the follower, within ``timeout`` seconds.

    Args:
        bootstrap: Kafka bootstrap servers.
        groups: consumer groups whose lag on the claim topics is reported.
        worker_urls: base URLs of workers' web pages (``/ready`` is asked).
        follower_offsets: the review follower's stored next offsets (None: none stored).
        timeout: longest the broker part may take; past it the broker counts as unreachable.
    """
    from aiokafka.errors import KafkaError

    workers = asyncio.gather(*(asyncio.to_thread(_ask_worker, u, timeout) for u in worker_urls))
    try:
        status = await asyncio.wait_for(
            _broker_status(bootstrap, groups, follower_offsets), timeout
        )
    except TimeoutError:
        status = Status(bootstrap, False, f"no answer in {timeout:g} s")
    except (OSError, KafkaError) as exc:
        reason = str(exc)
        if not reason.startswith(type(exc).__name__):
            reason = f"{type(exc).__name__}: {reason}"
        status = Status(bootstrap, False, reason)
    status.workers = list(await workers)
    return status


def check_broker(bootstrap: str, timeout: float) -> None:
    """Return if a broker at ``bootstrap`` answers within ``timeout`` seconds, else raise.

    Raises:
        aiokafka.errors.KafkaError, OSError, TimeoutError: no broker answered.
    """
    from aiokafka import AIOKafkaConsumer

    async def _check() -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000)
        )
        try:
            await asyncio.wait_for(consumer.start(), timeout)
        finally:
            await consumer.stop()

    asyncio.run(_check())


async def _broker_status(
    bootstrap: str, groups: list[str], follower_offsets: dict[tuple[str, int], int] | None
) -> Status:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        await consumer.start()
        present = await consumer.topics()
        wanted = (*CLAIM_TOPICS, *OUTPUT_TOPICS)
        topics = {t: len(consumer.partitions_for_topic(t) or ()) for t in wanted if t in present}
        status = Status(bootstrap, True, topics=topics)
        status.missing_topics = [t for t in wanted if t not in present]
        tps = [TopicPartition(t, p) for t, n in topics.items() for p in range(n)]
        # The embedded broker reports an end offset that may be short of the last
        # message (notes: kafka-here.md): lag and counts are floors, never negative.
        ends = {tp: int(o) for tp, o in (await consumer.end_offsets(tps)).items()} if tps else {}
        starts = await consumer.beginning_offsets(tps) if tps else {}
        status.dead_letters = sum(
            max(0, ends[tp] - int(starts[tp])) for tp in tps if tp.topic == CLAIMS_DLQ
        )
        inputs = [tp for tp in tps if tp.topic in CLAIM_TOPICS]
        for group in groups:
            committed = await _committed(bootstrap, group, inputs)
            lags = {
                f"{tp.topic}:{tp.partition}": max(0, ends[tp] - committed[tp]) for tp in committed
            }
            status.groups.append(GroupLag(group, sum(lags.values()), lags, bool(committed)))
        if follower_offsets is not None:
            behind = {
                f"{tp.topic}:{tp.partition}": max(
                    0, ends[tp] - follower_offsets.get((tp.topic, tp.partition), 0)
                )
                for tp in tps
                if tp.topic in FOLLOWED
            }
            status.follower = {"behind": sum(behind.values()), "partitions": behind}
        return status
    finally:
        await consumer.stop()


async def _committed(bootstrap: str, group: str, tps: list[Any]) -> dict[Any, int]:
    """A group's committed offsets (asked of its coordinator; the group is not joined)."""
    from aiokafka import AIOKafkaConsumer

    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        await reader.start()
        found = {tp: await reader.committed(tp) for tp in tps}
    finally:
        await reader.stop()
    return {tp: offset for tp, offset in found.items() if offset is not None}


def _ask_worker(url: str, timeout: float) -> WorkerSeen:
    """A worker's ``/ready`` answer; a 503 still carries its state."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/ready", timeout=timeout) as answer:
            body = json.load(answer)
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read())
        except ValueError:
            return WorkerSeen(url, False, error=f"HTTP {exc.code}")
    except (OSError, ValueError) as exc:
        return WorkerSeen(url, False, error=str(getattr(exc, "reason", exc)))
    return WorkerSeen(
        url,
        True,
        ready=bool(body.get("ready")),
        partitions=list(body.get("partitions", [])),
        processed=int(body.get("processed", 0)),
        model=body.get("model"),
    )
