"""Claims by hospital area: the unit of feature computation that needs no other area.

Training on a cluster (:mod:`models.cluster`) computes each area's features on
its own, so no worker needs another's claims. A claim's area is its hospital's
region (``hospital.region``, the pooling area the hospital is in): hospitals,
their peers and the area's DIP groups are then all inside one area, as a
pooling area's bureau compares its own hospitals. Read from the raw line before
validation, so each claims file line, valid or not, belongs to exactly one area
(``""`` for a line without a readable hospital region, which settlement rejects
anyway) and is counted, skipped or folded exactly once.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path

NO_AREA = ""  # a line with no readable hospital region: rejected when validated


def line_area(line: bytes) -> str:
    """The hospital region a claims line names, or ``""`` (not JSON, no region, not text).

    For a claim that validates, this is its ``hospital_region``.
    """
    from settlement.jsonio import decode_claim_fast

    try:
        obj = decode_claim_fast(line)
    except ValueError:
        return NO_AREA
    hospital = obj.get("hospital") if isinstance(obj, dict) else None
    region = hospital.get("region") if isinstance(hospital, dict) else None
    return region if isinstance(region, str) else NO_AREA


def lines_of_areas(lines: Iterable[bytes], areas: Collection[str]) -> Iterator[bytes]:
    """The non-blank lines whose :func:`line_area` is one of ``areas``, in file order."""
    for line in lines:
        if line.strip() and line_area(line) in areas:
            yield line


def count_areas(path: Path, start: int = 0, end: int | None = None) -> Counter[str]:
    """Non-blank lines per area among the lines that start in bytes ``[start, end)``.

    Byte ranges that tile a file count each of its lines once, so the ranges can
    be counted by different workers.
    """
    counts: Counter[str] = Counter()
    with open(path, "rb") as fh:
        if start > 0:
            fh.seek(start - 1)
            fh.readline()  # to the first line that starts at or after ``start``
        while end is None or fh.tell() < end:
            line = fh.readline()
            if not line:
                break
            if line.strip():
                counts[line_area(line)] += 1
    return counts


def byte_ranges(size: int, pieces: int) -> list[tuple[int, int]]:
    """``pieces`` contiguous byte ranges covering ``[0, size)`` (fewer for a small file)."""
    pieces = max(1, min(pieces, size))
    bounds = [size * i // pieces for i in range(pieces + 1)]
    return [(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo] or [(0, 0)]


def group_areas(counts: Mapping[str, int], groups: int) -> list[tuple[str, ...]]:
    """Areas dealt into at most ``groups`` groups of about equal claims, largest first.

    Deterministic: the same counts give the same groups. Each group's areas are sorted.
    """
    groups = max(1, min(groups, len(counts)))
    heap = [(0, g) for g in range(groups)]
    members: list[list[str]] = [[] for _ in range(groups)]
    for area, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        load, g = heapq.heappop(heap)
        members[g].append(area)
        heapq.heappush(heap, (load + n, g))
    return [tuple(sorted(m)) for m in members if m]
