"""The model lifecycle against a real MLflow sqlite store: train, evaluate, score, promote."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detection.features import FEATURE_VERSION

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
MODEL_EVAL_KEYS = {"ece", "flagged_share", "threshold"}


def _write(path: Path, claims: list[dict], broken: int = 0) -> Path:
    with open(path, "w") as fh:
        for c in claims:
            fh.write(json.dumps(c) + "\n")
        for i in range(broken):
            fh.write(json.dumps({"claim_id": f"bad{i}", "claim_type": "inpatient"}) + "\n")
    return path


def _simulate(path: Path, seed: int, claims: int) -> list[dict]:
    _cli("simulate", "--seed", str(seed), "--claims", str(claims), "-o", str(path))
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def env(tmp_path_factory, monkeypatch_module=None):
    from yibao.settings import get_settings

    root = tmp_path_factory.mktemp("mlflow")
    mp = pytest.MonkeyPatch()
    mp.setenv("DATA_DIR", str(root / "var"))
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    mp.setenv("MODEL_NAME", "test-fraud")
    get_settings.cache_clear()
    # The simulator's worlds, where the model beats the rules on unseen hospitals (in
    # tests.claimgen's small world it does not, and is then never made champion).
    train_claims = _simulate(root / "train.jsonl", seed=1, claims=3000)
    test_claims = _simulate(root / "test.jsonl", seed=2, claims=2500)
    paths = {
        "train": root / "train.jsonl",
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
    assert set(result) >= EVAL_KEYS | MODEL_EVAL_KEYS
    assert result["skipped"] == 3 and result["claims"] == 2500
    assert 0 <= result["ece"] <= 1 and 0 < result["threshold"] < 1
    flagged = sum(s >= result["threshold"] for s in _scores(env, "eval-scores.jsonl"))
    assert result["flagged_share"] == pytest.approx(flagged / 2500)
    assert set(result["baselines"]) == {"rules_only", "logistic_regression", "isolation_forest"}
    for row in result["baselines"].values():
        assert set(row) >= EVAL_KEYS
    assert result["baselines_fitted_on"] == "training data of the model's run"
    assert 0 < result["claim_pr_auc"] <= 1
    claims = [json.loads(line) for line in env["test"].read_text().splitlines()[:2500]]
    schemes = {c["fraud_type"] for c in claims if c.get("is_fraud")}
    assert set(result["per_scheme"]) == schemes and len(schemes) >= 3
    for row in result["per_scheme"].values():
        assert set(row) == {"ap", "recall_at_capacity", "claims"}
        assert 0 < row["ap"] <= 1 and 0 <= row["recall_at_capacity"] <= 1
    assert sum(r["claims"] for r in result["per_scheme"].values()) == round(
        result["fraud_rate"] * result["claims"]
    )
    for field in ("per_region", "per_level"):
        rows = result[field]
        assert sum(r["claims"] for r in rows.values()) == result["claims"]
        for row in rows.values():
            assert set(row) == {"ap", "recall_at_capacity", "claims", "positives"}
    assert set(result["per_level"]) <= {"1", "2", "3"}


def test_evaluate_reports_audit_rules_model_and_both(env, trained) -> None:
    path = env["root"] / "violations.jsonl"
    _cli("simulate", "--seed", "3", "--claims", "2000", "--rule-violation-rate", "0.1",
         "-o", str(path))  # fmt: skip
    claims = [json.loads(line) for line in path.read_text().splitlines()]
    out = _cli("evaluate", "--data", str(path), "--json", "--capacity", "0.05")
    audit = json.loads(out.stdout)["audit_rules"]
    violated = sum(1 for c in claims if c.get("rule_violations"))
    assert audit["rule_violations"] == violated > 50
    assert audit["positives"] == violated + sum(1 for c in claims if c["is_fraud"])
    plans = ("audit_rules_only", "model_only", "audit_rules_and_model")
    budget = round(0.05 * len(claims))
    for plan in plans:
        row = audit[plan]
        assert row["reviewed"] <= budget
        assert float(row["amount_at_stake_recovered"]) <= float(row["amount_at_stake_total"])
    rules, model, both = (audit[p] for p in plans)
    assert model["reviewed"] == budget and model["claims_selected"] == budget
    # certain hits cost no review, so both plans with rules select them beside the budget
    assert rules["claims_selected"] >= audit["claims_with_certain_hits"]
    assert both["claims_selected"] == audit["claims_with_certain_hits"] + budget
    assert both["positives_found"] >= model["positives_found"]
    text = _cli("evaluate", "--data", str(path), "--capacity", "0.05").output
    assert "audit_rules_and_model" in text and "at stake recovered" in text


def test_evaluation_is_logged_to_mlflow(env, trained) -> None:
    from mlflow import MlflowClient

    out = _cli("evaluate", "--data", str(env["test"]), "--json", "--experiment", "it")
    result = json.loads(out.stdout)
    run = MlflowClient().get_run(result["mlflow_run_id"])
    metrics = run.data.metrics
    for scheme, row in result["per_scheme"].items():
        assert metrics[f"ap.{scheme}"] == pytest.approx(row["ap"])
        assert metrics[f"recall_at_capacity.{scheme}"] == pytest.approx(row["recall_at_capacity"])
    for level, row in result["per_level"].items():
        assert metrics[f"claims.level.{level}"] == row["claims"]
    assert metrics["claim_pr_auc"] == pytest.approx(result["claim_pr_auc"])
    assert metrics["rules_only.claim_pr_auc"] == pytest.approx(
        result["baselines"]["rules_only"]["claim_pr_auc"]
    )
    assert run.data.tags["model"] == "test-fraud/1"
    assert run.data.tags["data_sha256"] == result["data_sha256"]
    assert run.info.run_name == "evaluate-test-fraud-v1-test"


def test_labels_naming_no_claim_are_reported_masked(env, trained) -> None:
    from yibao.cli import app

    test_claims = [json.loads(line) for line in env["test"].read_text().splitlines()[:2]]
    person_id = test_claims[0]["patient"]["person_id"]
    labels = env["root"] / "labels.jsonl"
    rows = [
        {"claim_id": test_claims[1]["claim_id"], "is_fraud": True, "fraud_type": "upcoding"},
        {"claim_id": f"OLD-{person_id}-1", "is_fraud": True, "fraud_type": "upcoding"},
        {"claim_id": "OLD-2", "is_fraud": False, "fraud_type": None},
    ]
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = CliRunner().invoke(
        app, ["evaluate", "--data", str(env["test"]), "--labels", str(labels), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert "warning: 2 label rows match no claim of the data file" in result.stderr
    assert "OLD-2" in result.stderr
    assert person_id not in result.output
    assert f"OLD-{person_id[:6]}" in result.stderr
    evaluation = json.loads(result.stdout)
    assert evaluation["unmatched_labels"] == 2


def _scores(env, name: str, *extra: str) -> list[float]:
    path = env["root"] / name
    _cli("score", "--data", str(env["test"]), "-o", str(path), *extra)
    return [json.loads(line)["fraud_score"] for line in path.read_text().splitlines()]


def test_cross_fitted_scores_come_from_models_not_fitted_on_the_claims(env, trained) -> None:
    path = env["root"] / "crossfit.jsonl"
    _cli("score", "--data", str(env["train"]), "-o", str(path), "--cross-fit", "3")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) == 3000
    assert {r["model_version"] for r in records} == {"test-fraud/1 (cross-fitted)"}
    plain = env["root"] / "plain.jsonl"
    _cli("score", "--data", str(env["train"]), "-o", str(plain))
    in_sample = {
        r["claim_id"]: r["fraud_score"] for r in map(json.loads, plain.read_text().splitlines())
    }
    common = [r for r in records if r["claim_id"] in in_sample]
    # the model has learnt its training claims: out of fold they score differently
    assert sum(r["fraud_score"] != in_sample[r["claim_id"]] for r in common) > len(common) / 2


def test_the_training_data_does_not_drift_from_itself(env, trained) -> None:
    out = _cli("models", "drift", str(env["train"]), "--json")
    result = json.loads(out.stdout)
    assert result["model"] == "test-fraud/1" and result["threshold"] == 0.2
    assert result["drifted"] == [] and max(result["psi"].values()) < 1e-6


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
    from models.errors import ModelError, PromotionRefused
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
    assert back.compared_on == "the untouched hospitals of test-fraud/1"
    assert back.challenger_pr_auc > back.rules_pr_auc
    rows = {r["version"]: r["aliases"] for r in list_versions("test-fraud")}
    assert rows == {"2": ["challenger"], "1": ["champion"]}
    # A file either model was trained on is no fair ground for a comparison.
    with pytest.raises(ModelError, match="is the file test-fraud/2 was trained on"):
        promote("test-fraud", "2", heldout=_heldout(env["train"]))
    # A model worse than the rules is not promoted on independent claims either.
    with pytest.raises(PromotionRefused, match="does not beat"):
        promote("test-fraud", "2", heldout=_heldout(env["test"]))
    out = _cli("models", "list")
    assert "test-fraud/1" in out.output and "champion" in out.output


def _heldout(path: Path):
    from yibao.commands.model_registry import _heldout_file

    return _heldout_file(path)


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
    assert {"calibration.png", "model_card.md", "drift"} <= names
    card = Path(client.download_artifacts(mv.run_id, "model_card.md")).read_text()
    assert expected in card and str(FEATURE_VERSION) in card
    assert "## Per fraud scheme" in card and "## Known limits" in card
    assert {"test_ece", "test_flagged_share"} <= set(run.data.metrics)
    # The weight logged is the registered (refitted) booster's: every claim but the
    # untouched hospitals' (stored with the run, labels included).
    from models.registry import HELDOUT_ARTIFACT, load_run_npz

    params = run.data.params
    untouched_fraud = int(load_run_npz(mv.run_id, HELDOUT_ARTIFACT)["y"].sum())
    fit_claims = int(params["claims"]) - int(params["untouched_claims"])
    fit_fraud = int(params["fraud_claims"]) - untouched_fraud
    assert params["refit_on_train_and_valid"] == "True"
    assert float(params["scale_pos_weight"]) == round((fit_claims - fit_fraud) / fit_fraud, 4)
    assert {"valid_claim_pr_auc", "test_claim_pr_auc", "test_rules_only_claim_pr_auc"} <= set(
        run.data.metrics
    )
    # Named and tagged so that runs line up in the UI's comparison.
    assert re.fullmatch(r"train-\d{8}-\d{8}-seed7", run.info.run_name)
    assert run.data.tags["seed"] == "7"
    assert run.data.tags["feature_version"] == str(FEATURE_VERSION)
    assert run.data.tags["yibao.stage"] == "train"
    # MLflow 3's UI opens the experiment in its model-training view, not the GenAI one.
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_models_list_shows_untouched_hospitals_metric(env, trained) -> None:
    from mlflow import MlflowClient

    rows = {r["version"]: r for r in json.loads(_cli("models", "list", "--json").stdout)}
    run = MlflowClient().get_run(rows["1"]["run_id"])
    assert rows["1"]["test_claim_pr_auc"] == run.data.metrics["test_claim_pr_auc"]
    assert "valid_claim_pr_auc" not in rows["1"]
    text = _cli("models", "list").output
    assert f"untouched_pr_auc={run.data.metrics['test_claim_pr_auc']:.4f}" in text


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


def test_a_model_of_another_feature_version_is_refused(env, trained, monkeypatch) -> None:
    """Same feature names, another meaning: the version bump alone makes it unloadable."""
    import models.registry as registry
    from models.errors import ModelError

    assert registry.load_model("models:/test-fraud/1").feature_version == str(FEATURE_VERSION)
    monkeypatch.setattr(registry, "FEATURE_VERSION", f"{FEATURE_VERSION}-next")
    with pytest.raises(ModelError, match="retrain it with `yibao train`"):
        registry.load_model("models:/test-fraud/1")
