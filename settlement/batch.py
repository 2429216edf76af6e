"""Settling a JSON Lines stream: one record per non-blank input line, in order.

The input is read line by line in binary and never loaded whole; one bad line
is answered ``rejected`` and the run goes on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any, BinaryIO, TextIO

from settlement.engine import Settler
from settlement.jsonio import encode_record, numbered_lines


def settle_lines(settler: Settler, stream: BinaryIO) -> Iterator[dict[str, Any]]:
    """Yield the settlement record of every claim line of ``stream``, in input order."""
    settle_json = settler.settle_json
    for number, line in numbered_lines(stream):
        yield settle_json(line, f"line:{number}")


def settle_file(settler: Settler, stream: BinaryIO, out: TextIO) -> Counter[str]:
    """Settle every line of ``stream`` into ``out`` as JSON Lines; return counts by status."""
    counts: Counter[str] = Counter()
    write = out.write
    for record in settle_lines(settler, stream):
        counts[record["status"]] += 1
        write(encode_record(record))
        write("\n")
    return counts
