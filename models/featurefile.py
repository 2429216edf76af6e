"""Training features on disk: claims streamed, folded in event order, kept as float32 columns.

Training once held every claim's facts and feature vector as Python objects and
a float64 matrix beside them, about 6.8 KB per claim. Here a claims file is read
once, line by line (:func:`models.data.valid_facts`), and each valid claim's
facts are spooled to a scratch file; only its event-time sort key and spool
offset stay in memory. The facts are then read back in event order and folded
through one :class:`~detection.features.FeatureState` (the fold of
:func:`~detection.features.batch_features`, so the values are the same), and the
rows are written in chunks as float32 columns of a Parquet file. What stays in
memory per claim is a handful of numbers: label, hospital and fraud-type codes
and the rules-only score. A model's rows (a slice of hospitals) are read back
from the file into a float32 matrix when it is fitted.

The features are stored as float32, as LightGBM bins them: a value keeps about
seven significant digits.

The file is a review period: its ``period_*`` features are each hospital's
means over the whole file (:mod:`detection.features_period`). The fold writes
the means so far; the final ones go to a small file beside it
(:func:`period_means_path`, one row per hospital) with each row's hospital in a
column of its own, and :func:`read_rows` reads the final ones.
"""

from __future__ import annotations

import dataclasses
import logging
import marshal
from array import array
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

import numpy as np

from detection.facts import ClaimFacts
from detection.feature_names import PERIOD_BASES, PERIOD_PREFIX
from detection.features import FEATURE_NAMES, FeatureState
from models.data import LoadedClaims

log = logging.getLogger(__name__)

FLOAT = np.float32
CHUNK_ROWS = 65_536  # rows per Parquet row group: about 17 MB of float32 features
LABEL_COLUMN = "is_fraud"
HOSPITAL_COLUMN = "hospital_code"  # the row's hospital, a row of the period means file
_FACT_FIELDS = tuple(f.name for f in dataclasses.fields(ClaimFacts))


def dump_facts(fact: ClaimFacts) -> bytes:
    """A claim's facts as bytes for a scratch file read back by this process's Python."""
    return marshal.dumps(tuple([getattr(fact, name) for name in _FACT_FIELDS]))


def load_facts(blob: bytes) -> ClaimFacts:
    """The facts :func:`dump_facts` wrote."""
    return ClaimFacts(**dict(zip(_FACT_FIELDS, marshal.loads(blob), strict=True)))


class Table(Protocol):
    """What training reads of the claims' features: a :class:`FeatureTable`, or one whose
    rows are spread over a cluster's workers (:class:`models.cluster.PartitionedTable`)."""

    y: np.ndarray
    hospital: np.ndarray
    hospitals: tuple[str, ...]
    fraud_type: np.ndarray
    fraud_types: tuple[str | None, ...]
    rules: np.ndarray
    period: tuple[int, int]
    loaded: LoadedClaims

    def __len__(self) -> int: ...

    def matrix(self, rows: np.ndarray | None = None) -> np.ndarray: ...

    def column(self, name: str) -> np.ndarray: ...

    def hospital_ids(self, rows: np.ndarray) -> list[str]: ...

    def fraud_types_of(self, rows: np.ndarray) -> list[str | None]: ...


