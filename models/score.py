"""Score claims: fraud score, flag, red flags and plain-language reasons, plus a hospital table.

:class:`Scorer` serves both batch scoring (many claims, one vectorised
prediction) and the stream (:meth:`Scorer.score_next`, one claim at a time
through the same feature state). Records follow the project's score format.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from detection.facts import ClaimFacts
from detection.features import FEATURE_NAMES, Features, FeatureState, whole_period
from detection.reasons import FEATURE_LABELS, feature_text, is_actionable
from detection.rules import evaluate_rules, rules_score
from models.compiled import SINGLE_THREAD_ROWS
from models.matrix import to_matrix
from models.registry import LoadedModel
from settlement.money import format_fen

RULES_ONLY = "rules-only"
RULES_THRESHOLD = 0.5
TOP_REASONS = 3


class Scorer:
    """Scores claims with a model (or the rules alone when ``model`` is None).

    ``pred_contrib`` costs tens of times a plain prediction, so reasons are
    computed only for claims scoring at least ``reasons_floor`` x threshold
    (default half the threshold: every flagged claim and the near misses);
    the others get an empty ``reasons`` list. 0 gives every claim reasons.
    """

    def __init__(
        self,
        model: LoadedModel | None,
        state: FeatureState | None = None,
        reasons_floor: float = 0.5,
    ) -> None:
        self.model = model
        self.state = state if state is not None else FeatureState()
        self.reasons_floor = reasons_floor

    @property
    def label(self) -> str:
        return self.model.label if self.model else RULES_ONLY

    @property
    def threshold(self) -> float:
        return self.model.threshold if self.model else RULES_THRESHOLD

    def predict(self, X: np.ndarray, contributions: bool = True) -> tuple[np.ndarray, Any]:
        """Scores and (optionally) per-feature contributions of a feature matrix."""
        if self.model is None:
            raise ValueError("rules-only scorer has no model to predict with")
        scores = self.model.predict(X)
        contrib = None
        if contributions:
            contrib = contributions_of(self.model, X)
        return scores, contrib

    def records(
        self, facts: Sequence[ClaimFacts], feats: Sequence[Features]
    ) -> list[dict[str, Any]]:
        """Score records for claims whose features are already computed (same order)."""
        contrib_rows: dict[int, np.ndarray] = {}
        if self.model is None:
            scores = np.fromiter((rules_score(f) for f in feats), dtype=np.float64)
        else:
            X = to_matrix(feats)
            scores, _ = self.predict(X, contributions=False)
            wanted = np.flatnonzero(scores >= self.reasons_floor * self.threshold)
            if len(wanted):
                contrib = contributions_of(self.model, X[wanted])
                contrib_rows = {int(i): contrib[k] for k, i in enumerate(wanted)}
        return [
            self._record(fact, feat, float(scores[i]), contrib_rows.get(i))
            for i, (fact, feat) in enumerate(zip(facts, feats, strict=True))
        ]

    def score_batch(
        self, facts: Sequence[ClaimFacts], *, period: bool = False
    ) -> list[dict[str, Any]]:
        """Score claims in event order, learning each into the state (batch scoring).

        ``period``: the claims are a review period, scored with each hospital's
        means over all of it (:func:`detection.features.whole_period`); False
        scores them as the stream does, with the means so far.
        """
        ordered = sorted(facts, key=lambda c: c.sort_key)
        feats = [self.state.update_and_features(c) for c in ordered]
        if period:
            feats = whole_period(ordered, feats, self.state)
        return self.records(ordered, feats)

    def score_next(self, fact: ClaimFacts) -> dict[str, Any]:
        """Score the next claim of a stream and learn it (same features as batch)."""
        feat = self.state.update_and_features(fact)
        return self.records([fact], [feat])[0]

    def _record(
        self, fact: ClaimFacts, feat: Features, score: float, contrib: np.ndarray | None
    ) -> dict[str, Any]:
        reasons = []
        if contrib is not None:
            values = contrib[: len(FEATURE_NAMES)]
            ranked = (i for i in np.argsort(-values, kind="stable") if values[i] > 0)
            actionable = [i for i in ranked if is_actionable(FEATURE_NAMES[i])]
            for i in actionable[:TOP_REASONS]:
                name = FEATURE_NAMES[i]
                reasons.append(
                    {
                        "feature": name,
                        "value": round(float(feat.values[i]), 4),
                        "contribution": round(float(values[i]), 4),
                        "text": feature_text(name, feat),
                    }
                )
        score = min(max(score, 0.0), 1.0)
        return {
            "claim_id": fact.claim_id,
            "fraud_score": score,
            "flagged": score >= self.threshold,
            "threshold": self.threshold,
            "model_version": self.label,
            "rule_hits": [hit.as_dict() for hit in evaluate_rules(feat)],
            "reasons": reasons,
            "hospital_id": fact.hospital_id,
            "insured_region": fact.insured_region,
            "scheme": fact.scheme,
            "claim_type": fact.claim_type,
            "discharge_date": fact.discharge_date.isoformat(),
            "total": format_fen(fact.total_fen),
        }


def contributions_of(model: LoadedModel, X: np.ndarray) -> np.ndarray:
    """LightGBM's per-feature contributions (TreeSHAP) of the rows of ``X``, bias last.

    A few rows (the stream's flagged claims of one batch) on one thread: LightGBM's
    OpenMP threads then spin after every call, which cost a quarter more CPU for
    the same values (measured: 690 against 930 µs a row, 71 trees) and, with one
    worker process per core, take cores from the other workers.
    """
    threads = 1 if len(X) < SINGLE_THREAD_ROWS else 0
    return np.asarray(model.booster.predict(X, pred_contrib=True, num_threads=threads))


def hospital_table(
    facts: Sequence[ClaimFacts], records: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Hospital risk table: mean claim score, rank, counts and the commonest reasons.

    Args:
        facts: the scored claims.
        records: their score records, same order.

    Returns:
        One row per hospital, riskiest first.
    """
    rows: dict[str, dict[str, Any]] = {}
    reasons: dict[str, Counter[str]] = {}
    for fact, rec in zip(facts, records, strict=True):
        row = rows.get(fact.hospital_id)
        if row is None:
            row = rows[fact.hospital_id] = {
                "hospital_id": fact.hospital_id,
                "region": fact.hospital_region,
                "level": fact.hospital_level,
                "score_sum": 0.0,
                "claims": 0,
                "flagged": 0,
            }
            reasons[fact.hospital_id] = Counter()
        row["claims"] += 1
        row["score_sum"] += rec["fraud_score"]
        if rec["flagged"]:
            row["flagged"] += 1
            counter = reasons[fact.hospital_id]
            for hit in rec["rule_hits"]:
                counter[f"red flag {hit['code']}"] += 1
            for reason in rec["reasons"][:1]:
                counter[FEATURE_LABELS.get(reason["feature"], reason["feature"])] += 1
    table = []
    for hid, row in rows.items():
        risk = row.pop("score_sum") / row["claims"]
        row["risk_score"] = round(risk, 6)
        row["top_reasons"] = [
            f"{what} ({n} flagged claims)" for what, n in reasons[hid].most_common(3)
        ]
        table.append(row)
    table.sort(key=lambda r: (-r["risk_score"], r["hospital_id"]))
    for rank, row in enumerate(table, 1):
        row["rank"] = rank
    return [
        {
            k: row[k]
            for k in (
                "hospital_id",
                "region",
                "level",
                "risk_score",
                "rank",
                "claims",
                "flagged",
                "top_reasons",
            )
        }
        for row in table
    ]
