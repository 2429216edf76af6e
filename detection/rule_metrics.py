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


def claim_amount_at_stake_fen(hits: Iterable[Mapping[str, Any]]) -> int:
    """A claim's amount at stake in fen without double counting: per item line, the
    largest of its hits' amounts (two rules hit by one line share its money)."""
    by_line: dict[int, int] = {}
    for h in hits:
        yuan, _, jiao_fen = str(h["amount_at_stake"]).partition(".")
        fen = int(yuan) * 100 + int((jiao_fen + "00")[:2])
        line = int(h.get("item_index", -1))
        by_line[line] = max(by_line.get(line, 0), fen)
    return sum(by_line.values())


def _certain(hits: Iterable[Mapping[str, Any]]) -> bool:
    return any(h["result"] == "certain" for h in hits)


def rules_and_model_at_capacity(
    claim_ids: list[str],
    positives: list[bool],
    model_scores: list[float],
    hits: Mapping[str, list[dict[str, Any]]],
    capacity: float,
) -> dict[str, dict[str, Any]]:
    """The rules alone, the model alone and both, at a review capacity.

    ``capacity`` × claims is how many claims clerks review. A claim with a
    ``certain`` hit needs no review (its amount at stake is recovered as it
    is), so with the rules it costs no capacity:

    - ``audit_rules_only``: the certain hits, plus the claims with suspicious hits
      reviewed by amount at stake, largest first, up to the capacity;
    - ``model_only``: the capacity spent on the highest scores;
    - ``audit_rules_and_model``: the certain hits, plus the capacity spent on the
      highest scores among the other claims.

    Each row: ``claims_selected`` (reviewed or recovered outright),
    ``reviewed``, ``positives_found``, ``precision``, ``recall`` (of every
    positive: a fraud label or an injected rule violation) and
    ``amount_at_stake_recovered`` (yuan, the selected claims' rule hits,
    overlaps removed) with ``amount_at_stake_total``.
    """
    n = len(claim_ids)
    budget = max(1, round(capacity * n)) if n else 0  # as models.metrics counts it
    stake = [claim_amount_at_stake_fen(hits.get(c, ())) for c in claim_ids]
    certain = [_certain(hits.get(c, ())) for c in claim_ids]
    suspicious = [bool(hits.get(c)) and not certain[i] for i, c in enumerate(claim_ids)]
    by_score = sorted(range(n), key=lambda i: (-model_scores[i], claim_ids[i]))
    outright = [i for i in range(n) if certain[i]]
    by_stake = sorted(
        (i for i in range(n) if suspicious[i]), key=lambda i: (-stake[i], claim_ids[i])
    )
    rest = [i for i in by_score if not certain[i]]
    plans = {
        "audit_rules_only": (outright, by_stake[:budget]),
        "model_only": ([], by_score[:budget]),
        "audit_rules_and_model": (outright, rest[:budget]),
    }
    total_pos = sum(positives)
    total_stake = sum(stake)
    out = {}
    for name, (free, reviewed) in plans.items():
        chosen = set(free) | set(reviewed)
        found = sum(1 for i in chosen if positives[i])
        recovered = sum(stake[i] for i in chosen)
        out[name] = {
            "claims_selected": len(chosen),
            "reviewed": len(reviewed),
            "positives_found": found,
            "precision": found / len(chosen) if chosen else None,
            "recall": found / total_pos if total_pos else None,
            "amount_at_stake_recovered": f"{recovered // 100}.{recovered % 100:02d}",
            "amount_at_stake_total": f"{total_stake // 100}.{total_stake % 100:02d}",
        }
    return out
