"""Turn the booster's scores into probabilities and check how well they read as such.

The booster is trained with ``scale_pos_weight``, so its raw scores overstate
fraud. Platt scaling on the score's log-odds, fitted on hospitals the booster
did not train on, maps them to probabilities. It is strictly increasing: the
ranking is unchanged and, unlike isotonic regression, it creates no ties, so
the queue's top page keeps distinct scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

ECE_BINS = 10
_EPS = 1e-12


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), _EPS, 1.0 - _EPS)
    return np.asarray(np.log(q) - np.log1p(-q))


@dataclass(frozen=True)
class Platt:
    """``sigmoid(slope * logit(raw) + intercept)``; slope is kept positive."""

    slope: float = 1.0
    intercept: float = 0.0

    def apply(self, raw: np.ndarray) -> np.ndarray:
        z = self.slope * _logit(raw) + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)))

    def to_dict(self) -> dict[str, Any]:
        return {"method": "platt", "slope": self.slope, "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Platt:
        """The stored calibrator; identity for models saved before calibration existed."""
        if not data:
            return cls()
        if data.get("method") != "platt":
            raise ValueError(f"unknown calibration method {data.get('method')!r}; expected 'platt'")
        return cls(slope=float(data["slope"]), intercept=float(data["intercept"]))


def fit_platt(raw: np.ndarray, labels: np.ndarray) -> Platt:
    """Fit Platt scaling on raw scores of held-out claims and their labels.

    Args:
        raw: the booster's scores on claims it was not trained on.
        labels: 1 for fraud; both classes must be present.
    """
    from sklearn.linear_model import LogisticRegression

    x = _logit(raw).reshape(-1, 1)
    # A large C: plain maximum likelihood, as Platt's method is; the penalty only
    # keeps the fit finite when the classes separate perfectly.
    fit = LogisticRegression(C=1e4, max_iter=1000).fit(x, np.asarray(labels).astype(int))
    slope = float(fit.coef_[0][0])
    if slope <= 0:  # a score that does not rank would be flipped: keep the ranking instead
        slope = 1e-3
    return Platt(slope=slope, intercept=float(fit.intercept_[0]))


def expected_calibration_error(
    scores: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> float | None:
    """Expected calibration error over ``bins`` equal-width score bins.

    The claim-weighted mean gap between the mean score and the fraud rate of each
    bin; None without claims.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=float)
    if len(s) == 0:
        return None
    which = np.minimum((np.clip(s, 0.0, 1.0) * bins).astype(int), bins - 1)
    mean_score = np.bincount(which, weights=s, minlength=bins)
    mean_label = np.bincount(which, weights=y, minlength=bins)
    return float(np.abs(mean_score - mean_label).sum() / len(s))


def capacity_threshold(scores: np.ndarray, capacity: float) -> float:
    """The score above which ``capacity`` of these (unseen) claims lie."""
    return float(np.quantile(np.asarray(scores, dtype=float), 1.0 - capacity))


def flagged_share(scores: np.ndarray, threshold: float) -> float | None:
    """The share of claims at or above the threshold; None without claims."""
    s = np.asarray(scores, dtype=float)
    return float((s >= threshold).mean()) if len(s) else None
