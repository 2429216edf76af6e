"""The ``yibao dip`` commands, run as a user (or the owner's tests) would run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from dip.loader import load_dip_dir

from .base_claim import BASE_CLAIM, GOLDEN_POLICIES, merge

HERE = Path(__file__).parent
POLICY = """\
region: "441800"
name: CLI test (illustrative)
versions:
  - effective_from: 2026-01-01
    los_exclude_at_most: 0
    los_exclude_at_least: 60
    low_ratio: 0.5
    high_ratio: 2.0
    review_ratio: 5.0
    hospital_coefficients: {1: 0.55, 2: 0.72, 3: 0.93}
    hospital_overrides: {QY-H02: 1.0}
    groups:
GROUPS
years:
  2026: {budget: 1000000.00, reserve_rate: 0.05, advance_rate: 0.90,
         share_rate: 0.50, share_band: 0.20}
"""
DEFAULT_GROUPS = """\
      - {code: "K35.8+47.01", kind: core, diagnosis: "K35.8", procedure: "47.01",
         score: 812.5, average_cost: {1: 6500.00, 2: 7800.00, 3: 9900.00}}
      - {code: "J18+none", kind: core, diagnosis: "J18", procedure: null,
         score: 420.0, average_cost: {1: 3300.00, 2: 4100.00, 3: 5200.00}}
      - {code: "K-operative", kind: comprehensive, chapter: "K", treatment: operative,
         score: 1105.0, average_cost: {1: 9000.00, 2: 11000.00, 3: 14000.00}}
