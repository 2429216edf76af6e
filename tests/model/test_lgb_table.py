"""A booster fitted from a feature table's rows in batches is the booster fitted from the
matrix of those rows: same sample, same bins, same trees (the model files are equal)."""

from __future__ import annotations

import numpy as np
import pytest

from models.featurefile import build_feature_table
from models.lgb_table import TableRows
from models.train import fit_booster
from tests.model.test_featurefile import _claims_file


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lgb-table")
    path, labels = _claims_file(tmp)
    work = tmp / "work"
    work.mkdir()
    return build_feature_table(path, labels, None, work, chunk_rows=200)


@pytest.mark.parametrize(
    ("params", "batch"),
    [
        (None, 65_536),  # every row sampled, one batch
        ({"bin_construct_sample_cnt": 300}, 97),  # a sample of the rows, many batches
    ],
)
def test_batches_fit_the_matrix_booster(table, monkeypatch, params, batch) -> None:
    monkeypatch.setattr(TableRows, "batch_size", batch)
    everyone = np.arange(len(table))
    train, valid = everyone[everyone % 4 != 0], everyone[everyone % 4 == 0]
    y, y_valid = table.y[train], table.y[valid]
    assert y.sum() > 0 and y_valid.sum() > 0
    X_valid = table.matrix(valid)
    from_matrix: list[float] = []
    from_rows: list[float] = []
    expected = fit_booster(table.matrix(train), y, X_valid, y_valid, params, 60, 20, from_matrix)
    got = fit_booster(TableRows(table, train), y, X_valid, y_valid, params, 60, 20, from_rows)
    assert got.model_to_string() == expected.model_to_string()
    assert from_rows == from_matrix and got.best_iteration == expected.best_iteration
    refit = fit_booster(TableRows(table, train), y, None, None, params, 25)
    assert (
        refit.model_to_string()
        == fit_booster(table.matrix(train), y, None, None, params, 25).model_to_string()
    )
    assert refit.current_iteration() == 25


def test_rows_are_read_by_slices_only(table) -> None:
    rows = TableRows(table, np.arange(10, 60))
    assert len(rows) == 50
    np.testing.assert_array_equal(rows[5:9], table.matrix(np.arange(15, 19)))
    with pytest.raises(TypeError, match="slices"):
        rows[3]
