"""Population stability index per feature: is new data still like the training data?

At training, each feature's deciles on the training claims become its bins and
the training shares per bin are stored with the run (``drift/reference.json``).
A new file's claims are counted into the same bins; PSI above 0.2 is the usual
sign that a feature's distribution has moved enough to distrust the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

PSI_THRESHOLD = 0.2
REFERENCE_ARTIFACT = "drift/reference.json"
BINS = 10
_FLOOR = 1e-4  # an empty bin's share: keeps the logarithm finite


def _bin(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin shares of ``values`` between the inner ``edges`` (open at both ends)."""
    which = np.searchsorted(edges, values, side="right")
    counts = np.bincount(which, minlength=len(edges) + 1).astype(float)
    return counts / max(len(values), 1)


def reference(X: np.ndarray, names: Sequence[str], bins: int = BINS) -> dict[str, Any]:
    """Per feature: inner bin edges (deciles of the training values) and training shares."""
    return reference_of_columns(lambda j: X[:, j], names, bins)


def reference_of_columns(
    column: Callable[[int], np.ndarray], names: Sequence[str], bins: int = BINS
) -> dict[str, Any]:
    """:func:`reference` of a matrix given column by column (``column(j)``: feature j's values).

    One column is held at a time, so the matrix can stay in a file.
    """
    out: dict[str, Any] = {}
    quantiles = np.linspace(0, 1, bins + 1)[1:-1]
    for j, name in enumerate(names):
        values = np.nan_to_num(column(j).astype(float))
        # Rounded: a long run of float digits must not read as an identity number
        # to a scan of the artifacts; the shares are counted on the rounded edges.
        edges = np.unique(np.round(np.quantile(values, quantiles), 6))
        shares = np.round(_bin(values, edges), 6)
        out[name] = {"edges": edges.tolist(), "shares": shares.tolist()}
    return out


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins."""
    e = np.maximum(np.asarray(expected, dtype=float), _FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def drift(ref: dict[str, Any], X: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    """PSI of every feature of ``X`` against the training reference.

    Raises:
        ValueError: the reference lacks a feature (trained on other features).
    """
    out: dict[str, float] = {}
    for j, name in enumerate(names):
        if name not in ref:
            raise ValueError(f"the training reference has no feature {name!r}")
        edges = np.asarray(ref[name]["edges"], dtype=float)
        # Training reads its features as float32 (models.featurefile): the same
        # precision here, or a value next to an edge (0.7 is 0.69999999 in float32)
        # falls into another bin than it did at training.
        column = np.nan_to_num(X[:, j].astype(np.float32).astype(float))
        out[name] = psi(np.asarray(ref[name]["shares"]), _bin(column, edges))
    return out
