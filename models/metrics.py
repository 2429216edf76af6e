"""Ranking metrics for claims and hospitals, the same for the model and every baseline.

A hospital counts as fraudulent when at least 5% of its claims are labelled
fraud; capacity is the share of claims a team can review (top 2% by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

HOSPITAL_FRAUD_SHARE = 0.05
DEFAULT_CAPACITY = 0.02


def hospital_scores(
    hospital_ids: Sequence[str], scores: np.ndarray, labels: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Per hospital: ids, risk score (mean claim score), fraud label, claim count."""
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(h, len(index)) for h in hospital_ids), dtype=np.int64)
    n = len(index)
    counts = np.bincount(codes, minlength=n).astype(float)
    risk = np.bincount(codes, weights=scores, minlength=n) / np.maximum(counts, 1)
    fraud_share = np.bincount(codes, weights=labels.astype(float), minlength=n) / np.maximum(
        counts, 1
    )
    return list(index), risk, fraud_share >= HOSPITAL_FRAUD_SHARE, counts


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Average precision (PR-AUC) as scikit-learn's ``average_precision_score`` gives it.

    Precision at each distinct score, weighted by the recall it adds; tied scores
    count as one threshold. Without scikit-learn's input checks: the early-stopping
    curve of a cluster's booster (``models.cluster``) computes it once a round.
    """
    order = np.argsort(-scores, kind="mergesort")
    ranked, hits = scores[order], labels[order].astype(np.float64)
    last_of_tie = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    tp = np.cumsum(hits)[last_of_tie]
    if not len(tp) or tp[-1] == 0:
        return 0.0
    precision = tp / (last_of_tie + 1)
    recall_added = np.diff(np.r_[0.0, tp]) / tp[-1]
    return float(np.sum(precision * recall_added))


def ranking_metrics(
    scores: np.ndarray,
    labels: np.ndarray,
    hospital_ids: Sequence[str],
    capacity: float = DEFAULT_CAPACITY,
) -> dict[str, Any]:
    """Claim and hospital ranking metrics of one scorer.

    Args:
        scores: claim scores (higher = more suspicious).
        labels: 1 for fraud.
        hospital_ids: the claims' hospitals.
        capacity: share of claims reviewed (top by score).

    Returns:
        claim_pr_auc, claim_roc_auc, hospital_pr_auc, hospital_precision_at_10,
        precision_at_capacity, recall_at_capacity (None where undefined).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = labels.astype(int)
    both = 0 < y.sum() < len(y)
    out: dict[str, Any] = {
        "claim_pr_auc": float(average_precision_score(y, scores)) if both else None,
        "claim_roc_auc": float(roc_auc_score(y, scores)) if both else None,
    }
    k = max(1, round(capacity * len(y)))
    # Stable sort on the negated score: ties keep file order, identical across scorers.
    top = np.argsort(-scores, kind="stable")[:k]
    out["precision_at_capacity"] = float(y[top].mean()) if len(y) else None
    out["recall_at_capacity"] = float(y[top].sum() / y.sum()) if y.sum() else None
    _, risk, hosp_y, _ = hospital_scores(hospital_ids, scores, y)
    hosp_both = 0 < hosp_y.sum() < len(hosp_y)
    out["hospital_pr_auc"] = (
        float(average_precision_score(hosp_y.astype(int), risk)) if hosp_both else None
    )
    top10 = np.argsort(-risk, kind="stable")[:10]
    out["hospital_precision_at_10"] = float(hosp_y[top10].mean()) if len(top10) else None
    out["fraudulent_hospitals"] = int(hosp_y.sum())
    out["hospitals"] = len(hosp_y)
    return out


def top_share(scores: np.ndarray, capacity: float) -> np.ndarray:
    """A mask of the claims flagged at ``capacity``: the top share by score.

    The same ranking as :func:`ranking_metrics` (stable: ties keep file order).
    """
    k = max(1, round(capacity * len(scores)))
    flagged = np.zeros(len(scores), dtype=bool)
    flagged[np.argsort(-scores, kind="stable")[:k]] = True
    return flagged


def scheme_metrics(
    scores: np.ndarray,
    labels: np.ndarray,
    fraud_types: Sequence[str | None],
    capacity: float = DEFAULT_CAPACITY,
) -> dict[str, dict[str, Any]]:
    """Per fraud scheme: how well its claims rank among the honest ones.

    ``ap`` is the average precision of the scheme's claims against every honest
    claim, other schemes' claims left out; ``recall_at_capacity`` is the share of
    the scheme's claims among the top ``capacity`` share of all claims (the
    clerks' queue). A fraudulent claim without a type counts as ``unspecified``.
    """
    from sklearn.metrics import average_precision_score

    y = labels.astype(bool)
    flagged = top_share(scores, capacity)
    schemes = np.array([t or "unspecified" for t in fraud_types], dtype=object)
    out: dict[str, dict[str, Any]] = {}
    for scheme in sorted({str(s) for s in schemes[y]}):
        mine = y & (schemes == scheme)
        keep = mine | ~y
        ap = average_precision_score(mine[keep].astype(int), scores[keep]) if (~y).any() else None
        out[scheme] = {
            "ap": None if ap is None else float(ap),
            "recall_at_capacity": float(flagged[mine].mean()),
            "claims": int(mine.sum()),
        }
    return out


def slice_metrics(
    scores: np.ndarray,
    labels: np.ndarray,
    slices: Sequence[str],
    capacity: float = DEFAULT_CAPACITY,
) -> dict[str, dict[str, Any]]:
    """Per slice (a region, a hospital level): ranking within it, recall in the queue.

    ``ap`` is the average precision of the slice's claims ranked among
    themselves (None when the slice holds one class only); ``recall_at_capacity``
    is the share of the slice's fraudulent claims in the top ``capacity`` share
    of all claims, since the clerks review one queue for every slice.
    """
    from sklearn.metrics import average_precision_score

    y = labels.astype(bool)
    flagged = top_share(scores, capacity)
    keys = np.array(list(slices), dtype=object)
    out: dict[str, dict[str, Any]] = {}
    for key in sorted({str(k) for k in keys}):
        mine = keys == key
        positives = int((y & mine).sum())
        both = 0 < positives < int(mine.sum())
        out[key] = {
            "ap": float(average_precision_score(y[mine].astype(int), scores[mine]))
            if both
            else None,
            "recall_at_capacity": float(flagged[y & mine].mean()) if positives else None,
            "claims": int(mine.sum()),
            "positives": positives,
        }
    return out
