"""Scoring throughput: features + batch prediction against a bare Booster.predict.

Usage: ``python benchmarks/score.py [--claims N] [--train-claims N] [--trees N]``. Prints
claims/s for (a) the feature fold alone, (b) features + batch prediction
through the compiled model the stream scores with (``models.compiled``),
(c) bare ``Booster.predict`` on a ready numpy matrix of the same rows, the
ratio (b)/(c), the same ratio with ``Booster.predict`` in (b) (the path
before compiling, and the fallback), the compile time, one claim at a time
with either predictor, and the cost of ``pred_contrib`` relative to plain
prediction. Numbers are noisy on a shared machine; nothing here asserts a
threshold.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=50_000)
    parser.add_argument("--train-claims", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--trees",
        type=int,
        default=None,
        help="a model of exactly this many trees (no early stopping); the ratio to bare"
        " prediction falls as trees are added, so runs compare at one size",
    )
    args = parser.parse_args()

    from detection.features import FeatureState
    from models.compiled import compile_booster
    from models.data import parse_lines
    from models.matrix import featurize, labels_of, to_matrix
    from models.train import fit_booster, split_by_hospital
    from simulator.config import SimConfig
    from simulator.generate import simulate_lines

    train = parse_lines(list(simulate_lines(SimConfig(seed=args.seed, claims=args.train_claims))))
    ordered, _, X = featurize(train.facts, period=True)
    y = labels_of(ordered)
    tr, va = split_by_hospital([f.hospital_id for f in ordered], 0.25, 7)
    if args.trees:
        booster = fit_booster(X[tr], y[tr], None, None, rounds=args.trees)
    else:
        booster = fit_booster(X[tr], y[tr], X[va], y[va])  # production settings
    print(f"model: {booster.num_trees()} trees, {X.shape[1]} features", flush=True)
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="yibao-bench-") as cache:
        compiled = compile_booster(booster, Path(cache))
    t_compile = time.perf_counter() - t
    if compiled is None:
        raise SystemExit("the model could not be compiled (see the warning above)")

    lines = list(simulate_lines(SimConfig(seed=args.seed + 1, claims=args.claims)))
    t = time.perf_counter()
    facts = parse_lines(lines).facts
    t_parse = time.perf_counter() - t
    facts.sort(key=lambda c: c.sort_key)
    n = len(facts)

    t = time.perf_counter()
    state = FeatureState()
    feats = [state.update_and_features(c) for c in facts]
    t_features = time.perf_counter() - t
    t = time.perf_counter()
    M = to_matrix(feats)
    scores = compiled.predict(M)
    t_predict_path = time.perf_counter() - t
    t_pipeline = t_features + t_predict_path
    t = time.perf_counter()
    M = to_matrix(feats)
    booster_scores = booster.predict(M)
    t_booster_path = time.perf_counter() - t

    t = time.perf_counter()
    bare = booster.predict(M)
    t_bare = time.perf_counter() - t
    assert (bare == booster_scores).all()
    assert abs(bare - scores).max() <= 1e-6
    t = time.perf_counter()
    booster.predict(M, pred_contrib=True)
    t_contrib = time.perf_counter() - t
    singles = M[: min(n, 2000)]
    t = time.perf_counter()
    for i in range(len(singles)):
        booster.predict(singles[i : i + 1], num_threads=1)
    t_one_booster = (time.perf_counter() - t) / len(singles)
    t = time.perf_counter()
    for i in range(len(singles)):
        compiled.predict(singles[i : i + 1])
    t_one_compiled = (time.perf_counter() - t) / len(singles)

    result = {
        "claims": n,
        "parse_claims_per_s": round(n / t_parse),
        "features_claims_per_s": round(n / t_features),
        "features_plus_predict_claims_per_s": round(n / t_pipeline),
        "bare_predict_claims_per_s": round(n / t_bare),
        "ratio_pipeline_to_bare_predict": round(t_pipeline / t_bare, 2),
        "ratio_matrix_and_predict_to_bare_predict": round(t_predict_path / t_bare, 2),
        "ratio_pipeline_booster_to_bare_predict": round((t_features + t_booster_path) / t_bare, 2),
        "compile_seconds": round(t_compile, 1),
        "one_claim_booster_us": round(t_one_booster * 1e6, 1),
        "one_claim_compiled_us": round(t_one_compiled * 1e6, 1),
        "pred_contrib_cost_vs_predict": round(t_contrib / t_bare, 2),
    }
    for key, value in result.items():
        print(f"{key:42s} {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
