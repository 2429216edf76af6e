"""Settling a JSON Lines stream: one record per non-blank input line, in order.

The input is read line by line in binary, in bounded chunks, and never loaded
whole; one bad line (not JSON, over a limit, or one that trips a bug of ours)
is answered ``rejected`` and the run goes on.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from collections.abc import Iterator
from typing import Any, BinaryIO, TextIO

from settlement.engine import Settler, rejected_record
from settlement.errors import MALFORMED, ClaimIssue, internal_issue
from settlement.jsonio import MAX_DOCUMENT_BYTES, encode_record_bytes, numbered_lines

_LOG = logging.getLogger(__name__)


def settle_lines(
    settler: Settler, stream: BinaryIO, max_line_bytes: int = MAX_DOCUMENT_BYTES
) -> Iterator[dict[str, Any]]:
    """Yield the settlement record of every claim line of ``stream``, in input order.

    Args:
        settler: the engine and its memory.
        stream: JSON Lines, binary.
        max_line_bytes: the longest line read (without its newline); a longer
            one is answered ``malformed`` without being read into memory.
    """
    settle_json = settler.settle_json
    with_newline = max_line_bytes + 1  # numbered_lines bounded the line; its "\n" is extra
    for number, line in numbered_lines(stream, max_line_bytes):
        fallback_id = f"line:{number}"
        # Any exception here is a bug of ours: the line is answered
        # internal_error and the run goes on (spec section 5: no claim dropped).
        try:
            if isinstance(line, bytes):
                record = settle_json(line, fallback_id, with_newline)
            else:
                record = rejected_record(fallback_id, [ClaimIssue(MALFORMED, line.message())])
        except Exception as exc:
            record = internal_error_record(fallback_id, exc)
        yield record


def internal_error_record(
    fallback_id: str, exc: Exception, log: logging.Logger = _LOG
) -> dict[str, Any]:
    """The ``internal_error`` answer to a line whose handling raised (a bug of ours).

    The stack goes to ``log``, not to the record; the message is masked the same way.
    """
    issue = internal_issue(exc)
    log.error(
        "%s: %s\n%s",
        fallback_id,
        issue.message,
        "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
    )
    return rejected_record(fallback_id, [issue])


def settle_file(
    settler: Settler,
    stream: BinaryIO,
    out: TextIO,
    max_line_bytes: int = MAX_DOCUMENT_BYTES,
) -> Counter[str]:
    """Settle every line of ``stream`` into ``out`` as JSON Lines; return counts by status."""
    counts: Counter[str] = Counter()
    write = out.write
    for record in settle_lines(settler, stream, max_line_bytes):
        counts[record["status"]] += 1
        # orjson's bytes equal encode_record's text (settlement.jsonio), at a fifth of the cost
        write(encode_record_bytes(record).decode())
        write("\n")
    return counts
