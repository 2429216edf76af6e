"""The model registry commands (`yibao models list|drift|promote`).

Heavy libraries (mlflow, numpy) are imported inside the commands so that the
CLI starts fast; the shared options and helpers are those of the detection
commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from yibao.commands.detect import (
    ModelOpt,
    TrackingOpt,
    _book,
    _fail,
    _model_name,
    _tracking,
)
from yibao.failures import MLFLOW, using

if TYPE_CHECKING:
    from models.registry import HeldOut

models_app = typer.Typer(help="The model registry: list versions, promote a champion.")


@models_app.command("list")
def models_list(
    model_name: Annotated[str | None, typer.Option(help="Registered model name.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Registered versions, newest first, with aliases and untouched-hospital PR-AUC.

    Exits 0 with a note when none is registered yet, 1 when the store cannot be read.
    """
    from models.errors import ModelError
    from models.registry import list_versions

    _tracking(tracking_uri)
    name = _model_name(model_name)
    try:
        with using(MLFLOW):
            rows = list_versions(name)
    except ModelError as exc:
        _fail(str(exc))
        return
    if as_json:
        typer.echo(json.dumps(rows))
        return
    if not rows:  # an empty registry is a state, not an error
        typer.echo(
            f"no versions of model {name} are registered yet; "
            "train one with `yibao train --data ...`"
        )
        return
    for row in rows:
        auc, rules = row["test_claim_pr_auc"], row["test_rules_only_claim_pr_auc"]
        typer.echo(
            f"{name}/{row['version']:<4} {','.join(row['aliases']) or '-':<22} "
            f"untouched_pr_auc={'-' if auc is None else f'{auc:.4f}'} "
            f"rules={'-' if rules is None else f'{rules:.4f}'} run={row['run_id']}"
        )


@models_app.command("drift")
def models_drift(
    data: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Claims JSONL.")],
    model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Population stability index per feature between the model's training data and DATA.

    Lists the features above 0.2 and exits 1 when there are any.
    """
    from detection.features import FEATURE_NAMES
    from models.data import load_claims
    from models.drift import PSI_THRESHOLD, drift
    from models.errors import ModelError
    from models.matrix import featurize
    from models.registry import default_uri, load_drift_reference, load_model

    _tracking(tracking_uri)
    try:
        with using(MLFLOW):
            loaded_model = load_model(model or default_uri(_model_name(None)))
    except ModelError as exc:
        _fail(str(exc))
        return
    ref = load_drift_reference(loaded_model.run_id) if loaded_model.run_id else None
    if ref is None:
        _fail(f"{loaded_model.label} has no training reference (trained before drift "
              "monitoring); retrain it with `yibao train`")  # fmt: skip
        return
    _, _, X = featurize(load_claims(data, book=_book()).facts, period=True)
    values = drift(ref, X, FEATURE_NAMES)
    over = sorted((n for n, v in values.items() if v > PSI_THRESHOLD), key=lambda n: -values[n])
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "model": loaded_model.label,
                    "claims": len(X),
                    "threshold": PSI_THRESHOLD,
                    "psi": values,
                    "drifted": over,
                },
                sort_keys=True,
            )
        )
    else:
        typer.echo(f"{len(X)} claims against the training data of {loaded_model.label}")
        for name in sorted(values, key=lambda n: -values[n]):
            mark = "  DRIFT" if name in over else ""
            typer.echo(f"{name:<34}{values[name]:>10.4f}{mark}")
        typer.echo(f"{len(over)} feature(s) above PSI {PSI_THRESHOLD}")
    if over:
        raise typer.Exit(1)


@models_app.command("promote")
def models_promote(
    version: Annotated[str, typer.Argument(help="Version to make champion.")],
    model_name: Annotated[str | None, typer.Option(help="Registered model name.")] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Labelled claims neither model was fitted on to compare on "
            "(default: the candidate's untouched hospitals).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Promote without comparing.")] = False,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Make VERSION champion if it beats the champion and the rules on unseen claims."""
    from models.errors import ModelError
    from models.registry import promote

    _tracking(tracking_uri)
    name = _model_name(model_name)
    heldout = _heldout_file(data) if data is not None else None
    try:
        with using(MLFLOW):
            result = promote(name, version, force=force, heldout=heldout)
    except ModelError as exc:  # PromotionRefused too: the message says why
        _fail(str(exc))
        return
    if result.challenger_pr_auc is not None:
        against = (
            f"{result.champion_pr_auc:.4f} of {name}/{result.previous}, "
            if result.champion_pr_auc is not None
            else ""
        )
        typer.echo(
            f"{name}/{version} is champion (PR-AUC {result.challenger_pr_auc:.4f} > "
            f"{against}rules only {result.rules_pr_auc:.4f}, on {result.compared_on})"
        )
    else:
        typer.echo(f"{name}/{version} is champion (previous: {result.previous or 'none'})")


def _heldout_file(data: Path) -> HeldOut:
    """A labelled claims file as claims to compare models on."""
    from models.baselines import rules_scores
    from models.data import file_sha256, load_claims
    from models.matrix import featurize, labels_of
    from models.registry import HeldOut

    ordered, feats, X = featurize(load_claims(data, book=_book()).facts, period=True)
    return HeldOut(
        X=X,
        y=labels_of(ordered),
        rules=rules_scores(feats),
        source=data.name,
        claims_sha256=file_sha256([data]),
    )
