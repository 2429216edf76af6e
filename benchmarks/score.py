"""Scoring throughput: features + batch prediction against a bare Booster.predict.

Usage: ``python benchmarks/score.py [--claims N] [--train-claims N]``. Prints
claims/s for (a) the feature fold alone, (b) features + batch prediction,
(c) bare ``Booster.predict`` on a ready numpy matrix of the same rows, the
ratio (b)/(c), and the cost of ``pred_contrib`` relative to plain prediction.
Numbers are noisy on a shared machine; nothing here asserts a threshold.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=50_000)
    parser.add_argument("--train-claims", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    from detection.features import FeatureState
    from models.data import parse_lines
    from models.matrix import featurize, labels_of, to_matrix
    from models.train import fit_booster, split_by_hospital
    from simulator.config import SimConfig
    from simulator.generate import simulate_lines

    train = parse_lines(list(simulate_lines(SimConfig(seed=args.seed, claims=args.train_claims))))
    ordered, _, X = featurize(train.facts)
    y = labels_of(ordered)
    tr, va = split_by_hospital([f.hospital_id for f in ordered], 0.25, 7)
    booster = fit_booster(X[tr], y[tr], X[va], y[va])  # production settings
    print(f"model: {booster.num_trees()} trees, {X.shape[1]} features")

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
    scores = booster.predict(M)
    t_predict_path = time.perf_counter() - t
    t_pipeline = t_features + t_predict_path

    t = time.perf_counter()
    bare = booster.predict(M)
    t_bare = time.perf_counter() - t
    assert (bare == scores).all()
    t = time.perf_counter()
    booster.predict(M, pred_contrib=True)
    t_contrib = time.perf_counter() - t

    result = {
        "claims": n,
        "parse_claims_per_s": round(n / t_parse),
        "features_claims_per_s": round(n / t_features),
        "features_plus_predict_claims_per_s": round(n / t_pipeline),
        "bare_predict_claims_per_s": round(n / t_bare),
        "ratio_pipeline_to_bare_predict": round(t_pipeline / t_bare, 2),
        "ratio_matrix_and_predict_to_bare_predict": round(t_predict_path / t_bare, 2),
        "pred_contrib_cost_vs_predict": round(t_contrib / t_bare, 2),
    }
    for key, value in result.items():
        print(f"{key:42s} {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
