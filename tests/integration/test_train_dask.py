"""`yibao train --dask local:2`: features per area on two Dask worker processes, LightGBM's
data-parallel learner, the model registered in a real MLflow store and scored like any other.

The single-machine run it is compared with computes the same features (`--by-area`) on
the same claims and holds out the same hospitals, so the two models differ only in how
LightGBM trained them (bins found per worker, bagging per worker).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.cli import yibao_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROUNDS = "60"  # enough trees to rank; the comparison holds at any number of rounds


def _pr_auc(output: str) -> float:
    found = re.search(r"untouched hospitals: PR-AUC ([0-9.]+)", output)
    assert found, output[-2000:]
    return float(found.group(1))


def test_dask_training_registers_a_model_that_ranks_like_the_single_machine_one(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "var"),
        # one LightGBM thread a process: two workers and the driver share this machine
        "OMP_NUM_THREADS": "1",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    yibao = yibao_in(tmp_path, env)
    yibao("simulate", "--seed", "3", "--claims", "4000", "-o", "claims.jsonl")
    common = ["train", "--data", "claims.jsonl", "--max-rounds", ROUNDS]
    single = _pr_auc(yibao(*common, "--model-name", "single", "--by-area"))
    out = yibao(*common, "--model-name", "spread", "--dask", "local:2")
    spread = _pr_auc(out)
    assert "models:/spread/1" in out

    import mlflow

    from models.registry import UNTOUCHED_TAG, load_model
    from models.score import Scorer
    from models.tracking import configure_tracking

    var = tmp_path / "var"
    configure_tracking(f"sqlite:///{var / 'mlflow.db'}", var)
    client = mlflow.MlflowClient()
    runs = {
        name: client.get_run(client.get_model_version(name, "1").run_id)
        for name in ("single", "spread")
    }
    # the same claims and the same untouched hospitals
    assert runs["spread"].data.tags[UNTOUCHED_TAG] == runs["single"].data.tags[UNTOUCHED_TAG]
    params = runs["spread"].data.params
    assert params["features_by_area"] == "True"
    assert (params["dask_workers"], params["dask_areas"]) == ("2", "5")
    metrics = runs["spread"].data.metrics
    assert metrics["test_claim_pr_auc"] == pytest.approx(spread, abs=1e-4)
    # Data-parallel LightGBM bins and bags per worker and Dask does not fix the workers'
    # ranks, so two runs differ; at 4,000 claims they landed 0.002-0.008 from the
    # single-machine model (5 runs). The 0.01 is measured at 100k claims by
    # benchmarks/cluster_train.py (docs/data-scientist-guide.md); here the bound leaves
    # room for that noise and still fails a model that ranks unlike the single one.
    assert abs(spread - single) <= 0.03, (spread, single)

    # a plain LightGBM model: the stream's Scorer loads and scores with it
    model = load_model("models:/spread/1")
    assert model.booster.num_trees() >= 1
    from detection.facts import facts_from_claim
    from models.data import bundled_book
    from settlement.claim import parse_claim
    from settlement.jsonio import decode_claim

    scorer = Scorer(model)
    lines = (tmp_path / "claims.jsonl").read_bytes().splitlines()[:50]
    claims = [parse_claim(decode_claim(line), bundled_book()).claim for line in lines]
    records = [scorer.score_next(facts_from_claim(c)) for c in claims if c is not None]
    assert len(records) >= 40
    assert all(0.0 <= r["fraud_score"] <= 1.0 for r in records)
    assert {r["model_version"] for r in records} == {"spread/1"}
