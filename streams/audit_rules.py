"""The audit-rule catalogue in the stream: hits on every settled claim, flags for certain ones.

The stream checks each settled claim against the rule catalogue
(``detection/rule_tables/``, docs/rules.md) in the scoring pipeline's first
stage, which takes batches strictly in order, and folds it into the
per-person windows (:class:`detection.rule_state.RuleState`). A person's
claims share a partition, so each person's claims are folded in the order
they were submitted, as ``yibao rules check`` folds a file. The windows are
snapshotted and restored with the feature memory (streams/feature_memory.py).

Flags (``fraud.flags``): a record the model flags carries ``audit_hits`` and
``flagged_by_rule``; a claim with a ``certain`` hit the model did not flag
gets a flag of its own (``flagged`` false, ``flagged_by_rule`` true, no
score): a certain hit needs no model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from detection.rule_engine import RuleEngine, RuleHit
from detection.rule_state import RuleState
from detection.rulebook_loader import load_rule_dir


class StreamRules:
    """The rule engine and the stream's per-person rule windows.

    Args:
        engine: the loaded rule catalogue.
        state: the windows (a restored snapshot's, or empty).
    """

    def __init__(self, engine: RuleEngine, state: RuleState | None = None) -> None:
        self.engine = engine
        self.state = state if state is not None else RuleState()

    @classmethod
    def load(cls, rules_dir: Path | None = None) -> StreamRules:
        """The catalogue of ``rules_dir`` (the bundled one by default), empty windows."""
        return cls(RuleEngine(load_rule_dir(rules_dir)))

    def check(self, claims: Sequence[Any]) -> list[list[RuleHit]]:
        """Each claim's hits, folding it in order (:func:`merge_flags` writes the ones sent)."""
        engine, state = self.engine, self.state
        return [engine.check(c, state) for c in claims]

    def learn(self, claims: Sequence[Any]) -> None:
        """Fold claims into the windows without keeping their hits (re-learning)."""
        engine, state = self.engine, self.state
        for claim in claims:
            engine.check(claim, state)

    def snapshot(self) -> dict[str, Any]:
        """The windows as plain data, for the feature snapshot."""
        return self.state.to_dict()

    def restore(self, data: dict[str, Any] | None) -> None:
        """Use a snapshot's windows (None: start empty, as from an older snapshot)."""
        self.state = RuleState.from_dict(data) if data is not None else RuleState()


def certain(hits: Sequence[RuleHit]) -> bool:
    return any(h.result == "certain" for h in hits)


def merge_flags(
    claims: Sequence[Any],
    hits: Sequence[list[RuleHit]],
    records: list[dict[str, Any]],
    version: str,
) -> list[dict[str, Any]]:
    """The batch's flags: the model's records with their hits, then the claims only a
    certain hit flags, in batch order.

    Hits become the dicts ``yibao rules check`` writes only here, for the flags
    sent: most claims' hits (suspicious ones the model does not flag) go nowhere.
    """
    by_id = {c.claim_id: h for c, h in zip(claims, hits, strict=True)} if records else {}
    out = []
    flagged = set()
    for rec in records:
        found = by_id.get(rec["claim_id"], [])
        rec["audit_hits"] = [h.as_dict() for h in found]
        rec["flagged_by_rule"] = certain(found)
        flagged.add(rec["claim_id"])
        out.append(rec)
    for claim, found in zip(claims, hits, strict=True):
        if found and claim.claim_id not in flagged and certain(found):
            out.append(rule_flag(claim, [h.as_dict() for h in found], version))
    return out


def rule_flag(claim: Any, hits: list[dict[str, Any]], version: str) -> dict[str, Any]:
    """The flag of a claim only a certain rule hit flags (no model score)."""
    return {
        "claim_id": claim.claim_id,
        "fraud_score": None,
        "flagged": False,
        "flagged_by_rule": True,
        "model_version": version,
        "audit_hits": hits,
        "rule_hits": [],
        "reasons": [],
        "hospital_id": claim.hospital_id,
        "insured_region": claim.insured_region,
        "scheme": claim.scheme,
        "claim_type": claim.claim_type,
        "discharge_date": claim.discharge_date.isoformat(),
    }