@dataclass
class FeatureTable:
    """Claims' features in a Parquet file and their per-claim columns in memory, event order.

    ``hospital`` codes index ``hospitals``, which are sorted, so codes order the
    hospitals as their ids do (a split by codes is the split by ids).
    """

    path: Path
    y: np.ndarray  # int8, 1 for fraud
    hospital: np.ndarray  # int32 codes into hospitals
    hospitals: tuple[str, ...]
    fraud_type: np.ndarray  # int16 codes into fraud_types
    fraud_types: tuple[str | None, ...]
    rules: np.ndarray  # float64, the rules-only score
    period: tuple[int, int]  # first and last discharge date (ordinals)
    loaded: LoadedClaims = field(default_factory=lambda: LoadedClaims(facts=[]))
    # label rows that named a valid claim of this table (with a labels file): a
    # table of some areas cannot tell which of the others' rows match nothing
    matched_labels: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.y)

    def matrix(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Feature rows (all, or the given sorted row indices), float32, ``FEATURE_NAMES`` order."""
        return read_rows(self.path, rows)

    def column(self, name: str) -> np.ndarray:
        """One feature of every claim (float32)."""
        return read_rows(self.path, None, [name])[:, 0]

    def hospital_ids(self, rows: np.ndarray) -> list[str]:
        """The hospital id of each row."""
        return [self.hospitals[c] for c in self.hospital[rows].tolist()]

    def fraud_types_of(self, rows: np.ndarray) -> list[str | None]:
        """The fraud type of each row (None: none given)."""
        return [self.fraud_types[c] for c in self.fraud_type[rows].tolist()]


class FeatureWriter:
    """Feature rows written in chunks as the float32 columns of a Parquet file.

    Each chunk of ``chunk_rows`` rows is one row group; only one chunk is held.
    Values are rounded to the nearest float32.
    """

    def __init__(
        self,
        path: Path,
        names: Sequence[str] = FEATURE_NAMES,
        chunk_rows: int = CHUNK_ROWS,
        label: bool = True,
        hospital: bool = False,
    ) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be positive, not {chunk_rows}")
        self.names = tuple(names)
        self.chunk_rows = chunk_rows
        self.rows = 0
        # Column-major: a column of a chunk is contiguous and goes to Arrow uncopied.
        self._features = np.empty((len(self.names), chunk_rows), dtype=FLOAT)
        self._labels = np.empty(chunk_rows, dtype=np.int8) if label else None
        self._hospitals = np.empty(chunk_rows, dtype=np.int32) if hospital else None
        self._fill = 0
        fields = [pa.field(n, pa.float32()) for n in self.names]
        if label:
            fields.append(pa.field(LABEL_COLUMN, pa.int8()))
        if hospital:
            fields.append(pa.field(HOSPITAL_COLUMN, pa.int32()))
        self._schema = pa.schema(fields)
        self._writer = pq.ParquetWriter(str(path), self._schema, compression="snappy")

    def add(self, values: Sequence[float], label: int = 0, hospital: int = 0) -> None:
        """Append one row (``values`` in the writer's column order)."""
        self._features[:, self._fill] = values
        if self._labels is not None:
            self._labels[self._fill] = label
        if self._hospitals is not None:
            self._hospitals[self._fill] = hospital
        self._fill += 1
        self.rows += 1
        if self._fill == self.chunk_rows:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if not self._fill:
            return
        n = self._fill
        columns = [pa.array(self._features[j, :n]) for j in range(len(self.names))]
        if self._labels is not None:
            columns.append(pa.array(self._labels[:n]))
        if self._hospitals is not None:
            columns.append(pa.array(self._hospitals[:n]))
        self._writer.write_table(pa.Table.from_arrays(columns, schema=self._schema))
        self._fill = 0

    def close(self) -> None:
        """Write the last, partial chunk and close the file."""
        self._flush()
        self._writer.close()

    def __enter__(self) -> FeatureWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_rows(
    path: Path, rows: np.ndarray | None = None, names: Sequence[str] = FEATURE_NAMES
) -> np.ndarray:
    """Rows of a feature file as a float32 matrix, one row group at a time.

    Args:
        path: a file of :class:`FeatureWriter`.
        rows: sorted row indices; None for every row.
        names: the columns, in the matrix's order.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(str(path))
    total = parquet.metadata.num_rows
    if rows is None:
        rows = np.arange(total)
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) and (np.any(np.diff(rows) <= 0) or rows[0] < 0 or rows[-1] >= total):
        raise ValueError("rows must be increasing indices of the file's rows")
    out = np.empty((len(rows), len(names)), dtype=FLOAT)
    final, means = _final_columns(path, names)
    start = 0
    for group in range(parquet.metadata.num_row_groups):
        size = parquet.metadata.row_group(group).num_rows
        lo, hi = np.searchsorted(rows, [start, start + size])
        if hi > lo:
            local = rows[lo:hi] - start
            whole = hi - lo == size
            # A column at a time: Arrow holds one column of one chunk, not the chunk.
            for j, name in enumerate(names):
                if name in final:
                    continue
                values = parquet.read_row_group(group, columns=[name]).column(0).to_numpy()
                out[lo:hi, j] = values if whole else values[local]
            if final:
                codes = parquet.read_row_group(group, columns=[HOSPITAL_COLUMN]).column(0)
                at = codes.to_numpy() if whole else codes.to_numpy()[local]
                for j, name in enumerate(names):
                    if name in final:
                        out[lo:hi, j] = means[at, final[name]]
        start += size
    pa.default_memory_pool().release_unused()
    return out


def period_means_path(path: Path) -> Path:
    """The file of a feature file's final period means (hospital code x PERIOD_BASES)."""
    return Path(path).with_suffix(".period.npy")


def _final_columns(path: Path, names: Sequence[str]) -> tuple[dict[str, int], np.ndarray]:
    """Which of ``names`` are read from the period means file (name -> its column), and it."""
    wanted = [n for n in names if n.startswith(PERIOD_PREFIX)]
    means_file = period_means_path(path)
    if not wanted or not means_file.exists():
        return {}, np.empty((0, 0), dtype=FLOAT)
    column = {PERIOD_PREFIX + base: k for k, base in enumerate(PERIOD_BASES)}
    return {n: column[n] for n in wanted}, np.load(means_file)


def event_order(
    event_us: np.ndarray, discharge: np.ndarray, claim_ids: Sequence[str]
) -> np.ndarray:
    """Row indices in event order: ``ClaimFacts.sort_key`` (instant, discharge, claim id)."""
    order = np.lexsort((discharge, event_us))
    ev, dc = event_us[order], discharge[order]
    tied = np.flatnonzero((ev[1:] == ev[:-1]) & (dc[1:] == dc[:-1]))
    if len(tied):
        # Runs of ties: position p ties with p + 1, so a run p..q covers p..q+1.
        for run in np.split(tied, np.flatnonzero(np.diff(tied) != 1) + 1):
            lo, hi = int(run[0]), int(run[-1]) + 2
            order[lo:hi] = sorted(order[lo:hi].tolist(), key=claim_ids.__getitem__)
    return order


@dataclass
class _Spool:
    """Valid claims' facts in file order (:func:`dump_facts`), with what orders them."""

    path: Path
    offsets: array[int] = field(default_factory=lambda: array("q", [0]))
    event_us: array[int] = field(default_factory=lambda: array("q"))
    discharge: array[int] = field(default_factory=lambda: array("q"))
    claim_ids: list[str] = field(default_factory=list)
    matched_labels: set[str] = field(default_factory=set)  # label rows naming a valid claim


def _spool_claims(
    data: Path,
    labels: Path | None,
    book: object | None,
    spool: _Spool,
    areas: Collection[str] | None = None,
) -> LoadedClaims:
    """Validate the claims file line by line and write each valid claim's facts to the spool.

    With ``areas``, only the lines of those hospital areas (:mod:`models.areas`).
    """
    from models.areas import lines_of_areas
    from models.data import count_unmatched, file_sha256, read_labels, relabel, valid_facts

    loaded = LoadedClaims(facts=[])
    table = read_labels(labels) if labels is not None else None
    matched: set[str] = set()
    with open(data, "rb") as fh, open(spool.path, "wb") as out:
        lines: Iterable[bytes] = fh if areas is None else lines_of_areas(fh, frozenset(areas))
        for fact in valid_facts(lines, loaded, book):
            if table is not None and fact.claim_id in table:
                fact = relabel(fact, table, loaded)
                matched.add(fact.claim_id)
            blob = dump_facts(fact)
            out.write(blob)
            spool.offsets.append(spool.offsets[-1] + len(blob))
            spool.event_us.append(fact.event_us)
            spool.discharge.append(fact.discharge)
            spool.claim_ids.append(fact.claim_id)
    if table is not None:
        count_unmatched(loaded, table, matched)
        spool.matched_labels = matched
    loaded.fingerprint = file_sha256([data] if labels is None else [data, labels])
    if loaded.skipped:
        log.info("skipped %d claims: %s", loaded.skipped, dict(loaded.skipped_by_code))
    return loaded


def build_feature_table(
    data: Path,
    labels: Path | None,
    book: object | None,
    workdir: Path,
    chunk_rows: int = CHUNK_ROWS,
    *,
    by_area: bool = False,
    areas: Collection[str] | None = None,
) -> FeatureTable:
    """Stream a claims file into a feature table under ``workdir``.

    Validates and skips claims as :func:`models.data.load_claims` does (the labels
    file overrides the claims' labels), orders them by event time and folds the
    features as :func:`detection.features.batch_features` does.

    Args:
        data: labelled claims JSONL.
        labels: optional labels JSONL overriding the claims' own labels.
        book: the settlement policies that validate the claims (None: bundled).
        workdir: a scratch folder; the Parquet file stays there.
        chunk_rows: rows per chunk written (a Parquet row group).
        by_area: one feature state per hospital area (``hospital_region``), so no
            claim's features depend on another area's claims (:mod:`models.areas`).
        areas: only the claims of these hospital areas (implies ``by_area``).
    """
    from detection.rules import rules_score

    by_area = by_area or areas is not None
    spool = _Spool(workdir / "facts.spool")
    loaded = _spool_claims(data, labels, book, spool, areas)
    event_us = np.frombuffer(spool.event_us, dtype=np.int64)
    discharge = np.frombuffer(spool.discharge, dtype=np.int64)
    order = event_order(event_us, discharge, spool.claim_ids)
    period = (int(discharge.min()), int(discharge.max())) if len(discharge) else (0, 0)
    del event_us, discharge
    spool.claim_ids.clear()
    spool.event_us, spool.discharge = array("q"), array("q")
    n = len(order)
    y = np.empty(n, dtype=np.int8)
    hospital = np.empty(n, dtype=np.int32)
    fraud = np.empty(n, dtype=np.int16)
    rules = np.empty(n, dtype=np.float64)
    hospital_codes: dict[str, int] = {}
    fraud_codes: dict[str | None, int] = {None: 0}
    state = FeatureState()
    states: dict[str, FeatureState] = {}  # by hospital area, when by_area
    path = workdir / "features.parquet"
    offsets = spool.offsets
    at = 0  # the spool's read position: claims mostly come in file order, without a seek
    writer = FeatureWriter(path, chunk_rows=chunk_rows, hospital=True)
    with open(spool.path, "rb") as facts, writer:
        for i, r in enumerate(_in_blocks(order)):
            if offsets[r] != at:
                facts.seek(offsets[r])
            at = offsets[r + 1]
            fact = load_facts(facts.read(at - offsets[r]))
            if by_area:
                state = states.get(fact.hospital_region) or states.setdefault(
                    fact.hospital_region, FeatureState()
                )
            features = state.update_and_features(fact)
            label = 1 if fact.is_fraud else 0
            code = hospital_codes.setdefault(fact.hospital_id, len(hospital_codes))
            writer.add(features.values, label, code)
            y[i] = label
            rules[i] = rules_score(features)
            hospital[i] = code
            fraud[i] = fraud_codes.setdefault(fact.fraud_type, len(fraud_codes))
    spool.path.unlink()
    _save_period_means(path, hospital_codes, [state] if not by_area else list(states.values()))
    del state, states, order
    # Renumber hospitals in the order of their ids.
    names = sorted(hospital_codes)
    renumber = np.empty(len(names), dtype=np.int32)
    for new, name in enumerate(names):
        renumber[hospital_codes[name]] = new
    return FeatureTable(
        path=path,
        y=y,
        hospital=renumber[hospital] if n else hospital,
        hospitals=tuple(names),
        fraud_type=fraud,
        fraud_types=tuple(fraud_codes),
        rules=rules,
        period=period,
        loaded=loaded,
        matched_labels=spool.matched_labels,
    )


def _save_period_means(
    path: Path, hospital_codes: dict[str, int], states: Sequence[FeatureState]
) -> None:
    """The period means each hospital reached at its last claim, by hospital code."""
    means = np.zeros((len(hospital_codes), len(PERIOD_BASES)), dtype=FLOAT)
    for state in states:  # by area, a hospital is in one state only
        for hospital_id, values in state.period.means().items():
            code = hospital_codes.get(hospital_id)
            if code is not None:
                means[code] = values
    np.save(period_means_path(path), means)


def build_in_child(
    data: Path,
    labels: Path | None,
    book: object | None,
    workdir: Path,
    chunk_rows: int = CHUNK_ROWS,
    *,
    by_area: bool = False,
) -> FeatureTable:
    """:func:`build_feature_table` in a forked child process, where fork is available.

    The feature state grows with persons, bills and hospitals, and Python seldom
    returns freed small objects to the system; built in a child, all of it goes
    back when the child ends, before any model is fitted. The child inherits the
    arguments (nothing is pickled on the way in) and leaves the table, or the
    exception it raised, in ``workdir``.
    """
    import multiprocessing
    import pickle

    if "fork" not in multiprocessing.get_all_start_methods():
        return build_feature_table(data, labels, book, workdir, chunk_rows, by_area=by_area)
    result = workdir / "table.pickle"

    def run() -> None:
        payload: tuple[str, object]
        try:
            table = build_feature_table(data, labels, book, workdir, chunk_rows, by_area=by_area)
            payload = ("table", table)
        except BaseException as exc:  # handed to the parent, which raises it
            payload = ("error", exc)
        try:
            blob = pickle.dumps(payload)
        except Exception:  # an exception that cannot be pickled
            blob = pickle.dumps(("error", RuntimeError(repr(payload[1]))))
        result.write_bytes(blob)

    child = multiprocessing.get_context("fork").Process(target=run, name="yibao-features")
    child.start()
    child.join()
    if not result.exists():
        raise RuntimeError(f"the feature process ended with exit code {child.exitcode}")
    kind, value = pickle.loads(result.read_bytes())
    result.unlink()
    if kind == "error":
        assert isinstance(value, BaseException)
        raise value
    assert isinstance(value, FeatureTable)
    return value


def _in_blocks(values: np.ndarray, block: int = CHUNK_ROWS) -> Iterator[int]:
    """The array's values as Python ints, a block at a time (not a list of them all)."""
    for start in range(0, len(values), block):
        yield from values[start : start + block].tolist()
