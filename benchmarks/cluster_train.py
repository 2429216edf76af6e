"""Single-machine against Dask training on one claims file: PR-AUC on the untouched hospitals.

Runs ``yibao train`` three ways on the same claims, split seed and rounds, each
registered in a private MLflow store:

* ``single``: one machine, the features over all claims (the default);
* ``by-area``: one machine, the features per hospital area (``--by-area``);
* ``dask``: ``--dask local:N``, the features per area on N worker processes and
  LightGBM's data-parallel learner (repeated ``--dask-runs`` times).

It prints, per run, the untouched hospitals' claim PR-AUC, the rules-only
baseline's, the best iteration and the stages' seconds, and checks that every
run held out the same hospitals. ``--heldout`` also evaluates each model on
another world's claims with ``yibao evaluate`` (features over all claims, as the
stream computes them). ``--features`` also compares the two feature
folds claim by claim: per feature, the share of claims whose value changes when
the features are computed per area::

    .venv/bin/yibao simulate --seed 6 --claims 100000 -o /tmp/c100k.jsonl
    .venv/bin/python benchmarks/cluster_train.py --data /tmp/c100k.jsonl --features

Timings on a shared machine are noisy; the PR-AUCs are the point.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def _yibao(var: Path, what: str, *args: str) -> str:
    """``yibao ARGS`` with its store in ``var``; what it printed, or exit naming ``what``."""
    env = {**os.environ, "DATA_DIR": str(var)}
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-m", "yibao.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{what}: {done.stderr[-3000:]}")
    return done.stdout


def _train(data: Path, var: Path, name: str, rounds: int, seed: int, *extra: str) -> dict[str, Any]:
    args = ["train", "--data", str(data), "--model-name", name, "--max-rounds", str(rounds)]
    out = _yibao(var, name, *args, "--seed", str(seed), *extra)
    version = re.search(r"model_uri: models:/[^/]+/(\d+)", out)
    assert version, out
    return {"uri": f"models:/{name}/{version.group(1)}", **_run_of(var, name, version.group(1))}


def _evaluate(heldout: Path, var: Path, uri: str) -> float:
    """The model's claim PR-AUC on another world's claims (their features over all claims,
    as batch scoring and the stream compute them)."""
    args = ["evaluate", "--data", str(heldout), "--model", uri, "--json"]
    out = _yibao(var, f"evaluate {uri}", *args)
    return round(float(json.loads(out.splitlines()[-1])["claim_pr_auc"]), 4)


def _run_of(var: Path, name: str, version: str) -> dict[str, Any]:
    import mlflow

    from models.registry import UNTOUCHED_TAG
    from models.tracking import configure_tracking

    configure_tracking(f"sqlite:///{var / 'mlflow.db'}", var)
    client = mlflow.MlflowClient()
    run = client.get_run(client.get_model_version(name, version).run_id)
    m = run.data.metrics
    return {
        "test_pr_auc": round(m["test_claim_pr_auc"], 4),
        "rules_pr_auc": round(m["test_rules_only_claim_pr_auc"], 4),
        "valid_pr_auc": round(m["valid_claim_pr_auc"], 4),
        "best_iteration": int(m["best_iteration"]),
        "seconds": {
            k.removeprefix("seconds_"): round(v, 1)
            for k, v in m.items()
            if k.startswith("seconds_")
        },
        "untouched": run.data.tags[UNTOUCHED_TAG][:12],
    }


def feature_differences(data: Path) -> dict[str, float]:
    """Per feature, the share of claims whose value differs between the two folds."""
    from detection.features import FEATURE_NAMES
    from models.featurefile import build_feature_table

    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        whole = build_feature_table(data, None, None, Path(a)).matrix()
        by_area = build_feature_table(data, None, None, Path(b), by_area=True).matrix()
    same = np.isclose(whole, by_area, rtol=1e-6, atol=0, equal_nan=True)
    share = 1.0 - same.mean(axis=0)
    rows = {"any_feature": round(float(1.0 - same.all(axis=1).mean()), 4)}
    for j in np.argsort(-share):
        rows[FEATURE_NAMES[j]] = round(float(share[j]), 4)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-rounds", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dask-runs", type=int, default=1)
    parser.add_argument("--features", action="store_true", help="compare the feature folds")
    parser.add_argument("--skip", default="", help="comma-separated runs to leave out")
    parser.add_argument("--heldout", type=Path, help="another world's claims to evaluate on")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    with tempfile.TemporaryDirectory(prefix="cluster-train-") as tmp:
        var = Path(tmp) / "var"
        plain = (args.data, var)
        common = (args.max_rounds, args.seed)
        runs: dict[str, dict[str, Any]] = {}
        if "single" not in skip:
            runs["single"] = _train(*plain, "single", *common)
        if "by-area" not in skip:
            runs["by-area"] = _train(*plain, "by-area", *common, "--by-area")
        for i in range(args.dask_runs):
            runs[f"dask-{i + 1}"] = _train(
                *plain, "dask", *common, "--dask", f"local:{args.workers}"
            )
        for name, run in runs.items():
            if args.heldout:
                run["heldout_pr_auc"] = _evaluate(args.heldout, var, run["uri"])
            print(json.dumps({"run": name, **run}))
        print(
            json.dumps(
                {"same_untouched_hospitals": len({r["untouched"] for r in runs.values()}) == 1}
            )
        )
    if args.features:
        print(
            json.dumps(
                {"share_of_claims_whose_feature_differs_by_area": feature_differences(args.data)}
            )
        )


if __name__ == "__main__":
    main()
