"""Checking a JSON Lines file of claims against the rule catalogue, one answer per claim.

Claims are read and validated exactly as settlement reads them
(:mod:`settlement.jsonio`, :func:`settlement.claim.parse_claim`), so a claim
settlement rejects is answered here with the same rejection; a valid one gets
``{"claim_id", "status": "checked", "hits": [...]}``. Claims are folded into
the rule state in input order, so the answers equal the stream's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, BinaryIO

from detection.rule_engine import RuleEngine
from detection.rule_state import RuleState
from settlement.batch import internal_error_record
from settlement.claim import parse_claim
from settlement.claim_fast import fast_claim
from settlement.engine import rejected_record
from settlement.errors import MALFORMED, ClaimIssue, internal_issue
from settlement.jsonio import MAX_DOCUMENT_BYTES, decode_claim, malformed_message, numbered_lines
from settlement.policy import PolicyBook

_LOG = logging.getLogger(__name__)

CHECKED = "checked"


def check_json(
    engine: RuleEngine,
    state: RuleState,
    book: PolicyBook,
    raw: bytes,
    fallback_id: str,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> dict[str, Any]:
    """The answer for one claim line: its hits, or settlement's rejection.

    The usual valid claim takes settlement's typed fast path, as ``yibao settle``
    does; every other line the exact decoder and ``parse_claim`` (same answers).
    """
    claim = fast_claim(raw, book) if len(raw) <= max_bytes else None
    if claim is None:
        try:
            obj = decode_claim(raw, max_bytes)
        except ValueError as exc:
            return rejected_record(fallback_id, [ClaimIssue(MALFORMED, malformed_message(exc))])
        check = parse_claim(obj, book)
        if check.claim is None:
            return rejected_record(check.claim_id or fallback_id, check.issues)
        claim = check.claim
    hits = engine.check(claim, state)
    return {
        "claim_id": claim.claim_id,
        "status": CHECKED,
        "hits": [h.as_dict() for h in hits],
    }


def check_lines(
    engine: RuleEngine,
    state: RuleState,
    book: PolicyBook,
    stream: BinaryIO,
    max_line_bytes: int = MAX_DOCUMENT_BYTES,
) -> Iterator[dict[str, Any]]:
    """Yield the answer of every claim line of ``stream``, in input order.

    Args:
        engine: the loaded rules.
        state: the per-person windows, updated as claims are read.
        book: the policies, which validation needs (a claim without a policy
            in force is rejected ``no_policy``, as settlement rejects it).
        stream: JSON Lines, binary.
        max_line_bytes: the longest line read; a longer one is ``malformed``.
    """
    with_newline = max_line_bytes + 1  # numbered_lines bounded the line; its "\n" is extra
    for number, line in numbered_lines(stream, max_line_bytes):
        fallback_id = f"line:{number}"
        try:
            if isinstance(line, bytes):
                yield check_json(engine, state, book, line, fallback_id, with_newline)
            else:
                yield rejected_record(fallback_id, [ClaimIssue(MALFORMED, line.message())])
        except Exception as exc:  # a bug of ours: answered, logged, and the run goes on
            yield internal_error_record(fallback_id, exc, _LOG)


def hits_by_claim(
    engine: RuleEngine,
    state: RuleState,
    book: PolicyBook,
    stream: BinaryIO,
) -> dict[str, list[dict[str, Any]]]:
    """Every valid claim's hits, by claim id, folding each claim id once (its first line).

    What ``yibao score`` puts beside the score: settlement answers a repeated
    claim id as a duplicate and the stream checks only settled claims, so a
    repeat is neither checked nor folded again. Rejected lines are left out.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for number, line in numbered_lines(stream, MAX_DOCUMENT_BYTES):
        if not isinstance(line, bytes):
            continue
        claim = fast_claim(line, book)
        if claim is None:
            try:
                obj = decode_claim(line, MAX_DOCUMENT_BYTES + 1)
            except ValueError:
                continue
            claim = parse_claim(obj, book).claim
        if claim is None or claim.claim_id in out:
            continue
        try:
            out[claim.claim_id] = [h.as_dict() for h in engine.check(claim, state)]
        except Exception as exc:  # a bug of ours: logged, the claim gets no hits
            _LOG.error("line %d: rules failed: %s", number, internal_issue(exc).message)
            out[claim.claim_id] = []
    return out


def certain_hit(hits: list[dict[str, Any]]) -> bool:
    """Whether any hit is of a ``certain`` rule (flagged whatever a model says)."""
    return any(h["result"] == "certain" for h in hits)
