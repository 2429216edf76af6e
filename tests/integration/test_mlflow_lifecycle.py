"""The model lifecycle against a real MLflow sqlite store: train, evaluate, score, promote."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.claimgen import generate

pytestmark = pytest.mark.integration

ID_NUMBER = re.compile(rb"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
EVAL_KEYS = {
    "claims",
    "fraud_rate",
    "claim_pr_auc",
    "claim_roc_auc",
    "hospital_pr_auc",
    "hospital_precision_at_10",
    "precision_at_capacity",
    "recall_at_capacity",
    "skipped",
}


def _write(path: Path, claims: list[dict], broken: int = 0) -> Path:
    with open(path, "w") as fh:
        for c in claims:
            fh.write(json.dumps(c) + "\n")
        for i in range(broken):
            fh.write(json.dumps({"claim_id": f"bad{i}", "claim_type": "inpatient"}) + "\n")
    return path


@pytest.fixture(scope="module")
def env(tmp_path_factory, monkeypatch_module=None):
    from yibao.settings import get_settings

    root = tmp_path_factory.mktemp("mlflow")
    mp = pytest.MonkeyPatch()
    mp.setenv("DATA_DIR", str(root / "var"))
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    mp.setenv("MODEL_NAME", "test-fraud")
    get_settings.cache_clear()
    train_claims = generate(seed=21, claims=3000, hospitals=40, fraud_hospitals=10)
    test_claims = generate(seed=22, claims=2500, hospitals=40, fraud_hospitals=10)
    paths = {
        "train": _write(root / "train.jsonl", train_claims),
        "test": _write(root / "test.jsonl", test_claims, broken=3),
        "root": root,
    }
    paths["person_ids"] = {c["patient"]["person_id"] for c in train_claims + test_claims}
    yield paths
    mp.undo()
    get_settings.cache_clear()


def _cli(*args: str):
    from yibao.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def trained(env):
    out = _cli("train", "--data", str(env["train"]), "--experiment", "it")
    return out.output


def test_train_prints_run_and_model(trained) -> None:
    assert re.search(r"run_id: [0-9a-f]{32}", trained)
    assert "model_uri: models:/test-fraud/1" in trained
    assert "challenger, champion" in trained


def test_evaluate_json(env, trained) -> None:
    out = _cli("evaluate", "--data", str(env["test"]), "--json", "--capacity", "0.05")
    result = json.loads(out.stdout)
    assert set(result) >= EVAL_KEYS
    assert result["skipped"] == 3 and result["claims"] == 2500
    assert set(result["baselines"]) == {"rules_only", "logistic_regression", "isolation_forest"}
    for row in result["baselines"].values():
        assert set(row) >= EVAL_KEYS
    assert result["baselines_fitted_on"] == "training data of the model's run"
    assert 0 < result["claim_pr_auc"] <= 1


def test_score_writes_records(env, trained) -> None:
    out_path = env["root"] / "scores.jsonl"
    hosp_path = env["root"] / "hospitals.jsonl"
    _cli("score", "--data", str(env["test"]), "-o", str(out_path), "--hospitals", str(hosp_path))
    records = [json.loads(line) for line in out_path.read_text().splitlines()]
    assert len(records) == 2500
    assert {r["model_version"] for r in records} == {"test-fraud/1"}
    assert sum(r["flagged"] for r in records) > 0
    table = [json.loads(line) for line in hosp_path.read_text().splitlines()]
    assert table[0]["rank"] == 1


def test_promotion_needs_a_better_model(env, trained) -> None:
    from models.errors import PromotionRefused
    from models.registry import list_versions, promote
    from models.train import train
    from yibao.settings import get_settings

    settings = get_settings()
    weak = train(
        env["train"],
        experiment="it",
        model_name="test-fraud",
        tracking_uri=settings.tracking_uri(),
        local_store=settings.data_dir,
        params={"num_leaves": 2, "learning_rate": 0.001},
        rounds=2,
        early_stopping=1,
    )
    assert weak.version == "2" and weak.aliases == ["challenger"]
    with pytest.raises(PromotionRefused, match="does not beat champion 1"):
        promote("test-fraud", "2")
    forced = promote("test-fraud", "2", force=True)
    assert forced.promoted and forced.forced
    # Version 1 beats the (forced) champion 2 on the same held-out rows of its run.
    back = promote("test-fraud", "1")
    assert back.promoted and back.challenger_pr_auc > back.champion_pr_auc
    rows = {r["version"]: r["aliases"] for r in list_versions("test-fraud")}
    assert rows == {"2": ["challenger"], "1": ["champion"]}
    out = _cli("models", "list")
    assert "test-fraud/1" in out.output and "champion" in out.output


def test_cli_promote_refusal_exits_nonzero(env, trained) -> None:
    from yibao.cli import app

    result = CliRunner().invoke(app, ["models", "promote", "2"])
    assert result.exit_code == 1
    assert "does not beat champion" in result.output


def test_run_records_fingerprint_and_artifacts(env, trained) -> None:
    import hashlib

    from mlflow import MlflowClient

    from models.tracking import configure_tracking
    from yibao.settings import get_settings

    configure_tracking(get_settings().tracking_uri())
    client = MlflowClient()
    mv = client.get_model_version("test-fraud", "1")
    run = client.get_run(mv.run_id)
    expected = hashlib.sha256(env["train"].read_bytes()).hexdigest()
    assert run.data.tags["data_sha256"] == expected
    assert run.data.params["data_sha256"] == expected
    names = {a.path for a in client.list_artifacts(mv.run_id)}
    assert {"feature_importance.png", "precision_recall.png", "features.json"} <= names
    assert "valid_claim_pr_auc" in run.data.metrics


def test_no_identity_number_in_any_artifact(env, trained) -> None:
    import mlflow

    from models.tracking import configure_tracking
    from yibao.settings import get_settings

    configure_tracking(get_settings().tracking_uri())
    client = mlflow.MlflowClient()
    ids = [pid.encode() for pid in env["person_ids"]]
    scanned = 0
    for exp in client.search_experiments():
        for run in client.search_runs([exp.experiment_id]):
            local = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id))
            texts = [json.dumps(run.data.params), json.dumps(run.data.tags)]
            for f in local.rglob("*"):
                if f.is_file():
                    scanned += 1
                    blob = f.read_bytes()
                    assert not ID_NUMBER.search(blob), f
                    assert not any(pid in blob for pid in ids), f
            for text in texts:
                assert not ID_NUMBER.search(text.encode())
    assert scanned >= 8
