"""Train the LightGBM fraud model and record everything about it in MLflow.

Hospitals are split: an untouched slice that no fitting step sees (its
metrics are the ones `models list` shows and promotion compares on), and the
rest, whose hospitals are cut into folds: each fold's boosting stops early on
the hospitals it left out, the number of rounds is read from the folds' mean
validation curve, and the scores are calibrated on all out-of-fold scores
before the model is refitted on all the rest (without a refit, one training
and one validation split). Class imbalance is handled with ``scale_pos_weight``.
The run holds parameters, metrics, plots, the data fingerprint, the untouched
rows (features only, no identifiers), the fitted baselines and the registered
model with its signature.

The claims file is streamed and the features are written to a float32 Parquet
file in a scratch folder (:mod:`models.featurefile`); each fitting step reads
its hospitals' rows back from it, so memory grows by a few hundred bytes a
claim, not by the claims' Python objects.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from detection.feature_names import PERIOD_BASES, PERIOD_PREFIX
from detection.features import FEATURE_NAMES
from models.calibration import Platt, capacity_threshold, fit_platt
from models.data import LoadedClaims
from models.errors import TrainingDataError
from models.featurefile import Table
from models.metrics import DEFAULT_CAPACITY
from models.runlog import run_record
from models.splits import Split, hospital_folds, split_by_hospital, split_three_ways

__all__ = ["TrainResult", "fit_booster", "split_by_hospital", "train"]

if TYPE_CHECKING:
    from models.runlog import RunRecord

log = logging.getLogger(__name__)

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.1,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_bin": 255,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
    "seed": 7,
}
# Generous on purpose: the validation hospitals hold only a handful of fraudulent
# ones, so their PR-AUC curve is noisy, and stopping 50 rounds after a bump
# stopped at 230-500 rounds while other simulations' PR-AUC kept rising to about
# 1,000 rounds.
EARLY_STOPPING = 200
# Before a refit, the number of rounds is chosen on the mean validation curve of
# this many folds of the hospitals (every hospital outside the untouched slice
# validates once), and the scores are calibrated on all their out-of-fold
# scores: one validation split holds a handful of fraudulent hospitals, and the
# rounds it chose swung from 49 to 998 between runs (docs/detection.md).
CV_FOLDS = 3
# Scores may only rise with the claim's cost relative to its peers. That
# includes the cost against its DIP group: an ultra-low case is suspicious,
# but a model that scores a claim lower for billing more would reward padding
# a bill; cheap stays are left to the hospital's ultra-low rate and the
# OUTPATIENT_CASE_ADMITTED red flag (docs/detection.md).
MONOTONE_UP: tuple[str, ...] = (
    "dip_cost_ratio",
    "cost_vs_peer_ratio",
    "cost_peer_z",
    "price_vs_code_max",
    "price_vs_code_mean",
    "cost_vs_own_hospital",
    "price_vs_own_hospital_max",
)
# ... and the hospital's period means of them, which count the claim itself.
MONOTONE_UP += tuple(PERIOD_PREFIX + name for name in MONOTONE_UP if name in PERIOD_BASES)


@dataclass
class TrainResult:
    """The handles a caller passes on: run id and registered model URI."""

    run_id: str
    model_uri: str
    version: str
    aliases: list[str]
    metrics: dict[str, float]
    seconds: dict[str, float]
    beats_rules: bool = True  # on the untouched hospitals
    unmatched_labels: int = 0  # label rows that matched no claim
    unmatched_examples: list[str] = field(default_factory=list)  # a few, masked


def booster_params(y_train: np.ndarray, params: dict[str, Any] | None) -> dict[str, Any]:
    """LightGBM's parameters for training rows labelled ``y_train``: the defaults, the
    caller's, imbalance weighting (unless given) and the monotone constraints."""
    pos = max(int(y_train.sum()), 1)
    merged = {**DEFAULT_PARAMS, **(params or {})}
    merged.setdefault("scale_pos_weight", (len(y_train) - pos) / pos)
    merged["monotone_constraints"] = [1 if n in MONOTONE_UP else 0 for n in FEATURE_NAMES]
    merged["metric"] = ["average_precision", "auc"]
    return merged


