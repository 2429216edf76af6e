"""Dead-letter export rows: exact bytes kept, duplicates dropped, printed lines masked."""

from __future__ import annotations

import json

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
