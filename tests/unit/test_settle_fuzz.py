"""Fuzz: no input line can crash ``yibao settle`` or cost a record.

Mutated and hostile claim documents (deep nesting, huge numbers, exponents,
wrong types, huge strings, invalid UTF-8, lone surrogates, blank lines, CR LF)
must give exactly one record per non-blank line, through the library and the
command line alike.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlement.batch import settle_file
from settlement.engine import Settler
from settlement.policy_loader import load_policy_dir

from .base_claim import BASE_CLAIM, GOLDEN_POLICIES, merge

BOOK = load_policy_dir(GOLDEN_POLICIES)
STATUSES = {"settled", "rejected", "duplicate"}

# Raw JSON texts to splice in where a value goes.
HOSTILE_VALUES = [
    "[" * 5000 + "]" * 5000,
    "[" * 990 + "]" * 990,
    "[" * 5000,
    '{"a":' * 100 + "1" + "}" * 100,
    "1e999999",
    "1E-1000000000",
    "-1e999999999",
    "12.3400000000000000000000000001e0",
    "0e-1000000000",
    "9" * 5000,
    "1." + "5" * 300,
    "true",
    "null",
    "[]",
    "{}",
    '"' + "x" * 100_000 + '"',
    '"\\ud800"',
    '"\\udfff\\ud800x"',
    '"\u4e2d\u6587"',
    "NaN",
    "-Infinity",
]
FIELDS = [
    "claim_id",
    "claim_type",
    "patient",
    "hospital",
    "items",
    "discharge_date",
    "diagnoses",
    "procedures",
    "discharge_way",
    "extra",
]


def claim_text(claim_id: str, **override: Any) -> str:
    return json.dumps(merge(BASE_CLAIM, {"claim_id": claim_id} | override), ensure_ascii=False)


def spliced(claim_id: str, path: list[str], raw_value: str) -> bytes:
    """A valid claim with the value at ``path`` replaced by raw JSON text."""
    marker = "__HOSTILE__"
    override: dict[str, Any] = {}
    node = override
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = marker
    text = json.dumps(merge(BASE_CLAIM, {"claim_id": claim_id} | override), ensure_ascii=False)
    return text.replace(f'"{marker}"', raw_value).encode()


# By index, so hypothesis never builds the repr of a 100 kB value.
_HOSTILE = st.sampled_from(range(len(HOSTILE_VALUES))).map(HOSTILE_VALUES.__getitem__)
_PATHS = st.sampled_from(
    [[f] for f in FIELDS]
    + [
        ["patient", "person_id"],
        ["patient", "category"],
        ["hospital", "level"],
        ["items"],
        ["ltc", "days"],
    ]
)
_AMOUNT = st.one_of(
    _HOSTILE,
    st.from_regex(r"-?[0-9]{1,12}(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,12})?", fullmatch=True),
)
_LINE = st.one_of(
    st.builds(spliced, st.just("F1"), _PATHS, _HOSTILE),
    st.builds(lambda amount: claim_text("F2").replace('"10000.00"', amount).encode(), _AMOUNT),
    st.builds(lambda n: claim_text(f"V{n}").encode(), st.integers(0, 5)),
    st.binary(max_size=40),
    st.sampled_from([b"", b"   ", b"\r", b"\xff\xfe{}", b'{"a": "\xed\xa0\x80"}', b"\x00"]),
    st.builds(
        lambda text, at, noise: text[:at] + noise + text[at:],
        st.just(claim_text("M1").encode()),
        st.integers(0, 300),
        st.binary(min_size=1, max_size=4),
    ),
)


def expected_records(data: bytes) -> int:
    return sum(1 for line in data.split(b"\n") if line.strip())


def settle_bytes(data: bytes) -> list[dict[str, Any]]:
    out = io.StringIO()
    counts = settle_file(Settler(BOOK), io.BytesIO(data), out)
    text = out.getvalue()
    text.encode("utf-8")  # writable as UTF-8: no lone surrogate got through
    records = [json.loads(line) for line in text.splitlines()]
    assert sum(counts.values()) == len(records)
    return records


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(_LINE, max_size=6), st.sampled_from([b"\n", b"\r\n"]))
def test_every_non_blank_line_gets_exactly_one_record(lines: list[bytes], ending: bytes) -> None:
    data = ending.join(lines)
    records = settle_bytes(data)
    assert len(records) == expected_records(data)
    for record in records:
        assert record["status"] in STATUSES
        assert all(e["code"] != "internal_error" for e in record["errors"]), record


def yibao(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "yibao.cli", *args], input=stdin, capture_output=True, timeout=120
    )


def test_cli_settles_a_fixed_hostile_set_one_record_per_line() -> None:
    lines = [spliced(f"H{n}", ["items"], value) for n, value in enumerate(HOSTILE_VALUES)]
    lines += [b"\xff\xfe", b"", b"\r", claim_text("OK1").encode(), b'{"a": "\\ud800"']
    data = b"\r\n".join(lines) + b"\n"
    done = yibao("settle", "--policies", str(GOLDEN_POLICIES), "-", stdin=data)
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert len(records) == expected_records(data)
    assert records == settle_bytes(data)


def test_cli_poison_lines_leave_valid_claims_settled_as_alone(tmp_path: Path) -> None:
    valid = [claim_text(f"OK{n}", items=[{"code": "X", "category": "B", "amount": 100 + n}])
             for n in range(3)]  # fmt: skip
    poison = [
        claim_text("P1").replace('"10000.00"', "1e999999"),
        '{"claim_id": "P2", "x": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"claim_id": "P3", "note": "' + "z" * (5 << 20) + '"}',
    ]
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join([valid[0], *poison[:2], valid[1], poison[2], valid[2]]) + "\n")
    alone = tmp_path / "alone.jsonl"
    alone.write_text("\n".join(valid) + "\n")
    results = {}
    for source in (mixed, alone):
        out = tmp_path / f"{source.stem}.out"
        done = yibao("settle", "--policies", str(GOLDEN_POLICIES), str(source), "-o", str(out))
        assert done.returncode == 0, done.stderr[-2000:]
        results[source.stem] = [json.loads(line) for line in out.read_text().splitlines()]
    got = results["mixed"]
    assert [(r["claim_id"], r["status"]) for r in got] == [
        ("OK0", "settled"),
        ("P1", "rejected"),
        ("line:3", "rejected"),
        ("OK1", "settled"),
        ("line:5", "rejected"),
        ("OK2", "settled"),
    ]
    assert [e["code"] for e in got[1]["errors"]] == ["invalid_amount"]
    assert "deeper than 64 levels" in got[2]["errors"][0]["message"]
    assert "over the limit of 1048576 bytes" in got[4]["errors"][0]["message"]
    assert [got[0], got[3], got[5]] == results["alone"]


def test_cli_max_line_bytes_option(tmp_path: Path) -> None:
    source = tmp_path / "claims.jsonl"
    line = claim_text("L1")
    source.write_text(line + "\n")
    args = ("settle", "--policies", str(GOLDEN_POLICIES), str(source))
    small = yibao(*args, "--max-claim-bytes", str(len(line) - 1))
    assert small.returncode == 0, small.stderr
    (record,) = [json.loads(x) for x in small.stdout.splitlines()]
    assert record["claim_id"] == "line:1" and record["errors"][0]["code"] == "malformed"
    exact = yibao(*args, "--max-claim-bytes", str(len(line)))
    assert json.loads(exact.stdout)["status"] == "settled"