class Boost(Protocol):
    """Fits a booster on some rows of the table (``fit``'s one step that a cluster changes).

    With validation rows: at most ``rounds`` rounds, ``best_iteration`` set by early
    stopping after ``early_stopping`` rounds without a better average precision on
    them. Without: exactly ``rounds`` rounds. Returns the booster and, with
    validation rows, their average precision after each round (None without).
    """

    def __call__(
        self,
        rows: np.ndarray,
        X_valid: np.ndarray | None,
        y_valid: np.ndarray | None,
        rounds: int,
        early_stopping: int,
    ) -> tuple[Any, np.ndarray | None]: ...


@dataclass
class LocalBoost:
    """:func:`fit_booster` on this machine, the rows read from the feature table."""

    table: Table
    params: dict[str, Any] | None

    def __call__(
        self,
        rows: np.ndarray,
        X_valid: np.ndarray | None,
        y_valid: np.ndarray | None,
        rounds: int,
        early_stopping: int,
    ) -> tuple[Any, np.ndarray | None]:
        from models.lgb_table import TableRows

        y = self.table.y[rows]
        curve: list[float] = []
        # the rows reach LightGBM in batches: the whole matrix is never held (models/lgb_table.py)
        X = TableRows(self.table, rows)
        booster = fit_booster(X, y, X_valid, y_valid, self.params, rounds, early_stopping, curve)
        return booster, (np.asarray(curve, dtype=np.float64) if X_valid is not None else None)


def fit_booster(
    X_train: Any,
    y_train: np.ndarray,
    X_valid: np.ndarray | None,
    y_valid: np.ndarray | None,
    params: dict[str, Any] | None = None,
    rounds: int = 1000,
    early_stopping: int = 200,
    curve: list[float] | None = None,
) -> Any:
    """A LightGBM booster with imbalance weighting and early stopping on validation.

    Without validation rows it boosts exactly ``rounds`` rounds (a refit). With
    them, ``curve`` (when given) receives their average precision after each round.
    ``X_train`` is a matrix or a :class:`models.lgb_table.TableRows` (a feature
    table's rows, read in batches: the same booster without the whole matrix).
    """
    import lightgbm as lgb

    merged = booster_params(y_train, params)
    dataset = lgb.Dataset
    if not isinstance(X_train, np.ndarray):
        from models.lgb_table import TableDataset

        dataset = TableDataset
    train_set = dataset(X_train, y_train, feature_name=list(FEATURE_NAMES), free_raw_data=True)
    if X_valid is None:  # a refit with a known number of rounds
        return lgb.train(merged, train_set, num_boost_round=rounds)
    valid_set = lgb.Dataset(X_valid, y_valid, reference=train_set)
    evaluated: dict[str, Any] = {}
    booster = lgb.train(
        merged,
        train_set,
        num_boost_round=rounds,
        valid_sets=[valid_set],
        valid_names=["valid"],
        callbacks=[
            lgb.early_stopping(early_stopping, first_metric_only=True, verbose=False),
            lgb.record_evaluation(evaluated),
        ],
    )
    if curve is not None:
        curve.extend(evaluated["valid"]["average_precision"])
    return booster


@dataclass
class Prepared:
    """Loaded claims in event order: their features on disk, labels and hospitals in memory."""

    table: Table

    @property
    def loaded(self) -> LoadedClaims:
        return self.table.loaded

    @property
    def y(self) -> np.ndarray:
        return self.table.y

    @property
    def hospitals(self) -> np.ndarray:
        """Hospital codes, ordered as the hospitals' ids (``table.hospitals``)."""
        return self.table.hospital


@dataclass
class Fitted:
    """The model to register, what early stopping found, and the fitted baselines."""

    booster: Any
    # calibrated scores of the validation rows, from models that did not fit them
    valid_scores: np.ndarray
    valid_rows: np.ndarray  # the rows of valid_scores
    best_iteration: int
    threshold: float
    baselines: dict[str, Any]
    calibration: Platt = field(default_factory=Platt)
    seconds: dict[str, float] = field(default_factory=dict)


def prepare(
    data: Path, labels: Path | None, book: object | None, workdir: Path, *, by_area: bool = False
) -> Prepared:
    """Validate the claims and write their features, in event order, to a file in ``workdir``.

    In a child process where one can be forked: the feature state's memory is the
    system's again before the models are fitted. ``by_area``: one feature state per
    hospital area, the features a cluster computes (:mod:`models.areas`).
    """
    from models.featurefile import build_in_child

    return checked(data, build_in_child(Path(data), labels, book, workdir, by_area=by_area))


