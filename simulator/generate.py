"""Claims day by day, in submission-time order: the public entry points of the simulator.

:func:`simulate` yields claim dicts, :func:`simulate_lines` JSON Lines text,
:func:`write` streams to a file. Each submission day draws from its own
seeded random source; claims that a day's episode submits later (a second
stay, a duplicate bill) wait in a heap until their time comes, so memory stays
flat whatever the number of claims.
"""

from __future__ import annotations

import heapq
import json
import multiprocessing
import random
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeVar

from simulator.config import SimConfig
from simulator.corrupt import KIND_NAMES, KINDS, corrupt, truncate
from simulator.days import DayBlock, DayGenerator
from simulator.episode import DAY_SECONDS as _DAY
from simulator.render import _ENCODER
from simulator.world import World, build_world

OnCorrupt = Callable[[int, str, str], None]


def simulate(
    config: SimConfig, on_corrupt: OnCorrupt | None = None, world: World | None = None
) -> Iterator[dict[str, Any]]:
    """Generate the claims of a run as dicts, in submission-time order.

    With ``corrupt_rate`` > 0 some dicts are deliberately invalid; the
    ``unparseable`` kind exists only as text, so here it becomes a claim
    missing a required field instead.

    Args:
        config: the run's parameters.
        on_corrupt: called as ``(index, kind, expected error code)`` for each
            claim broken on purpose (index counts from 0).
        world: the run's world if already built with ``build_world(config)``.

    Yields:
        Claims following ``shared/spec/claim.schema.json`` (or broken on purpose).
    """
    gen = DayGenerator(world or build_world(config))
    days = ((i, gen.day_episodes(i)) for i in range(config.days))
    r_corrupt = _corruption_rng(config)
    for count, (ts, i, k, ep) in enumerate(_merge(days, gen.start_ord)):
        claim = gen.render(ep, ts, gen.claim_id(ts, i, k))
        if config.corrupt_rate > 0 and r_corrupt.random() < config.corrupt_rate:
            kind = KIND_NAMES[r_corrupt.randrange(len(KIND_NAMES))]
            if kind == "unparseable":
                kind = "missing_field"
            corrupt(claim, kind, r_corrupt)
            if on_corrupt is not None:
                on_corrupt(count, kind, KINDS[kind])
        yield claim


def simulate_lines(
    config: SimConfig,
    workers: int = 1,
    on_corrupt: OnCorrupt | None = None,
    world: World | None = None,
) -> Iterator[str]:
    """Generate the claims of a run as JSON Lines text (each line ends with a newline).

    Args:
        config: the run's parameters.
        workers: processes drawing days in parallel (1 = in this process). The
            output does not depend on it.
        on_corrupt: called as ``(line index from 0, kind, expected error code)``
            for each line broken on purpose.
        world: the run's world if already built with ``build_world(config)``.

    Yields:
        One line per claim; with ``corrupt_rate`` some are invalid on purpose.
    """
    for chunk in _chunks(config, workers, on_corrupt, world):
        yield from chunk.splitlines(keepends=True)


def write(config: SimConfig, out: IO[str], progress: Any = None, workers: int = 1) -> int:
    """Write a run as JSON Lines to ``out``; returns the number of lines written.

    Args:
        config: the run's parameters.
        out: a text stream.
        progress: optional object with ``update(n)`` (a tqdm bar).
        workers: processes drawing days in parallel.
    """
    n = 0
    for chunk in _chunks(config, workers):
        out.write(chunk)
        lines = chunk.count("\n")
        n += lines
        if progress is not None:
            progress.update(lines)
    return n


def _chunks(
    config: SimConfig,
    workers: int = 1,
    on_corrupt: OnCorrupt | None = None,
    world: World | None = None,
) -> Iterator[str]:
    """The run's JSON Lines text in chunks of whole lines (about one day each)."""
    world = world or build_world(config)
    if workers > 1 and config.days > 1:
        blocks: Iterator[DayBlock] = _parallel_blocks(world, workers)
    else:
        gen = DayGenerator(world)
        blocks = (gen.day_block(i) for i in range(config.days))
    start_ord = config.start.toordinal()
    if config.corrupt_rate > 0:
        lines = _merge_blocks_lines(blocks, start_ord)
        yield from _corrupt_lines(lines, config, on_corrupt)
    else:
        yield from _merge_blocks(blocks, start_ord)


