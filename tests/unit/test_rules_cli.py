"""``yibao rules check`` and ``yibao rules list``, run as a user would run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests import rulegen

from .base_claim import BASE_CLAIM, merge


def yibao(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "yibao.cli", *args], input=stdin, capture_output=True, timeout=60
    )


def test_check_answers_every_line_in_input_order_with_settlements_rejections(
    tmp_path: Path,
) -> None:
    labelled = [record for case in rulegen.cases() for record in case.claims]
    lines = [json.dumps(record, ensure_ascii=False) for record in labelled]
    bad_level = json.dumps(merge(BASE_CLAIM, {"claim_id": "BAD1", "hospital": {"level": 9}}))
    lines[3:3] = ["{broken", "", bad_level]
    source = tmp_path / "claims.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "hits.jsonl"

    done = yibao("rules", "check", str(source), "-o", str(out))
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(answers) == len(labelled) + 2  # the blank line gets no answer
    assert answers[3] == {
        "claim_id": "line:4",
        "status": "rejected",
        "errors": [{"code": "malformed", "message": answers[3]["errors"][0]["message"]}],
    }
    settled = yibao("settle", "-", stdin=(bad_level + "\n").encode())
    assert answers[4] == json.loads(settled.stdout)  # the settlement parser's own rejection
    checked = answers[:3] + answers[5:]
    assert [a["claim_id"] for a in checked] == [r["claim_id"] for r in labelled]
    for answer, record in zip(checked, labelled, strict=True):
        assert answer["status"] == "checked"
        assert sorted({h["rule_code"] for h in answer["hits"]}) == sorted(record["labels"])
        for hit in answer["hits"]:
            assert set(hit) == {
                "rule_code",
                "result",
                "item_index",
                "item_code",
                "evidence",
                "amount_at_stake",
            }
            assert record["items"][hit["item_index"]]["code"] == hit["item_code"]
    assert b"rejected" in done.stderr


def test_check_refuses_a_broken_catalogue_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "rules.csv").write_text("rule_code\n", encoding="utf-8")
    done = yibao("rules", "check", "-", "--rules", str(tmp_path), stdin=b"")
    assert done.returncode == 2
    assert b"broken rule catalogue: rules.csv: line 1: missing column(s) name" in done.stderr


def test_list_shows_rules_and_red_flag_codes() -> None:
    done = yibao("rules", "list")
    assert done.returncode == 0, done.stderr
    listed = [json.loads(line) for line in done.stdout.splitlines()]
    codes = [entry["rule_code"] for entry in listed]
    assert "YB-XB-001" in codes and "YB-RF-001" in codes
    assert len(codes) == len(set(codes))


def test_score_puts_the_audit_hits_beside_the_score(tmp_path: Path) -> None:
    from simulator.config import SimConfig
    from simulator.generate import simulate_lines

    source = tmp_path / "claims.jsonl"
    text = "".join(simulate_lines(SimConfig(seed=5, claims=1_500, rule_violation_rate=0.1)))
    source.write_text(text, encoding="utf-8")
    checked, scored = tmp_path / "hits.jsonl", tmp_path / "scores.jsonl"
    done = yibao("rules", "check", str(source), "-o", str(checked))
    assert done.returncode == 0, done.stderr
    done = yibao("score", "--data", str(source), "--rules-only", "-o", str(scored))
    assert done.returncode == 0, done.stderr
    hits = {}
    for line in checked.read_text(encoding="utf-8").splitlines():
        answer = json.loads(line)
        hits[answer["claim_id"]] = answer["hits"]
    records = [json.loads(line) for line in scored.read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(hits)
    certain = 0
    for rec in records:
        assert rec["audit_hits"] == hits[rec["claim_id"]]
        assert rec["flagged_by_rule"] == any(h["result"] == "certain" for h in rec["audit_hits"])
        certain += rec["flagged_by_rule"]
    assert certain > 0

    done = yibao("score", "--data", str(source), "--rules-only", "--no-audit", "-o", str(scored))
    assert done.returncode == 0, done.stderr
    assert "audit_hits" not in scored.read_text(encoding="utf-8")
