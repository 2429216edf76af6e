"""Hospital splits: no hospital on two sides, and fraudulent hospitals in every slice."""

from __future__ import annotations

import numpy as np
import pytest

from models.splits import hospital_folds, split_three_ways
from models.train import mean_curve


def _claims(hospitals: int, fraudulent: int) -> tuple[list[str], np.ndarray]:
    ids, labels = [], []
    for h in range(hospitals):
        for c in range(30 + (h * 7) % 40):
            ids.append(f"H{h:03d}")
            labels.append(1 if h < fraudulent and c % 4 == 0 else 0)
    return ids, np.array(labels, dtype=np.int8)


@pytest.mark.parametrize("seed", range(12))
def test_few_fraudulent_hospitals_still_reach_validation_and_untouched(seed: int) -> None:
    # 100 hospitals, 6 of them fraudulent: an unstratified quarter of the rest
    # for validation often held none, and training then stopped with an error.
    ids, y = _claims(100, 6)
    split = split_three_ways(ids, y, 0.25, 0.2, seed)
    slices = {"train": split.train, "valid": split.valid, "test": split.test}
    for name, rows in slices.items():
        assert 0 < int(y[rows].sum()) < len(rows), name
    seen = [{ids[i] for i in rows} for rows in slices.values()]
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])
    assert sorted(np.concatenate(list(slices.values())).tolist()) == list(range(len(ids)))
    hospitals_in_valid = len(seen[1]) / len(
        set(ids[i] for i in np.concatenate([split.train, split.valid]))
    )
    assert 0.15 < hospitals_in_valid < 0.35


@pytest.mark.parametrize("seed", range(6))
def test_folds_validate_every_hospital_once_each_with_fraud(seed: int) -> None:
    ids, y = _claims(60, 5)
    folds = hospital_folds(ids, y, 3, seed)
    assert len(folds) == 3
    validated = np.sort(np.concatenate([valid for _, valid in folds]))
    assert validated.tolist() == list(range(len(ids)))  # every row validates once
    for train, valid in folds:
        assert not {ids[i] for i in train} & {ids[i] for i in valid}
        assert sorted([*train.tolist(), *valid.tolist()]) == list(range(len(ids)))
        assert 0 < int(y[valid].sum()) < len(valid)


def test_fewer_fraudulent_hospitals_than_folds_give_fewer_folds() -> None:
    ids, y = _claims(40, 2)
    assert len(hospital_folds(ids, y, 3, 7)) == 2
    ids, y = _claims(40, 1)
    assert hospital_folds(ids, y, 3, 7) == []  # one split, as without a refit


def test_mean_curve_holds_a_stopped_fold_at_its_last_value() -> None:
    curves = [np.array([0.2, 0.4, 0.3]), np.array([0.1, 0.2, 0.5, 0.6, 0.7])]
    assert mean_curve(curves).tolist() == pytest.approx([0.15, 0.3, 0.4, 0.45, 0.5])
