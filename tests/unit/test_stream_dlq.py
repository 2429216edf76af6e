"""Dead-letter export rows (exact bytes kept, duplicates dropped, printed lines masked) and
the pure parts of re-sending and marking them handled."""

from __future__ import annotations

import json

import pytest
from aiokafka.structs import ConsumerRecord

from streams.dlq import claim_values, dead_letter_row, summary_lines

PID = "44010319900307123X"


def record(offset: int, value: bytes, source_offset: int, reasons: list[dict]) -> ConsumerRecord:
    headers = [
        ("yibao.source.topic", b"claims.realtime"),
        ("yibao.source.partition", b"1"),
        ("yibao.source.offset", str(source_offset).encode()),
        ("yibao.claim_id", b"C1"),
        ("yibao.reasons", json.dumps(reasons).encode()),
    ]
    return ConsumerRecord(
        "claims.dlq",
        0,
        offset,
        1700000000000,
        0,
        PID.encode(),
        value,
        None,
        18,
        len(value),
        headers,
    )


def test_rows_keep_the_message_and_mask_the_rest() -> None:
    reasons = [{"code": "malformed", "message": f"claim_type '{PID}' is not inpatient"}]
    text = json.dumps({"claim_id": "C1", "claim_type": PID, "note": "多行\n文本"})
    rows = [
        dead_letter_row(record(0, text.encode(), 7, reasons)),
        dead_letter_row(record(1, text.encode(), 7, reasons)),  # written twice after a crash
        dead_letter_row(record(2, b"\xffnot json\r\n", 8, [])),
    ]
    assert rows[0]["value"] == text and "value_base64" not in rows[0]
    assert rows[0]["source"] == {"topic": "claims.realtime", "partition": 1, "offset": 7}
    assert rows[0]["dlq"] == {"partition": 0, "offset": 0, "timestamp": 1700000000000}
    assert PID not in json.dumps(rows[0]["reasons"]) and "440103********123X" in json.dumps(rows[0])
    assert claim_values(rows) == [text.replace("\n", " ").encode(), b"\xffnot json  "]
    printed = "\n".join(summary_lines(rows))
    assert PID not in printed
    assert printed.splitlines()[-1] == "3 dead letters; reasons: malformed 2"


def test_selecting_by_claim_id_and_place_names_what_matched_nothing() -> None:
    from streams.dlq_actions import parse_place, select

    reasons = [{"code": "malformed", "message": "x"}]
    rows = [dead_letter_row(record(i, b"{}", 7 + i, reasons)) for i in range(3)]
    rows[2]["claim_id"] = "C2"
    chosen = select(rows, ["C2", "C9"], [parse_place("0:1"), (1, 0)])
    assert [r["dlq"]["offset"] for r in chosen.rows] == [1, 2]
    assert chosen.unmatched == ["claim id C9", "dead letter 1:0"]
    for bad in ("1", "a:1", "1:-2", ":"):
        with pytest.raises(ValueError, match="PARTITION:OFFSET"):
            parse_place(bad)


def test_a_resent_message_is_the_original_bytes_once_per_source() -> None:
    from streams.dlq_actions import once_per_source, original_bytes

    rows = [
        dead_letter_row(record(0, b"\xffraw", 7, [])),
        dead_letter_row(record(1, b"\xffraw", 7, [])),  # written twice after a crash
        dead_letter_row(record(2, "多行\n文本".encode(), 8, [])),
    ]
    kept = once_per_source(rows)
    assert [original_bytes(r) for r in kept] == [b"\xffraw", "多行\n文本".encode()]


def test_the_handled_record_says_which_dead_letter_what_and_when() -> None:
    import datetime as dt

    from streams.dlq_actions import handled_record

    row = dead_letter_row(record(4, b"{}", 7, []))
    now = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC)
    assert json.loads(handled_record(row, "resent", "ticket 7", now)) == {
        "dlq": {"partition": 0, "offset": 4},
        "claim_id": "C1",
        "action": "resent",
        "note": "ticket 7",
        "at": "2026-12-05T10:00:00+00:00",
    }
