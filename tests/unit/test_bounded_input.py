"""No input can crash settling: every decode is bounded and raises only ValueError."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from settlement.batch import settle_file, settle_lines
from settlement.engine import Settler
from settlement.errors import INTERNAL_ERROR, internal_issue
from settlement.jsonio import (
    MAX_DEPTH,
    DocumentLimitError,
    OverlongLine,
    decode_claim,
    decode_claim_fast,
    encode_record,
    nesting_depth,
    numbered_lines,
)
from settlement.policy_loader import load_policy_dir
from settlement.state import MappingState

from .base_claim import BASE_CLAIM, GOLDEN_POLICIES, merge


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def claim_bytes(**override: Any) -> bytes:
    return json.dumps(merge(BASE_CLAIM, {"claim_id": "B1", **override})).encode()


HOSTILE = {
    "5000 deep": (nested(5000), "deeper than 64 levels"),
    "990 deep in a claim": (
        b'{"claim_id": "D1", "x": ' + nested(990) + b"}",
        "deeper than 64 levels",
    ),
    "unbalanced 5000 deep": (b"[" * 5000, "deeper than 64 levels"),
    "5000 deep objects": (b'{"a":' * 5000 + b"1" + b"}" * 5000, "deeper than 64 levels"),
    "huge integer": (b'{"n": ' + b"9" * 5000 + b"}", "a number of 5000 characters"),
    "long float": (b'{"n": 1.' + b"5" * 200 + b"}", "a number of 202 characters"),
    "invalid UTF-8": (b'{"a": "\xff"}', "not UTF-8: byte 0xff"),
    "NaN": (b'{"a": NaN}', "NaN is not valid JSON"),
    "empty": (b"", "Expecting value"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_both_decoders_refuse_hostile_documents_with_a_value_error(name: str) -> None:
    raw, words = HOSTILE[name]
    for decode in (decode_claim, decode_claim_fast):
        with pytest.raises(ValueError, match=words):
            decode(raw)


def test_depth_limit_is_exact_and_brackets_in_strings_do_not_count() -> None:
    assert decode_claim(nested(MAX_DEPTH)) == decode_claim_fast(nested(MAX_DEPTH))
    for decode in (decode_claim, decode_claim_fast):
        with pytest.raises(DocumentLimitError):
            decode(nested(MAX_DEPTH + 1))
    in_string = json.dumps({"note": "[" * 500, "esc": '\\"[[[', "items": [[1]]}).encode()
    assert nesting_depth(in_string) == 3
    assert decode_claim(in_string) == decode_claim_fast(in_string) == json.loads(in_string)


def test_a_float_before_the_deep_part_is_still_caught() -> None:
    raw = b'{"a": 1.5, "b": ' + nested(100) + b"}"
    for decode in (decode_claim, decode_claim_fast):
        with pytest.raises(DocumentLimitError, match="deeper than 64"):
            decode(raw)


def test_size_limit_is_configurable() -> None:
    raw = claim_bytes()
    with pytest.raises(DocumentLimitError, match=f"over the limit of {len(raw) - 1} bytes"):
        decode_claim_fast(raw, max_bytes=len(raw) - 1)
    assert decode_claim(raw, max_bytes=len(raw))["claim_id"] == "B1"


def test_lone_surrogates_decode_and_records_still_encode_as_utf8() -> None:
    raw = b'{"claim_id": "X", "claim_type": "\\ud800"}'
    assert decode_claim_fast(raw) == decode_claim(raw) == {"claim_id": "X", "claim_type": "\ud800"}
    book = load_policy_dir(GOLDEN_POLICIES)
    record = Settler(book).settle_json(raw, "line:1")
    assert record["status"] == "rejected"
    text = encode_record(record)
    assert json.loads(text.encode("utf-8")) == record  # escaped, still the same value


def lines_of(data: bytes, limit: int) -> list[tuple[int, bytes | OverlongLine]]:
    return list(numbered_lines(io.BytesIO(data), limit))


def test_overlong_lines_are_skipped_not_read() -> None:
    data = b"\xef\xbb\xbf12345\n" + b"x" * 25 + b"\n\n" + b" " * 30 + b"\n" + b"y" * 11 + b"\r\n"
    assert lines_of(data, 10) == [
        (1, b"12345\n"),
        (2, OverlongLine(25, 10)),
        (5, OverlongLine(12, 10)),  # "\r" counts, "\n" does not; a blank long line is no claim
    ]
    assert lines_of(b"0123456789\n0123456789", 10) == [(1, b"0123456789\n"), (2, b"0123456789")]
    assert lines_of(b"01234567890", 10) == [(1, OverlongLine(11, 10))]


def test_overlong_line_is_rejected_malformed_with_its_line_number() -> None:
    book = load_policy_dir(GOLDEN_POLICIES)
    data = claim_bytes(claim_id="A") + b"\n" + b'{"a": "' + b"z" * 600 + b'"}\n' + claim_bytes()
    records = list(settle_lines(Settler(book), io.BytesIO(data), max_line_bytes=500))
    assert [(r["claim_id"], r["status"]) for r in records] == [
        ("A", "settled"),
        ("line:2", "rejected"),
        ("B1", "settled"),
    ]
    (error,) = records[1]["errors"]
    assert error["code"] == "malformed"
    assert "the line is 609 bytes, over the limit of 500 bytes" in error["message"]


class BrokenState(MappingState):
    """A state with a bug: fails on one claim, as a fault of ours would."""

    def settled(self, claim_id: str) -> Any:
        if claim_id == "BOOM":
            raise RuntimeError("state broke on person 441802198001010012")
        return super().settled(claim_id)


def test_an_unexpected_exception_is_answered_internal_error_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    book = load_policy_dir(GOLDEN_POLICIES)
    data = b"\n".join([claim_bytes(claim_id="A"), claim_bytes(claim_id="BOOM"), claim_bytes()])
    out = io.StringIO()
    counts = settle_file(Settler(book, BrokenState()), io.BytesIO(data), out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["claim_id"], r["status"]) for r in records] == [
        ("A", "settled"),
        ("line:2", "rejected"),
        ("B1", "settled"),
    ]
    assert counts == {"settled": 2, "rejected": 1}
    (error,) = records[1]["errors"]
    assert error["code"] == INTERNAL_ERROR
    assert "RuntimeError: state broke on person <id>" in error["message"]
    assert "441802198001010012" not in out.getvalue()
    assert "Traceback" not in error["message"]
    assert "line:2" in caplog.text and "in settled" in caplog.text  # the stack is logged


def test_internal_issue_is_short() -> None:
    issue = internal_issue(ValueError("x" * 10_000))
    assert issue.code == INTERNAL_ERROR and len(issue.message) < 300


@pytest.mark.parametrize("literal", [b"1e999999", b"12", b"0.1", b"12.5e1"])
@pytest.mark.parametrize("field", ["claim_id", "person_id", "diagnosis"])
def test_a_number_never_passes_for_a_string_field(literal: bytes, field: str) -> None:
    # A JSON number's literal is kept as text (JsonNumber, a str subclass): "0.1" or
    # "1e999999" as a claim id would otherwise be accepted as the string.
    doc = json.loads(claim_bytes())
    assert Settler(load_policy_dir(GOLDEN_POLICIES)).settle_json(claim_bytes(), "x")["status"] == (
        "settled"
    )
    target = doc["patient"] if field == "person_id" else doc
    target[field] = "@@NUMBER@@"
    text = json.dumps(doc).encode().replace(b'"@@NUMBER@@"', literal)
    book = load_policy_dir(GOLDEN_POLICIES)
    record = Settler(book).settle_json(text, "line:1")
    assert record["status"] == "rejected"
    assert "malformed" in {e["code"] for e in record["errors"]}
