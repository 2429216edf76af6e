"""The compiled predictor (models/compiled.py) scores exactly as Booster.predict, or steps aside."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.compiled import compile_booster
from models.matrix import featurize, labels_of
from models.registry import LoadedModel
from models.train import fit_booster
from tests.model.facts import facts_of

pytest.importorskip("lleaves")

ROWS = 100_000


@pytest.fixture(scope="module")
def realistic(world: list[dict]) -> tuple[LoadedModel, np.ndarray]:
    """A model of production shape (300 trees of 31 leaves, monotone constraints) and 100,000 rows.

    The rows are the world's 4,000 claims' feature rows, then rows whose every
    column is drawn from that column's values over those claims: the values real
    claims take, in combinations the trees have not seen.
    """
    ordered, _, X = featurize(facts_of(world))
    y = labels_of(ordered)
    booster = fit_booster(X, y, None, None, rounds=300)
    rng = np.random.default_rng(3)
    drawn = np.column_stack([rng.choice(X[:, j], size=ROWS - len(X)) for j in range(X.shape[1])])
    model = LoadedModel(
        booster=booster, threshold=0.5, label="test/compiled", run_id=None, feature_version="test"
    )
    return model, np.vstack([X, drawn])


def test_compiled_scores_equal_booster_predict_on_100000_claims(realistic, tmp_path) -> None:
    model, rows = realistic
    expected = model.predict(rows)  # Booster.predict
    assert model.compile(tmp_path)
    assert model.compiled is not None
    scores = model.predict(rows)
    assert scores.shape == expected.shape == (ROWS,)
    assert np.max(np.abs(scores - expected)) <= 1e-6
    # one claim at a time, as the stream scores its small batches
    for i in range(0, ROWS, 997):
        single = model.predict(rows[i : i + 1])
        assert abs(float(single[0]) - float(expected[i])) <= 1e-6


def test_a_compiled_model_is_cached_per_model_and_loaded_again(quick_model, tmp_path) -> None:
    first = compile_booster(quick_model.booster, tmp_path)
    assert first is not None
    cached = tmp_path / f"{first.key}.o"
    written = cached.stat().st_mtime_ns
    again = compile_booster(quick_model.booster, tmp_path)
    assert again is not None and again.key == first.key
    assert cached.stat().st_mtime_ns == written  # loaded, not compiled again
    assert [p.name for p in tmp_path.iterdir()] == [cached.name]  # no staging file left
    X = np.random.default_rng(1).standard_normal((50, quick_model.booster.num_feature()))
    assert np.max(np.abs(again.predict(X) - quick_model.booster.predict(X))) <= 1e-9


def test_when_compiling_fails_booster_predict_scores_and_it_is_logged_once(
    quick_model, tmp_path, caplog
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    model = LoadedModel(
        booster=quick_model.booster,
        threshold=0.5,
        label="test/fallback",
        run_id=None,
        feature_version="test",
    )
    X = np.random.default_rng(2).standard_normal((20, quick_model.booster.num_feature()))
    before = model.predict(X)
    with caplog.at_level(logging.WARNING, logger="models.compiled"):
        assert not model.compile(blocked / "cache")  # cannot create the cache folder
        assert not model.compile(blocked / "cache")
    assert model.compiled is None
    assert np.array_equal(model.predict(X), before)
    warnings = [r for r in caplog.records if r.name == "models.compiled"]
    assert len(warnings) == 1
    assert "scoring with Booster.predict" in warnings[0].getMessage()


def test_without_lleaves_booster_predict_scores(tmp_path: Path) -> None:
    """An installation without the compiler (lleaves) scores the same, and says so once."""
    script = f"""
import logging, sys
import numpy as np
sys.modules["lleaves"] = None  # as if it were not installed
logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s")
import lightgbm as lgb
from models.compiled import compile_booster
rng = np.random.default_rng(0)
X = rng.standard_normal((400, 4))
booster = lgb.train({{"objective": "binary", "verbose": -1}},
                    lgb.Dataset(X, (X[:, 0] > 0).astype(int)), num_boost_round=5)
assert compile_booster(booster, __import__("pathlib").Path({str(tmp_path)!r})) is None
assert compile_booster(booster, __import__("pathlib").Path({str(tmp_path)!r})) is None
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("models.compiled")]
    assert len(said) == 1 and "lleaves is not installed" in said[0]
    assert list(tmp_path.iterdir()) == []


def test_values_lightgbm_reads_as_zero_score_as_zero(tmp_path: Path) -> None:
    """Booster.predict reads any |x| <= 1e-35 (its float kZeroThreshold) as 0; so must we.

    Trees that split negatives from zeros put the threshold at -1e-35 itself,
    where the compiled comparison would otherwise send the row the other way.
    """
    import lightgbm as lgb

    rng = np.random.default_rng(4)
    x = rng.choice([-1.0, 0.0, 1.0], size=(600, 1)) * rng.uniform(0.5, 2.0, size=(600, 1))
    y = (x[:, 0] < 0).astype(int)
    params = {"objective": "binary", "verbose": -1, "min_data_in_leaf": 5, "seed": 1}
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=5)
    assert "-1.0000000180025095e-35" in booster.model_to_string()  # the zero threshold
    compiled = compile_booster(booster, tmp_path)
    assert compiled is not None
    zero = float(np.float32(1e-35))
    rows = np.array([[0.0], [zero], [-zero], [1e-36], [-1e-36], [-1.0], [1.0]])
    assert np.max(np.abs(compiled.predict(rows) - booster.predict(rows))) <= 1e-9


def test_workers_loading_a_model_at_once_compile_it_once(quick_model, tmp_path, caplog) -> None:
    """The processes of ``yibao stream --processes N`` swap to a new champion together:
    one compiles it, the others wait for the cached file (a lock on the cache directory;
    threads here, each with its own lock, as processes have)."""
    import threading

    found: list = []
    caplog.set_level(logging.INFO, logger="models.compiled")

    def load() -> None:
        found.append(compile_booster(quick_model.booster, tmp_path))

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(found) == 3 and all(p is not None for p in found)
    compiled = [r for r in caplog.records if r.getMessage().startswith("compiled the model into")]
    assert len(compiled) == 1
