"""Hospital splits of a training set: no hospital on two sides of any split.

A model must generalise to hospitals it has not seen, so rows are split by
hospital: the untouched slice no fitting step sees, the validation split that
early stopping watches, and the training split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

# A hospital per row: ids, or integer codes numbered in the order of the ids
# (``models.featurefile.FeatureTable.hospital``), which split the rows alike.
Hospitals = Sequence[str] | np.ndarray


def split_by_hospital(
    hospital_ids: Hospitals, valid_share: float, seed: int, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation row indices, no hospital on both sides.

    With ``labels`` the fraud share is stratified (as for the untouched slice), so
    validation holds fraudulent hospitals even when few are; an unstratified draw
    of a quarter of 100 hospitals of which 12 commit fraud can miss them all.
    """
    if labels is not None:
        rows = untouched_rows(hospital_ids, labels, valid_share, seed)
        rest = np.setdiff1d(np.arange(len(hospital_ids)), rows, assume_unique=True)
        return rest, rows
    from sklearn.model_selection import GroupShuffleSplit

    splitter = GroupShuffleSplit(n_splits=1, test_size=valid_share, random_state=seed)
    train_idx, valid_idx = next(splitter.split(np.zeros(len(hospital_ids)), groups=hospital_ids))
    return np.sort(train_idx), np.sort(valid_idx)


def untouched_rows(
    hospital_ids: Hospitals, labels: np.ndarray, share: float, seed: int
) -> np.ndarray:
    """Row indices of about ``share`` of the hospitals, fraudulent ones among them.

    Hospitals are kept whole and the fraud share is stratified, so the slice holds
    fraudulent hospitals even when few hospitals are; fraud gathers in a few
    hospitals, and a random slice of them could hold none.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    folds = max(2, round(1 / share))
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    _, rows = next(splitter.split(np.zeros(len(hospital_ids)), labels, groups=hospital_ids))
    return np.sort(rows)


def hospital_folds(
    hospital_ids: Hospitals, labels: np.ndarray, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Up to ``folds`` (training, validation) pairs of row positions: each hospital
    validates once, the fraud share stratified.

    Fewer folds when fewer hospitals hold fraud: every validation fold must hold
    both classes. An empty list when not even two folds can.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    fraudulent = len(np.unique(np.asarray(hospital_ids)[labels == 1]))
    for n in range(min(folds, fraudulent), 1, -1):
        splitter = StratifiedGroupKFold(n_splits=n, shuffle=True, random_state=seed)
        split = splitter.split(np.zeros(len(hospital_ids)), labels, groups=hospital_ids)
        found = [(np.sort(train), np.sort(valid)) for train, valid in split]
        if all(0 < int(labels[valid].sum()) < len(valid) for _, valid in found):
            return found
    return []


@dataclass
class Split:
    """Row indices of the three hospital slices; no hospital is in two of them."""

    train: np.ndarray  # fits the booster and the baselines
    valid: np.ndarray  # early stopping, then refitted on with train
    test: np.ndarray  # untouched: no fitting step sees it

    @property
    def fit(self) -> np.ndarray:
        """The rows the refit learns from: training and validation hospitals."""
        return np.sort(np.concatenate([self.train, self.valid]))


def split_three_ways(
    hospital_ids: Hospitals, labels: np.ndarray, valid_share: float, test_share: float, seed: int
) -> Split:
    """The untouched slice (``test_share`` of hospitals), then ``valid_share`` of the rest."""
    test = untouched_rows(hospital_ids, labels, test_share, seed)
    rest = np.setdiff1d(np.arange(len(hospital_ids)), test, assume_unique=True)
    if isinstance(hospital_ids, np.ndarray):
        rest_ids: Hospitals = hospital_ids[rest]
    else:
        rest_ids = [hospital_ids[i] for i in rest]
    train, valid = split_by_hospital(rest_ids, valid_share, seed, labels[rest])
    return Split(train=rest[train], valid=rest[valid], test=test)


def untouched_digest(fingerprint: str, hospitals: Sequence[str], split: Split) -> str:
    """Which claims the untouched slice is: the data's fingerprint and its hospitals.

    Two runs with the same digest kept the same hospitals of the same data out of
    fitting, so either's untouched slice is new to both.
    """
    return kept_out_digest(fingerprint, {hospitals[i] for i in split.test})


def kept_out_digest(fingerprint: str, kept_out: Iterable[str]) -> str:
    """:func:`untouched_digest` given the untouched hospitals' ids."""
    return hashlib.sha256("\n".join([fingerprint, *sorted(set(kept_out))]).encode()).hexdigest()