def checked(data: Path, table: Table) -> Prepared:
    """The table, once it holds enough claims of both classes to train on."""
    y = table.y
    if len(y) < 50 or not 0 < int(y.sum()) < len(y):
        raise TrainingDataError(
            f"{data}: need at least 50 valid claims with both fraud and non-fraud labels "
            f"(got {len(y)} claims, {int(y.sum())} fraud)"
        )
    return Prepared(table)


def checked_split(prep: Prepared, valid_share: float, test_share: float, seed: int) -> Split:
    """The three hospital slices; each one measured on must hold both classes."""
    split = split_three_ways(prep.hospitals, prep.y, valid_share, test_share, seed)
    for name, rows in (("validation", split.valid), ("untouched", split.test)):
        if not 0 < int(prep.y[rows].sum()) < len(rows):
            raise TrainingDataError(f"the {name} hospitals hold only one class; add data")
    return split


def fit(
    prep: Prepared,
    split: Split,
    *,
    params: dict[str, Any] | None,
    rounds: int,
    early_stopping: int,
    refit: bool,
    capacity: float,
    seed: int,
    boost: Boost | None = None,
) -> Fitted:
    """Choose the rounds on validation hospitals, calibrate, refit, fit the baselines.

    With ``refit``: :data:`CV_FOLDS` folds of the hospitals outside the untouched
    slice (each validates once, the others train with early stopping); the
    rounds are where the folds' mean validation curve stops improving, and the
    calibration and threshold are fitted on every out-of-fold score. The model is
    then refitted on all those hospitals with those rounds. Without ``refit`` (or
    with fewer fraudulent hospitals than two folds need): the training split
    with early stopping on the validation split, registered as it is (or refitted).

    ``boost`` fits the boosters (default: :class:`LocalBoost`, on this machine).
    """
    from models.baselines import baseline_rows, fit_baselines

    table, y = prep.table, prep.y
    boost = boost or LocalBoost(table, params)
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    plan = [(split.train, split.valid)]
    if refit:
        rows = split.fit
        folds = hospital_folds(prep.hospitals[rows], y[rows], CV_FOLDS, seed)
        if len(folds) >= 2:
            plan = [(rows[train], rows[valid]) for train, valid in folds]
    boosters, curves = [], []
    for train_rows, valid_rows in plan:
        X_valid = table.matrix(valid_rows)
        booster, curve = boost(train_rows, X_valid, y[valid_rows], rounds, early_stopping)
        del X_valid
        assert curve is not None, "a Boost with validation rows returns their curve"
        # Only its trees are needed from here on: the binned training and validation
        # rows it holds would stay in memory with every fold's booster.
        booster.free_dataset()
        boosters.append(booster)
        curves.append(curve)
    best_iteration = stopping_round(mean_curve(curves), early_stopping)
    valid_rows = np.sort(np.concatenate([valid for _, valid in plan]))
    raw_valid = np.empty(len(y), dtype=np.float64)
    for booster, (_, valid) in zip(boosters, plan, strict=True):
        trees = min(best_iteration, booster.current_iteration())
        raw_valid[valid] = booster.predict(table.matrix(valid), num_iteration=trees)
    raw_valid = raw_valid[valid_rows]
    seconds["boosting"] = time.perf_counter() - t
    # Calibrated on hospitals the boosters did not train on, so a score reads as the
    # chance a new claim is fraudulent (the refit's scores are mapped the same way).
    calibration = fit_platt(raw_valid, y[valid_rows])
    valid_scores = calibration.apply(raw_valid)
    booster = boosters[0]
    booster.best_iteration = best_iteration
    if refit:
        t = time.perf_counter()
        booster, _ = boost(split.fit, None, None, best_iteration, 0)
        # its binned rows (a few hundred bytes a claim) are not needed to score and log
        booster.free_dataset()
        seconds["refit"] = time.perf_counter() - t
    # Flag the top `capacity` share of claims the model has not seen: quantiles of
    # in-sample scores sit too high (the model has learnt those claims), so new
    # claims would be flagged far less often than the clerks' capacity.
    threshold = capacity_threshold(valid_scores, capacity)
    t = time.perf_counter()
    rows = baseline_rows(split.train, seed)
    baselines = fit_baselines(table.matrix(rows), y[rows], seed)
    seconds["baselines"] = time.perf_counter() - t
    return Fitted(
        booster=booster,
        valid_scores=valid_scores,
        valid_rows=valid_rows,
        best_iteration=best_iteration,
        threshold=threshold,
        baselines=baselines,
        seconds=seconds,
        calibration=calibration,
    )


