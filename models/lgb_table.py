"""A LightGBM ``Dataset`` built from a feature table's rows without holding them all.

Given a float32 matrix, LightGBM holds the matrix, its own sample of it (200,000
rows as doubles, column by column) and the binned rows it is building, all at
once: at 1M claims that construction was the peak of ``yibao train`` (issue 19,
docs/detection.md "Memory"). Here the table's rows reach LightGBM as a
``lightgbm.Sequence`` instead: the rows LightGBM samples to find the bins are
read from the table (only those rows, one column at a time), and then the rows
are pushed in batches of :data:`PUSH_ROWS`. The sample's rows are LightGBM's
own (``_create_sample_indices``, the indices its matrix path draws), so the
bins, and the booster, are the same as from the matrix
(``tests/model/test_lgb_table.py`` compares the model files).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import lightgbm as lgb
import numpy as np
from lightgbm.basic import ZERO_THRESHOLD  # the band around zero LightGBM's sample leaves out

from models.featurefile import Table

PUSH_ROWS = 65_536  # rows read from the table and pushed to LightGBM at a time


class TableRows(lgb.Sequence):
    """Rows ``rows`` (sorted indices) of ``table``, as LightGBM reads a sequence of rows."""

    batch_size = PUSH_ROWS

    def __init__(self, table: Table, rows: np.ndarray) -> None:
        self.table = table
        self.rows = np.asarray(rows, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, idx: Any) -> np.ndarray:
        if isinstance(idx, slice):
            return self.table.matrix(self.rows[idx])
        # Single rows are only read for LightGBM's sample, which TableDataset reads whole.
        raise TypeError(f"TableRows is read by slices, not by {type(idx).__name__}")

    def sample(self, indices: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """What LightGBM's bins are found from: per column, the values of the sampled rows
        that are not zero (or are NaN), as doubles, and the sample positions they are at."""
        picked = self.table.matrix(self.rows[np.asarray(indices, dtype=np.int64)])
        positions = np.arange(len(indices), dtype=np.int32)
        values, where = [], []
        for j in range(picked.shape[1]):
            column = picked[:, j].astype(np.float64)
            kept = (np.abs(column) > ZERO_THRESHOLD) | np.isnan(column)
            values.append(column[kept])
            where.append(positions[kept])
        return values, where


class TableDataset(lgb.Dataset):
    """A ``lightgbm.Dataset`` of one :class:`TableRows`, sampled by reading only the rows
    LightGBM draws (its own sampling asks for them one by one, as doubles)."""

    _all_params = False

    def get_params(self) -> dict[str, Any]:
        if self._all_params:
            return dict(self.params or {})
        return super().get_params()

    @contextmanager
    def _with_all_params(self) -> Iterator[None]:
        # LightGBM's matrix path samples and finds the bins with every parameter, its
        # sampled path with the Dataset's alone: the seed and min_data_in_leaf would
        # fall back to their defaults (other rows sampled, other features filtered out
        # as unsplittable).
        self._all_params = True
        try:
            yield
        finally:
            self._all_params = False

    def _init_from_sample(self, *args: Any, **kwargs: Any) -> Any:
        with self._with_all_params():
            return super()._init_from_sample(*args, **kwargs)

    # LightGBM's private hook (``Dataset.__sample``, name-mangled) for a sequence's sample.
    def _Dataset__sample(
        self, *, seqs: list[TableRows], total_nrow: int
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        (rows,) = seqs
        with self._with_all_params():  # the rows the matrix path draws: seed included
            indices = self._create_sample_indices(total_nrow=total_nrow)
        return rows.sample(indices)
