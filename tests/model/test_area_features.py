"""Features by hospital area: each area's claims alone give the rows the whole file gives,
and the cluster's early-stopping rule picks the round LightGBM's early stopping picks."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from models.areas import count_areas, group_areas
from models.cluster import Part, PartitionedTable, merged_loaded, precision_by_round, stopping_round
from models.data import load_claims
from models.featurefile import build_feature_table
from models.splits import split_three_ways
from tests.model.test_featurefile import _claims_file


def test_each_group_of_areas_alone_gives_the_by_area_rows(tmp_path) -> None:
    path, labels = _claims_file(tmp_path)  # five areas, a malformed line, a rejected claim
    whole_dir = tmp_path / "whole"
    whole_dir.mkdir()
    whole = build_feature_table(path, labels, None, whole_dir, chunk_rows=200, by_area=True)
    ordered = sorted(load_claims(path, labels).facts, key=lambda f: f.sort_key)
    area_of_row = np.array([f.hospital_region for f in ordered])
    counts = count_areas(path)
    assert len(counts) == 6  # the five regions and "" (the line that is not JSON)
    parts = []
    for i, areas in enumerate(group_areas(counts, 3)):
        folder = tmp_path / f"part{i}"
        folder.mkdir()
        table = build_feature_table(path, labels, None, folder, chunk_rows=200, areas=areas)
        mine = np.flatnonzero(np.isin(area_of_row, areas))
        np.testing.assert_array_equal(table.matrix(), whole.matrix(mine))
        np.testing.assert_array_equal(table.y, whole.y[mine])
        np.testing.assert_array_equal(table.rules, whole.rules[mine])
        assert table.hospital_ids(np.arange(len(table))) == whole.hospital_ids(mine)
        assert table.fraud_types_of(np.arange(len(table))) == whole.fraud_types_of(mine)
        parts.append(Part(table=table, worker="", areas=areas))
    start = 0
    for part in parts:
        part.start, start = start, start + len(part.table)

    # what is skipped, relabelled and left unmatched adds up to the whole file's
    loaded = merged_loaded(parts, path, labels)
    want = whole.loaded
    assert (loaded.skipped, loaded.skipped_by_code) == (want.skipped, want.skipped_by_code)
    assert loaded.skipped_by_code["malformed"] == 1
    assert (loaded.relabelled, loaded.unmatched_labels) == (want.relabelled, want.unmatched_labels)
    assert (loaded.unmatched_examples, loaded.fingerprint) == (
        want.unmatched_examples,
        want.fingerprint,
    )

    # the parts end to end hold out the same hospitals as the whole table
    spread = PartitionedTable(None, parts, loaded)
    assert len(spread) == len(whole) and spread.period == whole.period
    assert sorted(spread.hospitals) == sorted(whole.hospitals)
    assert Counter(spread.fraud_types_of(np.arange(len(spread)))) == Counter(
        whole.fraud_types_of(np.arange(len(whole)))
    )
    for seed in range(3):
        a = split_three_ways(spread.hospital, spread.y, 0.25, 0.2, seed)
        b = split_three_ways(whole.hospital, whole.y, 0.25, 0.2, seed)
        for rows_a, rows_b in ((a.train, b.train), (a.valid, b.valid), (a.test, b.test)):
            assert set(spread.hospital_ids(rows_a)) == set(whole.hospital_ids(rows_b))
            assert len(rows_a) == len(rows_b)


def test_pieces_number_rows_within_their_part(tmp_path) -> None:
    path, labels = _claims_file(tmp_path)
    parts = []
    for i, areas in enumerate(group_areas(count_areas(path), 2)):
        folder = tmp_path / f"p{i}"
        folder.mkdir()
        parts.append(Part(build_feature_table(path, labels, None, folder, areas=areas), "", areas))
    parts[1].start = len(parts[0].table)
    spread = PartitionedTable(None, parts, merged_loaded(parts, path, labels))
    n0 = len(parts[0].table)
    pieces = spread.pieces(np.array([0, n0 - 1, n0, n0 + 5]))
    assert [(p is parts[i], r.tolist()) for i, (p, r) in enumerate(pieces)] == [
        (True, [0, n0 - 1]),
        (True, [0, 5]),
    ]
    assert [len(r) for _, r in spread.pieces(np.array([n0 + 1]))] == [1]
    with pytest.raises(ValueError, match="increasing"):
        spread.pieces(np.array([3, 2]))


def test_the_stopping_round_is_lightgbm_s_early_stopping(quick_world) -> None:
    import lightgbm as lgb

    from models.train import booster_params

    X, y, tr, va = quick_world
    params = booster_params(y[tr], {"learning_rate": 0.3})
    for patience in (3, 10):
        stopped = lgb.train(
            params,
            lgb.Dataset(X[tr], y[tr]),
            num_boost_round=150,
            valid_sets=[lgb.Dataset(X[va], y[va])],
            callbacks=[lgb.early_stopping(patience, first_metric_only=True, verbose=False)],
        )
        every = lgb.train({**params, "metric": "none"}, lgb.Dataset(X[tr], y[tr]), 150)
        curve = precision_by_round(every, X[va], y[va])
        assert stopping_round(curve, patience) == stopped.best_iteration
        assert stopped.best_iteration < 150  # early stopping did stop


@pytest.fixture(scope="module")
def quick_world(world: list[dict]):
    from models.matrix import featurize, labels_of
    from models.train import split_by_hospital
    from tests.model.facts import facts_of

    ordered, _, X = featurize(facts_of(world))
    y = labels_of(ordered)
    tr, va = split_by_hospital([f.hospital_id for f in ordered], 0.25, 1)
    return X.astype(np.float32), y, tr, va
