"""The bundled audit rules on a simulated year with injected violations and look-alikes.

One simulated year (8,000 claims, violations and look-alikes each at 8% of
honest claims) is checked with ``yibao rules check``'s batch function, in
submission order: every ``certain`` rule must find exactly the claims made to
break it (precision and recall 1.0, fraud-scheme claims apart) and none of the
honest look-alikes; the ``suspicious`` rules' precision is only reported
(``docs/rules.md`` gives the full-year numbers).
"""

from __future__ import annotations

import io
import json

import pytest

from detection.rule_batch import check_lines
from detection.rule_engine import RuleEngine
from detection.rule_metrics import RuleLabelReport, score_rules
from detection.rule_state import RuleState
from detection.rulebook_loader import load_rule_dir
from settlement.policy_loader import load_policy_dir
from simulator.config import SimConfig
from simulator.generate import simulate, simulate_lines
from simulator.items import CATALOGUE
from simulator.rule_violations import LOOKALIKES, VIOLATIONS

CONFIG = SimConfig(seed=11, claims=8_000, rule_violation_rate=0.08)


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return list(simulate_lines(CONFIG))


@pytest.fixture(scope="module")
def report(lines: list[str]) -> RuleLabelReport:
    book = load_rule_dir(None)
    stream = io.BytesIO("".join(lines).encode())
    answers = list(check_lines(RuleEngine(book), RuleState(), load_policy_dir(None), stream))
    assert all(a["status"] == "checked" for a in answers)
    claims = [json.loads(line) for line in lines]
    results = {code: rule.result for code, rule in book.rules.items()}
    return score_rules(claims, [a["hits"] for a in answers], results)


def test_injection_is_deterministic_and_leaves_other_claims_alone(lines: list[str]) -> None:
    assert list(simulate_lines(CONFIG)) == lines
    plain = list(simulate_lines(SimConfig(seed=11, claims=8_000)))
    assert len(plain) == len(lines)
    changed = 0
    for a, b in zip(plain, lines, strict=True):
        if a == b:
            continue
        changed += 1
        claim = json.loads(b)
        assert claim.get("rule_violations") or claim.get("rule_lookalike"), claim["claim_id"]
        before = json.loads(a)
        for key in ("claim_id", "patient", "hospital", "diagnosis", "is_fraud"):
            assert claim[key] == before[key]
    assert changed > 0


def test_every_certain_rule_finds_exactly_its_violations(report: RuleLabelReport) -> None:
    certain = [s for s in report.rules.values() if s.result == "certain"]
    assert {s.rule_code for s in certain} <= set(VIOLATIONS)
    for s in certain:
        assert s.labelled > 0, f"{s.rule_code}: no violation injected"
        assert s.precision == 1.0 and s.recall == 1.0, s.as_dict()


def test_no_certain_rule_fires_on_an_honest_lookalike(report: RuleLabelReport) -> None:
    for s in report.rules.values():
        if s.result == "certain":
            assert s.on_lookalikes == 0, s.as_dict()
    for code in LOOKALIKES:
        if code == "YB-ET-002":
            continue  # needs an in-patient under one year old: rare in 8,000 claims
        assert report.rules[code].lookalikes > 0, f"{code}: no look-alike drawn"


def test_suspicious_rules_find_their_violations(report: RuleLabelReport) -> None:
    for s in report.rules.values():
        if s.result == "suspicious" and s.labelled:
            assert s.recall == 1.0, s.as_dict()
            assert s.precision is not None and 0 < s.precision <= 1


def test_the_tables_key_items_the_simulator_bills() -> None:
    book = load_rule_dir(None)
    assert set(book.by_item) <= set(CATALOGUE)


def test_the_dict_and_text_paths_and_parallel_days_agree() -> None:
    config = SimConfig(seed=3, claims=3_000, rule_violation_rate=0.1)
    text = list(simulate_lines(config))
    dicts = [
        json.dumps(c, separators=(",", ":"), ensure_ascii=False) + "\n" for c in simulate(config)
    ]
    assert dicts == text
    assert list(simulate_lines(config, workers=2)) == text
    assert any('"rule_violations"' in line for line in text)