"""


def yibao(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yibao.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def claim(claim_id: str, amount: str, **override: object) -> dict[str, object]:
    return merge(
        BASE_CLAIM,
        {
            "claim_id": claim_id,
            "items": [{"code": "X", "category": "A", "amount": amount}],
            **override,
        },
    )


def settled_files(
    tmp_path: Path, claims: list[object], blank_lines: bool = False
) -> tuple[Path, Path]:
    """Write the claims and settle them with ``yibao settle`` (golden policies)."""
    source = tmp_path / "claims.jsonl"
    text = "".join((c if isinstance(c, str) else json.dumps(c)) + "\n" for c in claims)
    if blank_lines:
        text = "\n" + text.replace("\n", "\n\n")
    source.write_text(text, encoding="utf-8")
    settlements = tmp_path / "settlements.jsonl"
    done = yibao("settle", "--policies", GOLDEN_POLICIES, source, "-o", settlements)
    assert done.returncode == 0, done.stderr
    return source, settlements


def dip_dir(tmp_path: Path, groups: str = DEFAULT_GROUPS) -> Path:
    folder = tmp_path / "dip"
    folder.mkdir()
    (folder / "441800.yaml").write_text(POLICY.replace("GROUPS\n", groups), encoding="utf-8")
    return folder


CLAIMS = [
    claim("A1", "15000.00", diagnosis="J18.9"),  # J18 at level 2 (4100): r > 2
    claim("A2", "9900.00", diagnosis="K35.8", procedures=["47.01"], hospital={"level": 3}),
    claim("A3", "100.00", diagnosis="K35.8", admission_date="2026-03-05"),  # los 0: excluded
    "{not json",  # rejected by settle: no case, no crash
    claim("A1", "15000.00", diagnosis="J18.9"),  # duplicate: no case
    claim("A4", "500.00", diagnosis="Z99.9"),  # no group
    claim("A5", "4100.00", diagnosis="J18.9", claim_type="outpatient", admission_date="2026-03-05"),
    claim("A6", "4100.00", diagnosis="J18.9", hospital={"region": "440100"}),  # no DIP file
    claim(
        "A7",
        "12000.00",
        diagnosis="K40.9",
        procedures=["53.00"],
        hospital={"hospital_id": "QY-H02"},
        discharge_date="2026-04-02",
    ),
]


def test_cases_one_record_per_dip_case_in_input_order(tmp_path: Path) -> None:
    source, settlements = settled_files(tmp_path, CLAIMS, blank_lines=True)
    out = tmp_path / "cases.jsonl"
    done = yibao("dip", "cases", "--dip", dip_dir(tmp_path), source, settlements, "-o", out)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["claim_id"], r["status"]) for r in records] == [
        ("A1", "grouped"),
        ("A2", "grouped"),
        ("A3", "excluded"),
        ("A4", "unassigned"),
        ("A7", "grouped"),
    ]
    assert records[0] == {
        "claim_id": "A1",
        "hospital_id": "QY-H01",
        "region": "441800",
        "level": 2,
        "discharge_date": "2026-03-05",
        "status": "grouped",
        "group": "J18+none",
        "kind": "core",
        "score": "420.0000",
        "cost_ratio": "3.6585",
        "deviation": "high",
        "multiplier": "2.6585",
        "special_review": False,
        "hospital_coefficient": "0.7200",
        "points": "803.9415",  # 420 x (15000/4100 - 1) x 0.72
        "total": "15000.00",
        "fund_pay": records[0]["fund_pay"],
    }
    assert records[2] == {
        "claim_id": "A3",
        "hospital_id": "QY-H01",
        "region": "441800",
        "level": 2,
        "discharge_date": "2026-03-05",
        "status": "excluded",
        "reason": "los",
    }
    assert records[3]["reason"] == "no_group"
    assert (records[4]["group"], records[4]["hospital_coefficient"]) == ("K-operative", "1.0000")
    assert "skipped 1 settled in-patient claims of areas without a DIP policy file: 440100 (1)" in (
        done.stderr
    )


def test_year_hospitals_then_the_area_summary(tmp_path: Path) -> None:
    source, settlements = settled_files(tmp_path, CLAIMS)
    done = yibao("dip", "year", "--year", "2026", "--dip", dip_dir(tmp_path), source, settlements)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["record"], r.get("hospital_id")) for r in records] == [
        ("hospital", "QY-H01"),
        ("hospital", "QY-H02"),
        ("region", None),
    ]
    first, second, summary = records
    assert first["level"] == 2 and first["cases"] == 2  # level of its first grouped case
    assert summary["budget"] == "1000000.00" and summary["reserve"] == "50000.00"
    assert (summary["excluded"], summary["unassigned"], summary["cases"]) == (1, 1, 3)
    fen = [round(float(r["annual"]) * 100) for r in (first, second)]
    left = round(float(summary["reserve_left"]) * 100)
    assert sum(fen) == 100_000_000 - left
    for r in (first, second):
        assert round(float(r["balance"]) * 100) == round(float(r["annual"]) * 100) - round(
            float(r["advances"]) * 100
        )


def test_month_records(tmp_path: Path) -> None:
    source, settlements = settled_files(tmp_path, CLAIMS)
    out = tmp_path / "month.jsonl"
    done = yibao(
        "dip",
        "month",
        "--period",
        "2026-04",
        "--dip",
        dip_dir(tmp_path),
        source,
        settlements,
        "-o",
        "-",
    )
    assert done.returncode == 0, done.stderr
    assert not out.exists()
    (record,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert record["period"] == "2026-04" and record["hospital_id"] == "QY-H02"
    assert set(record) == {
        "region",
        "period",
        "hospital_id",
        "cases",
        "points",
        "item_fund",
        "advance",
    }
    bad = yibao("dip", "month", "--period", "2026-13", source, settlements)
    assert bad.returncode == 2 and "--period must be YYYY-MM" in bad.stderr


def test_build_writes_groups_a_policy_takes(tmp_path: Path) -> None:
    history = [
        claim(
            f"H{n}",
            f"{1000 + 10 * n}.00",
            diagnosis="J18.9",
            admission_date="2025-03-01",
            discharge_date="2025-03-05",
            submitted_at="2025-03-06T09:00:00+08:00",
        )
        for n in range(15)
    ] + [
        claim(
            f"K{n}",
            "9000.00",
            diagnosis="K35.8",
            procedures=["47.01"],
            admission_date="2024-03-01",
            discharge_date="2024-03-05",
            submitted_at="2024-03-06T09:00:00+08:00",
        )
        for n in range(3)
    ]
    source, settlements = settled_files(tmp_path, history)
    done = yibao("dip", "build", "--region", "441800", "--year", "2026", source, settlements)
    assert done.returncode == 0, done.stderr
    groups = yaml.safe_load(done.stdout)
    assert [g["code"] for g in groups] == ["J18.9+none", "K-operative"]
    assert groups[0]["average_cost"] == {1: 1070.0, 2: 1070.0, 3: 1070.0}
    loaded = load_dip_dir(
        dip_dir(tmp_path, "".join("      " + line + "\n" for line in done.stdout.splitlines()))
    )
    assert [g.code for g in loaded.regions["441800"].versions[0].groups] == [
        "J18.9+none",
        "K-operative",
    ]


def test_files_that_do_not_answer_each_other_stop_with_exit_3(tmp_path: Path) -> None:
    source, settlements = settled_files(tmp_path, CLAIMS)
    folder = dip_dir(tmp_path)
    short = tmp_path / "short.jsonl"
    short.write_text("".join(settlements.read_text().splitlines(keepends=True)[:-1]))
    done = yibao("dip", "cases", "--dip", folder, source, short)
    assert done.returncode == 3
    assert "fewer records than CLAIMS has claims" in done.stderr
    swapped = tmp_path / "swapped.jsonl"
    lines = settlements.read_text().splitlines(keepends=True)
    lines[0], lines[1] = lines[1], lines[0]
    swapped.write_text("".join(lines))
    done = yibao("dip", "year", "--year", "2026", "--dip", folder, source, swapped)
    assert done.returncode == 3
    assert "the two files do not answer each other" in done.stderr


def test_a_broken_dip_policy_stops_with_file_and_field(tmp_path: Path) -> None:
    source, settlements = settled_files(tmp_path, CLAIMS[:1])
    broken = HERE / "broken_dip" / "score_zero"
    done = yibao("dip", "cases", "--dip", broken, source, settlements)
    assert done.returncode == 2
    assert f"{broken / '441800.yaml'}: versions[0].groups[1].score" in done.stderr
