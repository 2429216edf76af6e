"""Fraud-detection commands: train, evaluate and score; the `models` group is in model_registry.

Heavy libraries (lightgbm, mlflow, sklearn) are imported inside the commands
so that other commands start fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from yibao.failures import MLFLOW, using

if TYPE_CHECKING:
    pass

# The clerks' review capacity, models.metrics.DEFAULT_CAPACITY: repeated here since
# the CLI must start (settle, dip) without numpy, which models.metrics imports.
DEFAULT_CAPACITY = 0.02

DataOpt = Annotated[
    Path, typer.Option("--data", exists=True, dir_okay=False, help="Labelled claims JSONL.")
]
LabelsOpt = Annotated[
    Path | None,
    typer.Option(
        "--labels",
        exists=True,
        dir_okay=False,
        help="Labels JSONL ({claim_id, is_fraud, fraud_type}) overriding the claims' labels.",
    ),
]
ModelOpt = Annotated[
    str | None, typer.Option("--model", help="Model URI; default models:/<name>@champion.")
]
TrackingOpt = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else the store in DATA_DIR).",
    ),
]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


# The model library takes its configuration as arguments; these read it from the
# one settings object (environment) for the commands.


def _local_store(uri: str | None = None) -> Path | None:
    """The folder of a local (SQLite) MLflow store (``uri``, else the settings'), None for
    a tracking server.

    Artifacts of a local store go beside it (``models.tracking.artifact_location``),
    also when MLFLOW_TRACKING_URI names the store (``make demo`` sets it for its
    commands): left to MLflow, they would go to ``./mlruns`` in the working directory.
    """
    if uri is None:
        from yibao.settings import get_settings

        uri = get_settings().tracking_uri()
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///")).parent
    return None


def _tracking(option: str | None) -> str:
    """Point MLflow at the tracking store (``--tracking-uri``, else the settings); return it."""
    from models.tracking import configure_tracking
    from yibao import failures

    uri = failures.tracking_uri(option)
    with using(MLFLOW):
        configure_tracking(uri, _local_store(uri))
    return uri


def _model_name(name: str | None) -> str:
    from yibao.settings import get_settings

    return name or get_settings().model_name


def _book() -> object:
    """The configured policies (POLICIES_DIR, else the bundled ones)."""
    from settlement.policy_loader import load_policy_dir
    from yibao.settings import get_settings

    return load_policy_dir(get_settings().policies_dir)


def train_cmd(
    data: DataOpt,
    labels: LabelsOpt = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment.")] = "yibao-fraud",
    model_name: Annotated[str | None, typer.Option(help="Registered model name.")] = None,
    capacity: Annotated[
        float, typer.Option(help="Share of claims flagged (the clerks' review capacity).")
    ] = DEFAULT_CAPACITY,
    seed: Annotated[int, typer.Option(help="Seed of the hospital split.")] = 7,
    test_share: Annotated[
        float,
        typer.Option(
            min=0.05, max=0.5, help="Share of hospitals no fitting step sees (the untouched slice)."
        ),
    ] = 0.2,
    refit: Annotated[
        bool, typer.Option(help="Refit on all hospitals after early stopping (slower, better).")
    ] = True,
    max_rounds: Annotated[
        int,
        typer.Option(min=1, help="Most boosting rounds (fewer: faster, usually less accurate)."),
    ] = 1000,
    tracking_uri: TrackingOpt = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="SCHEDULER",
            help="Train on a Dask cluster: its scheduler (tcp://host:8786), or local / local:N "
            "for N worker processes here. Features are computed per hospital area on the "
            "workers; the data file must be at the same path on every worker.",
        ),
    ] = None,
    by_area: Annotated[
        bool,
        typer.Option(
            "--by-area",
            help="Compute features per hospital area, as --dask does, on this machine.",
        ),
    ] = False,
) -> None:
    """Train the LightGBM model, log it to MLflow and register it as challenger."""
    from models.errors import ClusterError, ModelError, TrainingDataError
    from models.train import train
    from yibao.settings import get_settings

    uri = _tracking(tracking_uri)
    with using(MLFLOW):  # reach the store before minutes of training, not after
        from models.tracking import ensure_experiment

        ensure_experiment(experiment, _local_store(uri))
    try:
        with using(MLFLOW):
            result = train(
                data,
                labels,
                experiment=experiment,
                model_name=_model_name(model_name),
                tracking_uri=uri,
                local_store=_local_store(uri),
                book=None if dask else _book(),
                capacity=capacity,
                seed=seed,
                test_share=test_share,
                refit=refit,
                rounds=max_rounds,
                by_area=by_area,
                dask=dask,
                policies_dir=get_settings().policies_dir,
            )
    except (TrainingDataError, ModelError, ClusterError) as exc:
        _fail(str(exc))
        return
    typer.echo(f"run_id: {result.run_id}")
    typer.echo(f"model_uri: {result.model_uri}")
    typer.echo(f"aliases: {', '.join(result.aliases)}")
    m = result.metrics
    typer.echo(
        f"untouched hospitals: PR-AUC {m.get('test_claim_pr_auc', float('nan')):.4f} "
        f"(rules only {m.get('test_rules_only_claim_pr_auc', float('nan')):.4f}), "
        f"hospital precision@10 {m.get('test_hospital_precision_at_10', 0):.2f}, "
        f"{result.seconds['total']:.1f}s"
    )
    if not result.beats_rules:
        typer.echo(
            "warning: the model does not beat the rules baseline on its untouched hospitals; "
            "it is registered but not promoted",
            err=True,
        )
    if result.unmatched_labels:
        typer.echo(
            f"warning: {result.unmatched_labels} label rows match no claim of the data file "
            f"and were not used (e.g. {', '.join(result.unmatched_examples)})",
            err=True,
        )


def evaluate_cmd(
    data: DataOpt,
    labels: LabelsOpt = None,
    model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    capacity: Annotated[
        float, typer.Option(help="Share of claims reviewed (the clerks' review capacity).")
    ] = DEFAULT_CAPACITY,
    experiment: Annotated[
        str, typer.Option(help="MLflow experiment the evaluation run is logged to.")
    ] = "yibao-fraud",
    tracking_uri: TrackingOpt = None,
) -> None:
    """Ranking metrics of a model and of the baselines on labelled claims, logged to MLflow."""
    from models.errors import ModelError
    from models.evaluate import evaluate, log_evaluation
    from models.registry import default_uri
    from models.tracking import ensure_experiment

    store = _tracking(tracking_uri)
    try:
        uri = model or default_uri(_model_name(None))
        with using(MLFLOW):
            result = evaluate(data, uri, labels=labels, capacity=capacity, book=_book())
    except ModelError as exc:
        _fail(str(exc))
        return
    with using(MLFLOW):
        experiment_id = ensure_experiment(experiment, _local_store(store))
        result["mlflow_run_id"] = log_evaluation(
            result, data=data, model_uri=uri, experiment_id=experiment_id
        )
    if result["unmatched_labels"]:
        typer.echo(
            f"warning: {result['unmatched_labels']} label rows match no claim of the data "
            f"file and were not used (e.g. {', '.join(result['unmatched_label_examples'])})",
            err=True,
        )
    if as_json:
        typer.echo(json.dumps(result, sort_keys=True))
        return
    keys = (
        "claim_pr_auc",
        "claim_roc_auc",
        "hospital_pr_auc",
        "hospital_precision_at_10",
        "precision_at_capacity",
        "recall_at_capacity",
    )
    typer.echo(
        f"{result['claims']} claims, fraud rate {result['fraud_rate']:.4f}, "
        f"{result['skipped']} skipped"
    )
    typer.echo(f"{'scorer':<22}" + "".join(f"{k:>26}" for k in keys))
    rows = [(result["model"], result), *result["baselines"].items()]
    for name, row in rows:
        cells = "".join(f"{row[k]:>26.4f}" if row[k] is not None else f"{'-':>26}" for k in keys)
        typer.echo(f"{name:<22}{cells}")
    share, ece = result["flagged_share"], result["ece"]
    typer.echo(
        f"threshold {result['threshold']:.4f} flags "
        + ("-" if share is None else f"{share:.2%}")
        + f" of claims (capacity {result['capacity']:.2%}); calibration error (ECE, 10 bins) "
        + ("-" if ece is None else f"{ece:.4f}")
    )
    _echo_slices(result)
    _echo_audit(result)


def _echo_audit(result: dict[str, Any]) -> None:
    """Audit rules alone, the model alone and both at the review capacity."""
    audit = result.get("audit_rules")
    if not audit:
        return
    typer.echo(
        f"\naudit rules at capacity {result['capacity']}: {audit['positives']} positives "
        f"(fraud labels or rule violations), {audit['claims_with_certain_hits']} claims "
        f"with a certain hit"
    )
    typer.echo(
        f"{'plan':<24}{'selected':>10}{'reviewed':>10}{'found':>8}{'precision':>11}"
        f"{'recall':>9}{'at stake recovered':>20}"
    )
    for plan in ("audit_rules_only", "model_only", "audit_rules_and_model"):
        row = audit[plan]
        p = "-" if row["precision"] is None else f"{row['precision']:.4f}"
        r = "-" if row["recall"] is None else f"{row['recall']:.4f}"
        typer.echo(
            f"{plan:<24}{row['claims_selected']:>10}{row['reviewed']:>10}"
            f"{row['positives_found']:>8}{p:>11}{r:>9}{row['amount_at_stake_recovered']:>20}"
        )


def _echo_slices(result: dict[str, Any]) -> None:
    """The model's per-scheme, per-region and per-level rows of an evaluation."""
    for title, field in (
        ("scheme", "per_scheme"),
        ("hospital region", "per_region"),
        ("hospital level", "per_level"),
    ):
        typer.echo(f"\n{title:<26}{'claims':>8}{'ap':>10}{'recall_at_capacity':>20}")
        for key, row in result[field].items():
            cells = "".join(
                f"{'-':>{w}}" if row[k] is None else f"{row[k]:>{w}.4f}"
                for k, w in (("ap", 10), ("recall_at_capacity", 20))
            )
            typer.echo(f"{key:<26}{row['claims']:>8}{cells}")


def score_cmd(
    data: DataOpt,
    model: ModelOpt = None,
    output: Annotated[
        str, typer.Option("-o", "--output", help="Score records, JSON Lines (- = stdout).")
    ] = "-",
    hospitals: Annotated[
        Path | None, typer.Option(help="Also write the hospital risk table (JSONL).")
    ] = None,
    rules_only: Annotated[bool, typer.Option(help="Score with the red flags alone.")] = False,
    audit_rules: Annotated[
        str | None,
        typer.Option(
            "--audit-rules",
            help="Rule catalogue directory (docs/rules.md); default the bundled tables.",
        ),
    ] = None,
    no_audit: Annotated[
        bool, typer.Option("--no-audit", help="Leave out the audit-rule hits.")
    ] = False,
    tracking_uri: TrackingOpt = None,
    out: Annotated[str | None, typer.Option("--out", hidden=True, help="Old name of -o.")] = None,
    cross_fit: Annotated[
        int,
        typer.Option(
            help="Score labelled claims the model was trained on out of fold: K hospital "
            "folds, each scored by the model's setup refitted on the other folds (0: off)."
        ),
    ] = 0,
) -> None:
    """Score claims: fraud score, flag, red flags and reasons, one JSON line per claim.

    Beside the score, audit_hits are the claim's hits of the rule catalogue
    (as yibao rules check gives them) and flagged_by_rule says whether one is
    certain: such a claim goes to review whatever the model says.
    """
    from models.data import load_claims
    from models.errors import ModelError, TrainingDataError
    from models.registry import default_uri, load_model
    from models.score import Scorer, hospital_table

    loaded_model = None
    if not rules_only:
        _tracking(tracking_uri)
        try:
            with using(MLFLOW):
                loaded_model = load_model(model or default_uri(_model_name(None)))
        except ModelError as exc:
            _fail(str(exc))
            return
    loaded = load_claims(data, book=_book())
    scorer = Scorer(loaded_model)
    ordered = sorted(loaded.facts, key=lambda c: c.sort_key)
    if cross_fit and loaded_model is not None:
        try:
            records = _cross_fitted(loaded_model, ordered, cross_fit)
        except TrainingDataError as exc:
            _fail(f"{data}: {exc}")
            return
    else:
        records = scorer.score_batch(ordered, period=True)
    if not no_audit:
        _add_audit_hits(records, data, audit_rules)
    lines = (json.dumps(rec, ensure_ascii=False) + "\n" for rec in records)
    output = out or output
    if output == "-":
        sys.stdout.writelines(lines)
    else:
        with open(output, "w", encoding="utf-8") as sink:
            sink.writelines(lines)
    if hospitals is not None:
        with open(hospitals, "w", encoding="utf-8") as fh:
            for row in hospital_table(ordered, records):
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    flagged = sum(r["flagged"] for r in records)
    typer.echo(
        f"scored {len(records)} claims with {scorer.label}: {flagged} flagged, "
        f"{loaded.skipped} skipped",
        err=True,
    )


def _cross_fitted(model: Any, ordered: list[Any], folds: int) -> list[dict[str, Any]]:
    """Score records of claims in event order, each from a model not fitted on its hospital."""
    from models.crossfit import fold_models, run_training_setup
    from models.matrix import featurize, labels_of
    from models.score import Scorer

    if model.run_id is None:
        _fail("cross-fitting needs a model with a training run (its parameters and rounds)")
    params, rounds = run_training_setup(model.run_id)
    _, feats, X = featurize(ordered, period=True)  # already in event order
    y = labels_of(ordered)
    records: list[dict[str, Any]] = [{} for _ in ordered]
    hospitals = [f.hospital_id for f in ordered]
    for rows, fold_model in fold_models(
        model, X, y, hospitals, params=params, rounds=rounds, folds=folds
    ):
        fold = Scorer(fold_model).records([ordered[i] for i in rows], [feats[i] for i in rows])
        for i, rec in zip(rows, fold, strict=True):
            records[i] = rec
    return records


def _add_audit_hits(records: list[dict[str, Any]], data: Path, rules_dir: str | None) -> None:
    """Put each claim's audit-rule hits beside its score (input order, as the stream)."""
    from detection.errors import RuleBookError
    from detection.rule_batch import certain_hit, hits_by_claim
    from detection.rule_engine import RuleEngine
    from detection.rule_state import RuleState
    from detection.rulebook_loader import load_rule_dir

    try:
        rule_book = load_rule_dir(Path(rules_dir) if rules_dir else None)
    except RuleBookError as exc:
        _fail(str(exc))
        return
    with open(data, "rb") as fh:
        hits = hits_by_claim(RuleEngine(rule_book), RuleState(), _book(), fh)  # type: ignore[arg-type]
    for rec in records:
        found = hits.get(rec["claim_id"], [])
        rec["audit_hits"] = found
        rec["flagged_by_rule"] = certain_hit(found)


def register(app: typer.Typer) -> None:
    """Add train, evaluate, score and the `models` group to the CLI."""
    app.command("train")(train_cmd)
    app.command("evaluate")(evaluate_cmd)
    app.command("score")(score_cmd)
    from yibao.commands.model_registry import models_app

    app.add_typer(models_app, name="models")
