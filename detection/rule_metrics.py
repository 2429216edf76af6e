"""Each rule's precision and recall against the simulator's rule labels.

A simulated claim may carry ``rule_violations`` (the rule codes it was made to
break) and ``rule_lookalike`` (the rule it was made to come close to without
breaking it); see ``simulator/rule_violations.py``. A hit of rule R on a claim
is a true positive when R is among its ``rule_violations``. A hit on a claim a
fraud scheme made (``is_fraud``) is neither: the schemes are not labelled by
rule, and a rule that catches one (a duplicate bill billing a consultation
three times in a day) is right to; such hits are counted apart, as
``on_fraud``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RuleScore:
    """One rule's counts over a run of labelled claims."""

    rule_code: str
    result: str = ""
    labelled: int = 0  # claims labelled with the rule
    hit: int = 0  # claims the rule hits, fraud-scheme claims excepted
    true_hits: int = 0  # of those, labelled with the rule
    on_fraud: int = 0  # fraud-scheme claims the rule hits
    on_lookalikes: int = 0  # honest look-alikes (of any rule) the rule hits
    lookalikes: int = 0  # claims that are look-alikes of this rule

    @property
    def precision(self) -> float | None:
        return self.true_hits / self.hit if self.hit else None

    @property
    def recall(self) -> float | None:
        return self.true_hits / self.labelled if self.labelled else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_code": self.rule_code,
            "result": self.result,
            "labelled": self.labelled,
            "hit": self.hit,
            "true_hits": self.true_hits,
            "precision": self.precision,
            "recall": self.recall,
            "on_fraud": self.on_fraud,
            "lookalikes": self.lookalikes,
            "on_lookalikes": self.on_lookalikes,
        }


@dataclass
class RuleLabelReport:
    """Every rule's scores, by rule code in catalogue order."""

    rules: dict[str, RuleScore] = field(default_factory=dict)
    claims: int = 0
    labelled_claims: int = 0
    lookalike_claims: int = 0

    def score(self, code: str) -> RuleScore:
        s = self.rules.get(code)
        if s is None:
            s = self.rules[code] = RuleScore(code)
        return s


def score_rules(
    claims: Iterable[Mapping[str, Any]],
    hits: Iterable[Iterable[Mapping[str, Any]]],
    results: Mapping[str, str],
) -> RuleLabelReport:
    """Score rule hits against the claims' labels.

    Args:
        claims: the claims as read (dicts with the simulator's labels).
        hits: for each claim, in the same order, its hits (``rule_code`` at least).
        results: every rule's ``result`` (``certain`` / ``suspicious``), in
            catalogue order; each gets a row even if it never fires.
    """
    report = RuleLabelReport()
    for code, result in results.items():
        report.score(code).result = result
    for claim, claim_hits in zip(claims, hits, strict=True):
        report.claims += 1
        labels = set(claim.get("rule_violations") or ())
        lookalike = claim.get("rule_lookalike")
        fraud = claim.get("is_fraud") is True
        if labels:
            report.labelled_claims += 1
        if lookalike is not None:
            report.lookalike_claims += 1
            report.score(lookalike).lookalikes += 1
        for code in labels:
            report.score(code).labelled += 1
        for code in {h["rule_code"] for h in claim_hits}:
            s = report.score(code)
            if fraud:
                s.on_fraud += 1
                continue
            s.hit += 1
            if code in labels:
                s.true_hits += 1
            if lookalike is not None:
                s.on_lookalikes += 1
    return report
