"""The dead letters of ``claims.dlq`` as JSON Lines rows, for ``yibao dlq export``.

A row holds why the worker refused a message, where it was read, its claim id
and the original message text. Identity numbers are masked everywhere except
in that text: it is the operator's working copy of the claim, re-sent after fixing.
"""

from __future__ import annotations

import base64
import json
import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

from settlement.idnumber import mask_identity_numbers
from streams.replay import read_topic
from streams.topics import CLAIMS_DLQ

log = logging.getLogger(__name__)


def dead_letter_row(record: Any) -> dict[str, Any]:
    """One export row from an aiokafka ``ConsumerRecord`` of ``claims.dlq``.

    The headers are the ones the worker writes (``streams.agents._dlq_headers``).
    ``value`` is the original message as text; ``value_base64`` is added, with
    the exact bytes, only when they are not UTF-8.
    """
    headers = {
        k: mask_identity_numbers(v.decode("utf-8", "replace")) for k, v in record.headers or ()
    }
    try:
        reasons = json.loads(headers.get("yibao.reasons", "[]"))
    except ValueError:
        reasons = [{"code": "unknown", "message": headers["yibao.reasons"]}]
    raw = record.value or b""
    row: dict[str, Any] = {
        "claim_id": headers.get("yibao.claim_id"),
        "reasons": reasons,
        "source": {
            "topic": headers.get("yibao.source.topic"),
            "partition": _int(headers.get("yibao.source.partition")),
            "offset": _int(headers.get("yibao.source.offset")),
        },
        "dlq": {
            "partition": record.partition,
            "offset": record.offset,
            "timestamp": record.timestamp,
        },
        "value": raw.decode("utf-8", "replace"),
    }
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        row["value_base64"] = base64.b64encode(raw).decode("ascii")
    return row


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.lstrip("-").isdigit() else None


def read_dead_letters(
    bootstrap: str, *, idle: float = 2.0, connect_timeout_s: float = 10.0
) -> list[dict[str, Any]]:
    """Every dead letter on the topic, as rows in (partition, offset) order.

    Reads every partition from the start without a consumer group (nothing is
    committed) and stops after ``idle`` seconds without news.

    Raises:
        LookupError: the topic does not exist on the broker.
    """
    records = read_topic(
        bootstrap, CLAIMS_DLQ, idle=idle, timeout=3600, connect_timeout_s=connect_timeout_s
    )
    rows = [dead_letter_row(r) for r in records]
    rows.sort(key=lambda r: (r["dlq"]["partition"], r["dlq"]["offset"]))
    log.info("read %d dead letters from %s", len(rows), CLAIMS_DLQ)
    return rows


def claim_values(rows: Iterable[dict[str, Any]]) -> list[bytes]:
    """The original messages alone, one line each, once per source message.

    A worker crash can write the same dead letter twice: rows with the same
    source coordinates give one line. Line breaks inside a message become spaces.
    """
    seen: set[tuple[Any, ...]] = set()
    lines = []
    for row in rows:
        source = row["source"]
        ident = (source["topic"], source["partition"], source["offset"])
        if None not in ident and ident in seen:
            continue
        seen.add(ident)
        raw = (
            base64.b64decode(row["value_base64"])
            if "value_base64" in row
            else row["value"].encode()
        )
        lines.append(raw.replace(b"\r", b" ").replace(b"\n", b" "))
    return lines


def summary_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Human-readable lines about the rows, identity numbers masked: one per row, then counts."""
    out = []
    for row in rows:
        source = row["source"]
        reasons = "; ".join(f"{r.get('code')}: {r.get('message')}" for r in row["reasons"])
        out.append(
            mask_identity_numbers(
                f"{row['claim_id']} from {source['topic']}[{source['partition']}]@"
                f"{source['offset']}: {reasons}"
            )
        )
    codes = Counter(r.get("code") for row in rows for r in row["reasons"])
    out.append(
        f"{len(rows)} dead letters; reasons: "
        + (", ".join(f"{code} {n}" for code, n in sorted(codes.items())) or "none")
    )
    return out