def mean_curve(curves: list[np.ndarray]) -> np.ndarray:
    """The folds' validation curves averaged round by round.

    A fold stopped early holds its last value to the longest curve's end (its
    score had stopped improving there).
    """
    longest = max(len(c) for c in curves)
    padded = [np.concatenate([c, np.full(longest - len(c), c[-1])]) for c in curves]
    mean: np.ndarray = np.mean(padded, axis=0)
    return mean


def stopping_round(curve: np.ndarray, patience: int) -> int:
    """The round early stopping keeps (1-based): LightGBM's rule on a validation curve.

    The best score so far; training stops once ``patience`` rounds pass without a
    strictly better one, or at the last round.
    """
    best, best_at = -np.inf, 0
    for at, score in enumerate(curve.tolist()):
        if score > best:
            best, best_at = score, at
        elif at - best_at >= patience:
            break
    return best_at + 1


def measure(
    prep: Prepared, split: Split, fitted: Fitted, capacity: float
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Metrics of the model and baselines on validation and untouched hospitals.

    ``valid_*``: the model's out-of-fold scores of the hospitals that chose the
    rounds (so a little optimistic), and the baselines' on the validation split,
    which they did not train on. ``test_*``: the registered model and the
    baselines on the untouched hospitals, the number to quote. Also returns the
    untouched scores per scorer.
    """
    from models.baselines import baseline_scores
    from models.calibration import expected_calibration_error, flagged_share
    from models.metrics import ranking_metrics

    table, y = prep.table, prep.y
    te = split.test
    best = fitted.booster.best_iteration or None
    raw_test = fitted.booster.predict(table.matrix(te), num_iteration=best)
    test_scores = fitted.calibration.apply(raw_test)
    # prefix -> (the model's rows and scores, the baselines' rows)
    slices = {
        "valid_": (fitted.valid_rows, fitted.valid_scores, split.valid),
        "test_": (te, test_scores, te),
    }
    metrics: dict[str, float] = {}
    untouched: dict[str, np.ndarray] = {}
    for prefix, (model_rows, model_scores, rows) in slices.items():
        scorers = {"rules_only": table.rules[rows]}
        scorers.update(baseline_scores(fitted.baselines, table.matrix(rows)))
        # each slice's labels and hospital ids once, not once per scorer
        truth = (y[rows], table.hospital_ids(rows))
        model_truth = truth
        if model_rows is not rows:
            model_truth = (y[model_rows], table.hospital_ids(model_rows))
        scored = [("lightgbm", model_truth, model_scores)]
        scored += [(label, truth, scores) for label, scores in scorers.items()]
        for label, (labels, hospitals), scores in scored:
            name = prefix if label == "lightgbm" else f"{prefix}{label}_"
            found = ranking_metrics(scores, labels, hospitals, capacity)
            for key, value in found.items():
                if value is not None:
                    metrics[name + key] = float(value)
        if prefix == "test_":
            untouched = {"lightgbm": test_scores, **scorers}
    metrics["best_iteration"] = float(fitted.best_iteration)
    metrics["threshold"] = fitted.threshold
    # The untouched hospitals stand for new data: the share the threshold flags
    # there, and how far the calibrated scores are from observed fraud rates.
    metrics["test_flagged_share"] = float(flagged_share(test_scores, fitted.threshold) or 0.0)
    metrics["test_ece"] = float(expected_calibration_error(test_scores, y[te]) or 0.0)
    metrics["calibration_slope"] = fitted.calibration.slope
    metrics["calibration_intercept"] = fitted.calibration.intercept
    return metrics, untouched


def train(
    data: Path,
    labels: Path | None = None,
    *,
    experiment: str = "yibao-fraud",
    model_name: str,
    tracking_uri: str,
    local_store: Path | None = None,
    book: object | None = None,
    params: dict[str, Any] | None = None,
    valid_share: float = 0.25,
    test_share: float = 0.2,
    seed: int = 7,
    capacity: float = DEFAULT_CAPACITY,
    rounds: int = 1000,
    early_stopping: int = EARLY_STOPPING,
    refit: bool = True,
    by_area: bool = False,
    dask: str | None = None,
    policies_dir: Path | None = None,
) -> TrainResult:
    """Train, evaluate on untouched hospitals, log to MLflow and register the model.

    The result holds the run id, model URI, version and aliases, metrics and timings.

    Args:
        data: labelled claims JSONL.
        labels: optional labels JSONL overriding the claims' own labels.
        experiment: MLflow experiment name.
        model_name: registered model name.
        tracking_uri: the MLflow tracking store.
        local_store: a local store's folder (artifacts beside it); None for a server.
        book: the settlement policies that validate the claims (None: bundled).
        params: LightGBM parameters overriding the defaults.
        valid_share: share of the remaining hospitals held out for early stopping
            without a refit (with one, every remaining hospital validates in a fold).
        test_share: share of hospitals no fitting step sees (the untouched slice).
        seed: split seed.
        capacity: share of claims flagged; sets the score threshold.
        rounds: maximum boosting rounds.
        early_stopping: rounds without improvement before stopping.
        refit: choose the rounds on :data:`CV_FOLDS` folds of the hospitals outside
            the untouched slice and refit on all of them (validation metrics are
            the folds' out-of-fold scores); False: one split, no refit.
        by_area: one feature state per hospital area (:mod:`models.areas`): the
            features ``dask`` computes, on this machine.
        dask: train on a Dask cluster (:mod:`models.cluster`): a scheduler address
            (``tcp://host:8786``), or ``local`` / ``local:N`` for worker processes
            here. The features are then by area; ``book`` must be None, the workers
            load ``policies_dir`` (None: the bundled policies).
        policies_dir: the policies the cluster's workers validate with.

    Raises:
        TrainingDataError: too few claims, or a slice with one class only.
        ModelError: the registry could not be read to set the aliases.
        ClusterError: the Dask cluster could not be reached or failed.
    """
    settings = {
        "valid_share": valid_share,
        "test_share": test_share,
        "split_seed": seed,
        "capacity": capacity,
        "max_rounds": rounds,
        "early_stopping_rounds": early_stopping,
        "refit_on_train_and_valid": refit,
        "rounds_chosen_on_folds": CV_FOLDS if refit else 1,
        "features_by_area": by_area or dask is not None,
    }
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        boost: Boost | None = None
        if dask is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="yibao-train-"))
            prep = prepare(data, labels, book, Path(workdir), by_area=by_area)
        else:
            from models.cluster import on_cluster

            if book is not None:
                raise ValueError("on a cluster the workers load the policies: pass policies_dir")
            on = stack.enter_context(on_cluster(dask, Path(data), labels, policies_dir, params))
            prep, boost = checked(data, on.table), on.boost
            settings.update(on.settings)
        loading = time.perf_counter() - t0
        split = checked_split(prep, valid_share, test_share, seed)
        fitted = fit(
            prep,
            split,
            params=params,
            rounds=rounds,
            early_stopping=early_stopping,
            refit=refit,
            capacity=capacity,
            seed=seed,
            boost=boost,
        )
        metrics, test_scores = measure(prep, split, fitted, capacity)
        record = run_record(Path(data), prep, split, fitted, metrics, test_scores, params, settings)
    record.seconds = {"load_and_features": loading, **fitted.seconds}
    return _log_and_register(
        record,
        experiment=experiment,
        model_name=model_name,
        tracking_uri=tracking_uri,
        local_store=local_store,
        seed=seed,
        started=t0,
    )


def _log_and_register(
    record: RunRecord,
    *,
    experiment: str,
    model_name: str,
    tracking_uri: str,
    local_store: Path | None,
    seed: int,
    started: float,
) -> TrainResult:
    """Log the run, register its model and set the aliases it earned."""
    from models.registry import set_aliases_after_training
    from models.runlog import beats_rules, log_training_run

    run_id, version = log_training_run(
        record,
        experiment=experiment,
        model_name=model_name,
        tracking_uri=tracking_uri,
        local_store=local_store,
        seed=seed,
    )
    better = beats_rules(record.metrics, f"{model_name}/{version}")
    aliases = set_aliases_after_training(model_name, version, beats_rules=better)
    seconds = {**record.seconds, "total": time.perf_counter() - started}
    log.info("trained %s/%s in %.1fs: %s", model_name, version, seconds["total"], seconds)
    return TrainResult(
        run_id=run_id,
        model_uri=f"models:/{model_name}/{version}",
        version=version,
        aliases=aliases,
        metrics=record.metrics,
        seconds=seconds,
        beats_rules=better,
        unmatched_labels=record.loaded.unmatched_labels,
        unmatched_examples=record.loaded.unmatched_examples,
    )