def _merge_blocks(blocks: Iterable[DayBlock], start_ord: int) -> Iterator[str]:
    """Day texts with the follow-ups due that day spliced in at their time."""
    heap: list[tuple[int, int, int, str]] = []
    push, pop = heapq.heappush, heapq.heappop
    for i, stamps, offsets, text, later in blocks:
        for item in later:
            push(heap, item)
        limit = (start_ord + i + 1) * _DAY
        if not heap or heap[0][0] >= limit:
            if text:
                yield text
            continue
        pieces = []
        a = 0
        while heap and heap[0][0] < limit:
            ts, _i, _k, line = pop(heap)
            # An earlier day's claim goes before today's claims of the same second.
            b = bisect_left(stamps, ts, a)
            if b > a:
                pieces.append(text[offsets[a] : offsets[b]])
            pieces.append(line)
            a = b
        pieces.append(text[offsets[a] :])
        yield "".join(pieces)
    rest = []
    while heap:
        rest.append(pop(heap)[3])
    if rest:
        yield "".join(rest)


def _merge_blocks_lines(blocks: Iterable[DayBlock], start_ord: int) -> Iterator[str]:
    for chunk in _merge_blocks(blocks, start_ord):
        yield from chunk.splitlines(keepends=True)


def _corrupt_lines(
    lines: Iterable[str], config: SimConfig, on_corrupt: OnCorrupt | None
) -> Iterator[str]:
    """Break a share ``config.corrupt_rate`` of lines, in 4096-line chunks."""
    r_corrupt = _corruption_rng(config)
    rate = config.corrupt_rate
    encode = _ENCODER.encode
    buf: list[str] = []
    for count, line in enumerate(lines):
        if r_corrupt.random() < rate:
            claim = json.loads(line)
            kind = KIND_NAMES[r_corrupt.randrange(len(KIND_NAMES))]
            line = encode(corrupt(claim, kind, r_corrupt))
            if kind == "unparseable":
                line = truncate(line, r_corrupt)
            if on_corrupt is not None:
                on_corrupt(count, kind, KINDS[kind])
            line += "\n"
        buf.append(line)
        if len(buf) >= 4096:
            yield "".join(buf)
            buf.clear()
    if buf:
        yield "".join(buf)


_WORKER_GEN: DayGenerator | None = None


def _worker_block(i: int) -> DayBlock:
    assert _WORKER_GEN is not None
    return _WORKER_GEN.day_block(i)


def _parallel_blocks(world: World, workers: int) -> Iterator[DayBlock]:
    """Days drawn by ``workers`` forked processes, yielded in day order.

    At most ``4 * workers`` days are in flight, so a slow consumer never makes
    finished days pile up in memory.
    """
    global _WORKER_GEN
    _WORKER_GEN = DayGenerator(world)
    ctx = multiprocessing.get_context("fork")
    try:
        with ctx.Pool(workers) as pool:
            pending: deque[Any] = deque()
            n_days = world.config.days
            nxt = 0
            while nxt < n_days and len(pending) < 4 * workers:
                pending.append(pool.apply_async(_worker_block, (nxt,)))
                nxt += 1
            while pending:
                result = pending.popleft().get()
                if nxt < n_days:
                    pending.append(pool.apply_async(_worker_block, (nxt,)))
                    nxt += 1
                yield result
    finally:
        _WORKER_GEN = None


def _corruption_rng(config: SimConfig) -> random.Random:
    # Day streams use (seed << 21) + day with day < 2**21 - 1: no overlap.
    return random.Random((config.seed << 21) + 0x1FFFFF)


T = TypeVar("T")


def _merge(
    days: Iterable[tuple[int, list[tuple[int, T]]]], start_ord: int
) -> Iterator[tuple[int, int, int, T]]:
    """Release the claims of consecutive generation days in submission-time order.

    A day's claims are submitted on that day or later, so everything before
    the next day's start is final once the day is generated. Ties are broken
    by generation day, then by position within the day. Yields
    ``(ts, day, position, payload)``.
    """
    heap: list[tuple[int, int, int, T]] = []
    push, pop = heapq.heappush, heapq.heappop
    for i, items in days:
        limit = (start_ord + i + 1) * _DAY
        now = []
        for k, (ts, payload) in enumerate(items):
            if ts < limit:
                now.append((ts, i, k, payload))
            else:
                push(heap, (ts, i, k, payload))
        while heap and heap[0][0] < limit:
            now.append(pop(heap))
        now.sort()
        yield from now
    while heap:
        yield pop(heap)
