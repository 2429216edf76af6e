"""The training feature file: chunked float32 columns, read back exactly, claims streamed."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from detection.rules import rules_score
from models.data import load_claims
from models.featurefile import (
    FeatureWriter,
    build_feature_table,
    dump_facts,
    event_order,
    load_facts,
    read_rows,
)
from models.matrix import featurize, labels_of
from models.splits import split_three_ways
from tests.claimgen import generate
from tests.model.facts import facts_of

NAMES = ("a", "b", "c")


def _values(n: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    values = rng.normal(0, 1e4, size=(n, len(NAMES)))
    values[::5, 0] = np.nan
    values[1::7, 1] = np.inf
    values[2::9, 2] = 1 / 3  # not a float32: rounds to the nearest one
    return values


def _write(path, values: np.ndarray, chunk_rows: int) -> None:
    with FeatureWriter(path, NAMES, chunk_rows=chunk_rows, label=False) as writer:
        for row in values.tolist():
            writer.add(row)


@pytest.mark.parametrize("n", [0, 1, 6, 7, 8, 21, 23])
def test_rows_read_back_are_the_rows_written_rounded_to_float32(tmp_path, n: int) -> None:
    values = _values(n)
    path = tmp_path / "f.parquet"
    _write(path, values, chunk_rows=7)
    got = read_rows(path, names=NAMES)
    assert got.dtype == np.float32 and got.shape == (n, len(NAMES))
    np.testing.assert_array_equal(got, values.astype(np.float32))


def test_rows_on_both_sides_of_chunk_boundaries(tmp_path) -> None:
    values = _values(23)
    path = tmp_path / "f.parquet"
    _write(path, values, chunk_rows=7)
    for rows in ([6, 7], [0, 13, 14, 20, 21, 22], list(range(7, 14)), [22], []):
        picked = np.array(rows, dtype=np.int64)
        np.testing.assert_array_equal(
            read_rows(path, picked, NAMES), values[picked].astype(np.float32)
        )


def test_rows_must_be_increasing_and_inside_the_file(tmp_path) -> None:
    path = tmp_path / "f.parquet"
    _write(path, _values(10), chunk_rows=4)
    for rows in ([3, 2], [1, 1], [10], [-1]):
        with pytest.raises(ValueError, match="increasing"):
            read_rows(path, np.array(rows), NAMES)


def test_event_order_is_the_claims_sort_key_claim_id_breaking_ties() -> None:
    rng = random.Random(4)
    keys = [
        (rng.randint(0, 5), rng.randint(0, 2), f"C{rng.randint(0, 10**6):07d}") for _ in range(300)
    ]
    keys = list({k[2]: k for k in keys}.values())  # claim ids are unique
    order = event_order(
        np.array([k[0] for k in keys], dtype=np.int64),
        np.array([k[1] for k in keys], dtype=np.int64),
        [k[2] for k in keys],
    )
    assert [keys[i] for i in order] == sorted(keys)


def test_facts_round_trip_through_the_spool_format() -> None:
    facts = facts_of(generate(seed=2, claims=30, hospitals=3, fraud_hospitals=1))
    assert [load_facts(dump_facts(f)) for f in facts] == facts


def _claims_file(tmp_path) -> tuple:
    claims = generate(seed=6, claims=1500, hospitals=12, fraud_hospitals=3)
    lines = [json.dumps(c) for c in claims]
    bad = dict(claims[0], claim_id="bad-1")
    bad["patient"] = dict(bad["patient"], person_id="123")
    lines += [json.dumps(bad), "{not json", "", json.dumps(claims[5])]
    random.Random(1).shuffle(lines)  # the fold must not depend on the file's order
    path = tmp_path / "claims.jsonl"
    path.write_text("\n".join(lines) + "\n")
    labels = tmp_path / "labels.jsonl"
    rows = [
        {"claim_id": claims[3]["claim_id"], "is_fraud": True, "fraud_type": "upcoding"},
        {"claim_id": claims[4]["claim_id"], "is_fraud": False, "fraud_type": None},
        {"claim_id": "unknown", "is_fraud": True, "fraud_type": None},
    ]
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, labels


@pytest.mark.parametrize("chunk_rows", [100, 1499, 1500, 65_536])
def test_streamed_table_equals_the_in_memory_features(tmp_path, chunk_rows: int) -> None:
    path, labels = _claims_file(tmp_path)
    loaded = load_claims(path, labels)
    # The file is one review period: the period means are over all of it.
    ordered, feats, X = featurize(loaded.facts, period=True)
    work = tmp_path / "work"
    work.mkdir()
    table = build_feature_table(path, labels, None, work, chunk_rows=chunk_rows)
    assert len(table) == len(ordered) == 1500
    got = table.matrix()
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, X.astype(np.float32))
    np.testing.assert_array_equal(table.y, labels_of(ordered))
    everything = np.arange(len(table))
    assert table.hospital_ids(everything) == [f.hospital_id for f in ordered]
    assert table.fraud_types_of(everything) == [f.fraud_type for f in ordered]
    np.testing.assert_array_equal(table.rules, [rules_score(f) for f in feats])
    assert table.period == (min(f.discharge for f in ordered), max(f.discharge for f in ordered))
    np.testing.assert_array_equal(table.column("age_years"), got[:, 20])
    kept = table.loaded
    assert (kept.skipped, kept.skipped_by_code) == (loaded.skipped, loaded.skipped_by_code)
    assert (kept.relabelled, kept.unmatched_labels) == (loaded.relabelled, loaded.unmatched_labels)
    assert kept.unmatched_examples == loaded.unmatched_examples
    assert kept.fingerprint == loaded.fingerprint
    # the spool is gone; the period means are beside the rows
    assert sorted(p.name for p in work.iterdir()) == ["features.parquet", "features.period.npy"]


def test_hospital_codes_split_the_rows_as_hospital_ids_do(tmp_path) -> None:
    path, labels = _claims_file(tmp_path)
    table = build_feature_table(path, labels, None, tmp_path)
    ids = table.hospital_ids(np.arange(len(table)))
    for seed in range(4):
        by_code = split_three_ways(table.hospital, table.y, 0.25, 0.2, seed)
        by_id = split_three_ways(ids, table.y, 0.25, 0.2, seed)
        for rows, want in zip(
            (by_code.train, by_code.valid, by_code.test),
            (by_id.train, by_id.valid, by_id.test),
            strict=True,
        ):
            np.testing.assert_array_equal(rows, want)


def test_a_table_built_in_a_child_process_is_the_same_table(tmp_path) -> None:
    from models.featurefile import build_in_child

    path, labels = _claims_file(tmp_path)
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    want = build_feature_table(path, labels, None, here)
    got = build_in_child(path, labels, None, there)
    np.testing.assert_array_equal(got.matrix(), want.matrix())
    for name in ("y", "hospital", "fraud_type", "rules"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    assert (got.hospitals, got.fraud_types, got.period) == (
        want.hospitals,
        want.fraud_types,
        want.period,
    )
    assert got.loaded == want.loaded
    assert sorted(p.name for p in there.iterdir()) == ["features.parquet", "features.period.npy"]


def test_the_child_process_error_is_raised_in_the_caller(tmp_path) -> None:
    from models.featurefile import build_in_child

    with pytest.raises(FileNotFoundError):
        build_in_child(tmp_path / "missing.jsonl", None, None, tmp_path)
