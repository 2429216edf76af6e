"""Pure parts of the review app: indicators, charts, security helpers, pseudonyms."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from review import indicators as ind
from review.charts import bar_chart, line_chart
from review.db import person_key
from review.ingest import claim_row
from review.security import (
    SessionCodec,
    csrf_matches,
    hash_password,
    verify_password,
)
from review.templating import ratio, yuan

# an 18-character identity number; national material codes (C + 19 digits) are not one
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")


def test_effective_rates_sum_fen_and_weight_the_policy_ratio():
    rows = [
        {"scheme": "employee", "total_fen": 10000, "fund_pay_fen": 8522, "ratio": 8522},
        {"scheme": "employee", "total_fen": 30000, "fund_pay_fen": 21000, "ratio": 7000},
        {"scheme": "resident", "total_fen": 0, "fund_pay_fen": 0, "ratio": 6095},
    ]
    out = {r["scheme"]: r for r in ind.effective_rates(rows, "scheme")}
    assert out["employee"]["total"] == "400.00" and out["employee"]["fund_pay"] == "295.22"
    assert out["employee"]["effective_rate"] == "0.7381"  # 29522 / 40000 = 0.73805 -> half up
    assert out["employee"]["policy_ratio"] == "0.7381"  # (8522 + 3 * 7000) / 4
    assert out["resident"]["effective_rate"] == "" and out["resident"]["claims"] == 1
    summed = [
        {
            "scheme": "employee",
            "claims": 2,
            "total_fen": 40000,
            "fund_pay_fen": 29522,
            "weighted": 10000 * 8522 + 30000 * 7000.0,
        },
    ]
    assert ind.effective_rates(summed, "scheme")[0] == out["employee"]


def test_settlement_delays_median_and_p90_per_month():
    t0 = datetime(2026, 3, 1)
    rows = [("2026-03", t0, t0 + timedelta(hours=h)) for h in range(1, 11)]
    rows.append(("2026-04", t0, None))
    assert ind.settlement_delays(rows) == [
        {"month": "2026-03", "claims": 10, "median_hours": "5.0", "p90_hours": "9.0"}
    ]


def test_flag_rates_and_csv():
    rows = ind.flag_rates([("2026-02", 200, 20, 10, 4), ("2026-01", 100, 0, 0, 0)])
    assert [r["month"] for r in rows] == ["2026-01", "2026-02"]
    assert rows[1]["flag_rate"] == "0.1000" and rows[1]["confirmation_rate"] == "0.4000"
    assert rows[0]["confirmation_rate"] == ""
    text = ind.to_csv(rows)
    assert (
        text.splitlines()[0] == "month,claims,flagged,flag_rate,decided,confirmed,confirmation_rate"
    )
    assert ind.to_csv([]) == ""


def test_fund_by_region_month_formats_fen():
    out = ind.fund_by_region_month([("441800", "2026-02", 3, 123456), ("440100", "2026-01", 1, 5)])
    assert out[0] == {"region": "440100", "month": "2026-01", "claims": 1, "fund_pay": "0.05"}
    assert out[1]["fund_pay"] == "1234.56"


def test_charts_escape_labels_and_mark_the_highlight():
    svg = bar_chart(["<b>", "H2"], [1.0, 3.0], "cost & stay", highlight=0)
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "cost &amp; stay" in svg
    assert svg.count('class="bar hi"') == 1
    lines = line_chart(["2026-01", "2026-02"], {"a": [0.1, None], "b": [0.2, 0.3]}, "t")
    assert lines.count("<polyline") == 2 and lines.startswith("<svg")
    assert "<svg" in bar_chart([], [], "empty")


def test_money_filters():
    assert yuan(123456) == "1234.56" and yuan(5) == "0.05" and yuan(-150) == "-1.50"
    assert ratio(8522) == "0.8522" and ratio(10000) == "1.0000"


def test_passwords_and_csrf():
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse") and not verify_password(hashed, "wrong")
    assert not verify_password("not a hash", "x")
    assert csrf_matches("abc", "abc") and not csrf_matches("abc", "abd")
    assert not csrf_matches(None, None) and not csrf_matches("", "")


def test_session_cookie_is_signed():
    codec = SessionCodec("k" * 32)
    cookie = codec.dumps({"uid": 3, "csrf": "t"})
    assert codec.loads(cookie) == {"uid": 3, "csrf": "t"}
    assert codec.loads(cookie[:-2] + "xx") == {}
    assert SessionCodec("other" * 8).loads(cookie) == {}
    assert codec.loads(None) == {}


def test_person_key_is_stable_salted_and_never_an_identity_number():
    pid = "44010319900101123X"
    assert person_key(b"salt", pid) == person_key(b"salt", pid)
    assert person_key(b"salt", pid) != person_key(b"pepper", pid)
    keys = [person_key(i.to_bytes(2, "big"), f"4401031990010{i:04d}1") for i in range(2000)]
    assert not any(ID_NUMBER.search(k) for k in keys)


def test_claim_row_masks_the_identity_number():
    claim = {
        "claim_id": "C1",
        "claim_type": "inpatient",
        "submitted_at": "2026-03-05T10:15:00+08:00",
        "patient": {
            "person_id": "44010319900101123X",
            "scheme": "employee",
            "insured_region": "440100",
        },
        "hospital": {"hospital_id": "H1", "region": "440100", "level": 2},
        "admission_date": "2026-03-01",
        "discharge_date": "2026-03-04",
        "diagnosis": "J18.9",
        "items": [
            {"code": "a", "category": "A", "amount": "12.50"},
            {"code": "b", "category": "C", "amount": 3},
        ],
    }
    row = claim_row(claim, b"salt")
    assert row["person_masked"] == "440103********123X"
    assert not any(ID_NUMBER.search(str(v)) for v in row.values())
    assert row["total_fen"] == 1550 and row["stay_days"] == 3
    assert row["submitted_at"] == datetime(2026, 3, 5, 2, 15)


def test_log_filter_masks_messages_and_arguments():
    import logging

    from review.security import MaskIdentityNumbers

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s"',
        ("127.0.0.1", "GET", "/queue?hospital=44010319900101123X"),
        None,
    )
    assert MaskIdentityNumbers().filter(record)
    assert record.getMessage() == '127.0.0.1 - "GET /queue?hospital=440103********123X"'
    assert isinstance(record.args, tuple) and len(record.args) == 3


def test_rows_are_written_in_full_batches_then_the_rest():
    from review.ingest import BATCH, _write_batches

    sizes: list[int] = []
    rows = ({"claim_id": str(n)} for n in range(2 * BATCH + 5))
    assert _write_batches(rows, lambda batch: sizes.append(len(batch))) == 2 * BATCH + 5
    assert sizes == [BATCH, BATCH, 5]
    assert _write_batches([], lambda batch: sizes.append(len(batch))) == 0
    assert sizes == [BATCH, BATCH, 5]  # nothing to write, no call
