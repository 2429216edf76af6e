"""Train on a Dask cluster: each hospital area's features on a worker, LightGBM data-parallel.

``yibao train --dask ADDRESS`` runs :func:`models.train.train` with two of its
steps on a Dask cluster; the splits, calibration, threshold, baselines, metrics
and the MLflow record stay the same code.

* **Features.** The claims file (the same path on every worker and here) is cut
  into byte ranges whose lines are counted per hospital area
  (:func:`models.areas.count_areas`); the areas are dealt into one group per
  worker thread, and a task per group validates and folds its areas' claims
  (:func:`models.featurefile.build_feature_table` with ``areas``, one feature
  state per area) into a Parquet file in its worker's local directory. Only the
  per-claim columns (labels, hospitals, rules scores) come back here.
* **Boosting.** :class:`DaskBoost` trains ``lightgbm.DaskLGBMClassifier``
  (LightGBM's data-parallel learner) on the rows where they lie. LightGBM
  evaluates a validation set on each worker's own rows only, so early stopping
  could stop the workers at different rounds: the split model boosts every
  round and the best one is chosen here by early stopping's rule on the whole
  validation set (:func:`stopping_round`).

Rows the driver needs (validation, untouched, baseline rows; one feature column
at a time for the drift reference) are read on their worker and sent here.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from detection.features import FEATURE_NAMES
from models.areas import NO_AREA
from models.data import LoadedClaims
from models.errors import ClusterError
from models.featurefile import CHUNK_ROWS, FLOAT, FeatureTable, read_rows
from models.metrics import average_precision
from models.train import stopping_round

log = logging.getLogger(__name__)

LOCAL = "local"  # --dask local[:N]: a LocalCluster of N worker processes on this machine
CONNECT_SECONDS = 30.0


def local_workers(address: str) -> int | None:
    """N for ``local:N`` (the machine's cores for ``local``); None for a scheduler address."""
    if address == LOCAL:
        return max(1, os.cpu_count() or 1)
    if not address.startswith(LOCAL + ":"):
        return None
    n = address.removeprefix(LOCAL + ":")
    if not n.isdigit() or int(n) < 1:
        raise ClusterError(f"--dask {address}: expected local:N, N a number of workers (1 or more)")
    return int(n)


@contextmanager
def dask_client(address: str, timeout: float = CONNECT_SECONDS) -> Iterator[Any]:
    """A ``distributed.Client`` of the scheduler at ``address``, or of a LocalCluster.

    ``local`` / ``local:N`` start N worker processes of one thread each (LightGBM's
    network runs one learner per process) and stop them on exit.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ClusterError(
            "training on a cluster needs dask and distributed: pip install 'yibao[cluster]'"
        ) from exc
    n = local_workers(address)
    if n is not None:
        with (
            LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    with client:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError as exc:
            raise ClusterError(f"the Dask scheduler at {address} has no workers") from exc
        yield client


@dataclass
class Part:
    """One group of areas' feature table, in a folder on the worker that built it."""

    table: FeatureTable
    worker: str  # the worker's address; the table's file is on its disk
    areas: tuple[str, ...]  # hospital areas (models.areas), "" for lines without one
    start: int = 0  # its first row among all parts' rows


@functools.lru_cache(maxsize=4)
def _policies(folder: Path | None) -> object:
    """The policy book, loaded once per worker process (a book does not pickle)."""
    from settlement.policy_loader import load_policy_dir

    return load_policy_dir(folder)


def build_part(
    data: Path,
    labels: Path | None,
    policies: Path | None,
    areas: Sequence[str],
    chunk_rows: int = CHUNK_ROWS,
) -> Part:
    """On a worker: the features of ``areas``' claims, in a folder of its local directory."""
    from distributed import get_worker

    from models.featurefile import build_feature_table

    worker = get_worker()
    folder = Path(tempfile.mkdtemp(prefix="yibao-areas-", dir=worker.local_directory))
    try:
        table = build_feature_table(
            data, labels, _policies(policies), folder, chunk_rows, areas=areas
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Part(table=table, worker=worker.address, areas=tuple(areas))


def build_parts(
    client: Any, data: Path, labels: Path | None, policies: Path | None, chunk_rows: int
) -> list[Part]:
    """Count the file's lines per area, deal the areas out and build each group on a worker."""
    import distributed

    from models.areas import byte_ranges, count_areas, group_areas

    threads = sum(client.nthreads().values())
    ranges = byte_ranges(os.path.getsize(data), threads)
    counted = client.map(count_areas, [data] * len(ranges), *zip(*ranges, strict=True), pure=False)
    counts: Counter[str] = sum(_gathered(client, counted, data), Counter())
    groups = group_areas(counts, threads)
    log.info("%d areas in %d groups on %d worker threads", len(counts), len(groups), threads)
    # Group i on the i-th worker thread, workers in the order of their names: the
    # same cluster puts the same areas on the same workers, and LightGBM (whose
    # learners bin and bag their own rows) learns the same model again.
    futures = [
        client.submit(
            build_part,
            data,
            labels,
            policies,
            g,
            chunk_rows,
            workers=[worker],
            allow_other_workers=True,  # a preference: a worker that left is replaced
            pure=False,
        )
        for g, worker in zip(groups, worker_slots(client), strict=False)
    ]
    distributed.wait(futures)
    built = [f.result() for f in futures if f.status == "finished"]
    try:
        parts: list[Part] = _gathered(client, futures, data)
    except BaseException:
        remove_parts(client, built)
        raise
    for part in parts:
        log.info("areas %s: %d claims on %s", ",".join(part.areas), len(part.table), part.worker)
    start = 0
    for part in parts:
        part.start = start
        start += len(part.table)
    return parts


def worker_slots(client: Any) -> list[str]:
    """One worker address per worker thread, workers ordered by name, threads round-robin."""
    info = client.scheduler_info(n_workers=-1)["workers"]
    ordered = sorted(info, key=lambda a: (str(info[a].get("name", "")), a))
    slots = {a: int(info[a].get("nthreads", 1)) for a in ordered}
    out: list[str] = []
    while any(slots.values()):
        for a in ordered:
            if slots[a]:
                out.append(a)
                slots[a] -= 1
    return out


def _gathered(client: Any, futures: list[Any], data: Path) -> list[Any]:
    try:
        return list(client.gather(futures))
    except OSError as exc:
        raise ClusterError(
            f"a worker could not read the data: {exc}; the claims file (and labels file) "
            f"must be at the same path, {data}, on every worker"
        ) from exc


def remove_parts(client: Any, parts: Sequence[Part]) -> None:
    """Delete the parts' folders on their workers (a worker that left took its own)."""
    for part in parts:
        client.run(shutil.rmtree, str(part.table.path.parent), True, workers=[part.worker])


class PartitionedTable:
    """The parts' rows end to end, read as a :class:`~models.featurefile.FeatureTable` is.

    Per-claim columns are held here; feature rows are read on the workers that hold
    them. ``hospital`` codes index ``hospitals`` (sorted), as in a feature table,
    so the hospital split of the same claims picks the same hospitals.
    """

    def __init__(self, client: Any, parts: list[Part], loaded: LoadedClaims) -> None:
        self.client = client
        self.parts = parts
        self.loaded = loaded
        tables = [p.table for p in parts]
        self.y = np.concatenate([t.y for t in tables])
        self.rules = np.concatenate([t.rules for t in tables])
        self.hospitals = tuple(sorted({h for t in tables for h in t.hospitals}))
        hospital_code = {h: i for i, h in enumerate(self.hospitals)}
        self.hospital = np.concatenate(
            [_recoded(t.hospital, [hospital_code[h] for h in t.hospitals]) for t in tables]
        )
        named = sorted({f for t in tables for f in t.fraud_types if f is not None})
        self.fraud_types: tuple[str | None, ...] = (None, *named)
        fraud_code = {f: i for i, f in enumerate(self.fraud_types)}
        self.fraud_type = np.concatenate(
            [_recoded(t.fraud_type, [fraud_code[f] for f in t.fraud_types]) for t in tables]
        ).astype(np.int16)
        periods = [t.period for t in tables if len(t)]
        self.period = (
            (min(p[0] for p in periods), max(p[1] for p in periods)) if periods else (0, 0)
        )

    def __len__(self) -> int:
        return len(self.y)

    def pieces(self, rows: np.ndarray | None) -> list[tuple[Part, np.ndarray | None]]:
        """Each part with its rows among ``rows`` (sorted indices; None: all), numbered in it."""
        if rows is None:
            return [(p, None) for p in self.parts if len(p.table)]
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) and (np.any(np.diff(rows) <= 0) or rows[0] < 0 or rows[-1] >= len(self)):
            raise ValueError("rows must be increasing indices of the table's rows")
        cuts = np.searchsorted(rows, [p.start for p in self.parts] + [len(self)])
        return [
            (p, rows[lo:hi] - p.start)
            for p, lo, hi in zip(self.parts, cuts[:-1], cuts[1:], strict=True)
            if hi > lo
        ]

    def _read(self, part: Part, rows: np.ndarray | None, names: Sequence[str]) -> Any:
        """A future of ``read_rows`` on the part's worker (only it has the file)."""
        return self.client.submit(
            read_rows,
            part.table.path,
            rows,
            tuple(names),
            workers=[part.worker],
            allow_other_workers=False,
            pure=False,
        )

    def _gather(self, rows: np.ndarray | None, names: Sequence[str]) -> np.ndarray:
        futures = [self._read(p, r, names) for p, r in self.pieces(rows)]
        blocks = self.client.gather(futures)
        return np.concatenate(blocks) if blocks else np.empty((0, len(names)), dtype=FLOAT)

    def matrix(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Feature rows (all, or the given sorted row indices), float32, ``FEATURE_NAMES`` order."""
        return self._gather(rows, FEATURE_NAMES)

    def column(self, name: str) -> np.ndarray:
        """One feature of every claim (float32)."""
        return self._gather(None, [name])[:, 0]

    def hospital_ids(self, rows: np.ndarray) -> list[str]:
        """The hospital id of each row."""
        return [self.hospitals[c] for c in self.hospital[rows].tolist()]

    def fraud_types_of(self, rows: np.ndarray) -> list[str | None]:
        """The fraud type of each row (None: none given)."""
        return [self.fraud_types[c] for c in self.fraud_type[rows].tolist()]

    def dask_rows(self, rows: np.ndarray) -> tuple[Any, Any]:
        """Features and labels of ``rows`` as dask arrays, one chunk per part, on its worker."""
        import dask.array as da

        X_chunks, y_chunks = [], []
        for part, local in self.pieces(rows):
            assert local is not None
            labels = self.client.scatter(part.table.y[local], workers=[part.worker])
            X = self._read(part, local, FEATURE_NAMES)
            X_chunks.append(da.from_delayed(X, (len(local), len(FEATURE_NAMES)), dtype=FLOAT))
            y_chunks.append(da.from_delayed(labels, (len(local),), dtype=np.int8))
        return da.concatenate(X_chunks), da.concatenate(y_chunks)


def _recoded(codes: np.ndarray, new: list[int]) -> np.ndarray:
    """``codes`` into a table's list, as codes into the merged list (``new[code]``)."""
    return np.asarray(new, dtype=np.int32)[codes] if len(codes) else codes.astype(np.int32)


def precision_by_round(booster: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Average precision of the booster's scores on ``(X, y)`` after each round."""
    rounds = booster.current_iteration()
    raw = np.zeros(len(X))
    curve = np.empty(rounds)
    for t in range(rounds):  # tree t's share of the raw score (the first holds the bias)
        raw += booster.predict(X, start_iteration=t, num_iteration=1, raw_score=True)
        curve[t] = average_precision(raw, y)
    return curve


@dataclass
class DaskBoost:
    """Fits boosters with ``lightgbm.DaskLGBMClassifier`` on the rows where they lie.

    The parameters are :func:`models.train.booster_params`' (the single-machine
    ones); ``tree_learner`` is LightGBM's data-parallel learner.
    """

    client: Any
    table: PartitionedTable
    params: dict[str, Any] | None
    seconds: dict[str, float] = field(default_factory=dict)

    def __call__(
        self,
        rows: np.ndarray,
        X_valid: np.ndarray | None,
        y_valid: np.ndarray | None,
        rounds: int,
        early_stopping: int,
    ) -> tuple[Any, np.ndarray | None]:
        import lightgbm as lgb

        from models.train import booster_params

        params = booster_params(self.table.y[rows], self.params)
        del params["metric"]  # nothing is evaluated on the workers
        X, y = self.table.dask_rows(rows)
        model = lgb.DaskLGBMClassifier(client=self.client, n_estimators=rounds, **params)
        with warnings.catch_warnings():
            # the scikit-learn wrapper's n_jobs: each worker uses its own threads
            warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored")
            model.fit(X, y, feature_name=list(FEATURE_NAMES))
        booster = model.booster_
        curve = None
        if X_valid is not None and y_valid is not None:
            t = time.perf_counter()
            curve = precision_by_round(booster, X_valid, y_valid)
            booster.best_iteration = stopping_round(curve, early_stopping)
            self.seconds["validation_curve"] = time.perf_counter() - t
        return booster, curve


@dataclass
class OnCluster:
    """What :func:`models.train.train` uses of a cluster: the table, the booster fitter and
    the settings it logs."""

    table: PartitionedTable
    boost: DaskBoost
    settings: dict[str, Any]


def merged_loaded(parts: Sequence[Part], data: Path, labels: Path | None) -> LoadedClaims:
    """The parts' skip counts added up; their data fingerprint, checked against this one's."""
    from models.data import count_unmatched, file_sha256, read_labels

    loaded = LoadedClaims(facts=[])
    for part in parts:
        loaded.skipped += part.table.loaded.skipped
        loaded.skipped_by_code.update(part.table.loaded.skipped_by_code)
        loaded.relabelled += part.table.loaded.relabelled
    here = file_sha256([data] if labels is None else [data, labels])
    read = {part.table.loaded.fingerprint for part in parts}
    if read != {here}:
        raise ClusterError(
            f"the workers read other bytes at {data} than this machine: the claims "
            "(and labels) file must be the same file on every worker"
        )
    loaded.fingerprint = here
    if labels is not None:
        matched = set().union(*(part.table.matched_labels for part in parts))
        count_unmatched(loaded, read_labels(labels), matched)
    return loaded


@contextmanager
def on_cluster(
    address: str,
    data: Path,
    labels: Path | None,
    policies: Path | None,
    params: dict[str, Any] | None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[OnCluster]:
    """Connect, build the features on the workers; remove them and disconnect on exit."""
    with dask_client(address) as client:
        t = time.perf_counter()
        parts = build_parts(client, data, labels, policies, chunk_rows)
        try:
            table = PartitionedTable(client, parts, merged_loaded(parts, data, labels))
            seconds = time.perf_counter() - t
            log.info("features of %d claims on the cluster in %.1fs", len(table), seconds)
            areas = {a for p in parts for a in p.areas if a != NO_AREA}
            yield OnCluster(
                table=table,
                boost=DaskBoost(client, table, params),
                settings={
                    "dask_workers": len(client.nthreads()),
                    "dask_parts": len(parts),
                    "dask_areas": len(areas),
                },
            )
        finally:
            remove_parts(client, parts)
