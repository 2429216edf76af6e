"""Hospital splits: no hospital on two sides, and fraudulent hospitals in every slice."""

from __future__ import annotations

import numpy as np
import pytest

from models.splits import split_three_ways


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
