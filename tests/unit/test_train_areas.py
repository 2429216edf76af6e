"""Claims by hospital area (models.areas) and the early-stopping rule a cluster applies."""

from __future__ import annotations

import itertools
import json
from collections import Counter

import numpy as np
import pytest

from models.areas import NO_AREA, byte_ranges, count_areas, group_areas, line_area
from models.cluster import local_workers, stopping_round
from models.errors import ClusterError
from models.metrics import average_precision


def _line(region: object) -> bytes:
    return json.dumps(
        {"claim_id": "c", "hospital": {"hospital_id": "H1", "region": region}}
    ).encode()


def test_a_line_s_area_is_its_hospital_region_or_none() -> None:
    assert line_area(_line("440300")) == "440300"
    assert line_area(_line("4403")) == "4403"  # validation, not routing, refuses it
    for line in (_line(440300), _line(None), b"{not json", b"[1, 2]", b'{"hospital": "H1"}'):
        assert line_area(line) == NO_AREA
    # the exact decoder's reading when orjson refuses (an integer beyond 64 bits)
    big = b'{"n": 123456789012345678901234567890, "hospital": {"region": "441900"}}'
    assert line_area(big) == "441900"


@pytest.mark.parametrize("pieces", [1, 2, 3, 5, 8, 64, 10_000])
def test_byte_ranges_count_every_line_once(tmp_path, pieces: int) -> None:
    regions = ["440300", "440100", "441900", None, "440300"] * 7
    lines = [_line(r) for r in regions] + [b"", b"{broken", b"   "]
    path = tmp_path / "claims.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    want = Counter({"440300": 14, "440100": 7, "441900": 7, NO_AREA: 8})
    assert count_areas(path) == want
    ranges = byte_ranges(path.stat().st_size, pieces)
    assert ranges[0][0] == 0 and ranges[-1][1] == path.stat().st_size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert sum((count_areas(path, lo, hi) for lo, hi in ranges), Counter()) == want


def test_an_empty_file_has_no_areas(tmp_path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert [count_areas(path, lo, hi) for lo, hi in byte_ranges(0, 4)] == [Counter()]


def test_areas_are_dealt_into_balanced_groups_each_once() -> None:
    counts = {"a": 50, "b": 30, "c": 20, "d": 20, "e": 5, "": 1}
    groups = group_areas(counts, 3)
    assert groups == [("a",), ("", "b", "e"), ("c", "d")]
    assert sorted(a for g in groups for a in g) == sorted(counts)
    assert group_areas(counts, 3) == groups  # deterministic
    assert group_areas(counts, 100) == [(a,) for a in ("a", "b", "c", "d", "e", "")]
    assert group_areas({"a": 1}, 4) == [("a",)]


def test_average_precision_is_scikit_learn_s() -> None:
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(5)
    for n, ties in ((50, False), (500, True), (3000, True)):
        y = (rng.random(n) < 0.07).astype(np.int8)
        y[0] = 1
        scores = rng.normal(size=n) + y
        if ties:
            scores = np.round(scores, 1)
        assert average_precision(scores, y) == pytest.approx(
            average_precision_score(y, scores), abs=1e-12
        )


def test_stopping_round_is_the_best_before_patience_runs_out() -> None:
    curve = np.array([0.1, 0.3, 0.2, 0.3, 0.25, 0.5, 0.4, 0.4, 0.4, 0.6])
    # 0.3 at round 2; round 4 only ties it, and round 5 is the third without a better one
    assert stopping_round(curve, 3) == 2
    assert stopping_round(curve, 4) == 10  # patience lasts to 0.6 at the last round
    assert stopping_round(curve, 1) == 2
    assert stopping_round(np.array([0.2]), 200) == 1


def test_local_cluster_addresses() -> None:
    assert local_workers("local:3") == 3
    assert local_workers("local") >= 1
    assert local_workers("tcp://10.0.0.5:8786") is None
    for bad in ("local:0", "local:two", "local:"):
        with pytest.raises(ClusterError, match="local:N"):
            local_workers(bad)
