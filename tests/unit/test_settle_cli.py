"""The ``yibao settle`` and ``yibao clearing`` commands, run as a user would run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .base_claim import BASE_CLAIM, GOLDEN_POLICIES, merge

BROKEN = Path(__file__).parent / "broken_policies"


def yibao(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "yibao.cli", *args], input=stdin, capture_output=True, timeout=60
    )


def claim_line(**override: object) -> str:
    return json.dumps(merge(BASE_CLAIM, override))


def test_settle_file_to_file_one_record_per_line(tmp_path: Path) -> None:
    source = tmp_path / "claims.jsonl"
    source.write_text(
        "\n".join(
            [
                claim_line(claim_id="A1"),
                "",
                "{broken",
                claim_line(claim_id="A1"),
                claim_line(claim_id="A2", hospital={"level": 9}),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    done = yibao("settle", "--policies", str(GOLDEN_POLICIES), str(source), "-o", str(out))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["claim_id"], r["status"]) for r in records] == [
        ("A1", "settled"),
        ("line:3", "rejected"),
        ("A1", "duplicate"),
        ("A2", "rejected"),
    ]
    assert records[0]["fund_pay"] == "8010.68"
    # spec section 6: the three section-8 amounts after over_cap, patient_pay after
    # all layers, errors last; a duplicate repeats the record field for field
    assert list(records[0])[-6:] == [
        "over_cap", "over_price", "ci_pay", "ma_pay", "patient_pay", "errors"
    ]  # fmt: skip
    assert (records[0]["over_price"], records[0]["ci_pay"], records[0]["ma_pay"]) == (
        "0.00",
        "0.00",
        "0.00",
    )
    assert {**records[2], "status": "settled"} == records[0]
    assert b"1 settled, 2 rejected, 1 duplicate" in done.stderr


def test_settle_reads_stdin_and_writes_stdout_with_bundled_policies() -> None:
    done = yibao("settle", "-", stdin=(claim_line(claim_id="S1") + "\n").encode())
    assert done.returncode == 0, done.stderr
    (record,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert record["status"] == "settled"
    assert record["policy_version"] == "441800@2026-01-01"  # the bundled Qingyuan file


def test_broken_policy_exits_2_naming_file_and_field(tmp_path: Path) -> None:
    source = tmp_path / "claims.jsonl"
    source.write_text(claim_line() + "\n", encoding="utf-8")
    done = yibao("settle", "--policies", str(BROKEN / "ratio_over_one"), str(source))
    assert done.returncode == 2
    message = done.stderr.decode()
    assert "440100.yaml" in message and "schemes.employee.inpatient.ratio" in message
    assert done.stdout == b""


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    done = yibao("settle", str(tmp_path / "missing.jsonl"))
    assert done.returncode == 2
    assert b"cannot read input file" in done.stderr


def test_invalid_utf8_line_is_rejected_and_the_run_goes_on(tmp_path: Path) -> None:
    source = tmp_path / "claims.jsonl"
    source.write_bytes(b"\xff\xfe{}\n" + claim_line(claim_id="U1").encode() + b"\n")
    done = yibao("settle", "--policies", str(GOLDEN_POLICIES), str(source))
    assert done.returncode == 0
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["claim_id"], r["status"]) for r in records] == [
        ("line:1", "rejected"),
        ("U1", "settled"),
    ]


def test_clearing_from_settlement_records(tmp_path: Path) -> None:
    source = tmp_path / "claims.jsonl"
    gz_patient = {"person_id": "440103199003030035", "insured_region": "440100"}
    source.write_text(
        claim_line(
            claim_id="Q1", hospital={"region": "440100"}, patient={"intercity_registered": True}
        )
        + "\n"
        + claim_line(claim_id="G1", patient={**gz_patient, "intercity_registered": True})
        + "\n",
        encoding="utf-8",
    )
    settled = tmp_path / "settled.jsonl"
    assert (
        yibao(
            "settle", "--policies", str(GOLDEN_POLICIES), str(source), "-o", str(settled)
        ).returncode
        == 0
    )
    done = yibao("clearing", "--period", "2026-03", str(settled))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert rows == [
        {
            "period": "2026-03",
            "debtor": "440100",
            "creditor": "441800",
            "amount": "359.32",
            "claims": 2,
        }
    ]
    assert yibao("clearing", "--period", "March", str(settled)).returncode == 2
