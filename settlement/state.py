"""Where the engine keeps what it must remember between claims.

Three maps: settled claim ids with their outcome (for duplicates), fund paid
per person and calendar year (for annual caps), and the other per person-year
accumulators of spec section 8 (:class:`YearTotals`: admissions, deductibles,
critical-illness and assistance bases and payments). Plain dicts in a batch
run, the changelogged shard in the stream: anything that is a MutableMapping.
"""

from __future__ import annotations

import sqlite3
import struct
import tempfile
from collections.abc import MutableMapping
from datetime import date
from typing import Any, NamedTuple, Protocol

from mypy_extensions import mypyc_attr

from settlement.kinds import CLAIM_TYPES


class SettledOutcome(NamedTuple):
    """What a settled claim was answered, enough to rebuild its record exactly."""

    claim_id: str
    claim_type: str
    discharge_date: str
    intercity: bool
    insured_region: str
    treatment_region: str
    policy_version: str
    total: int
    category_self_pay: int
    eligible: int
    deductible: int
    ratio: int
    fund_pay: int
    over_cap: int
    over_price: int
    ci_pay: int
    ma_pay: int
    patient_pay: int


#: Fields of an outcome before section 8 added ``over_price``, ``ci_pay`` and
#: ``ma_pay``: an outcome stored with this many fields (an older changelog
#: entry) is read with those three at 0 (see :func:`outcome_from_stored`).
OLD_OUTCOME_FIELDS = 15


def outcome_from_stored(stored: Any) -> SettledOutcome:
    """An outcome from its stored list or tuple, an older 15-field one included."""
    if len(stored) == OLD_OUTCOME_FIELDS:
        return SettledOutcome(*(*stored[:14], 0, 0, 0, stored[14]))
    return SettledOutcome(*stored)


class YearTotals(NamedTuple):
    """A person's section-8 accumulators for one calendar year (besides fund paid).

    Used both as the running totals and as one claim's change to them.
    """

    admissions: int = 0  # settled in-patient claims (spec 8.5: n)
    deductibles: int = 0  # fen, their deductibles (8.5: d)
    ci_base: int = 0  # fen, critical-illness bases q (8.8: Q)
    ci_paid: int = 0  # fen, ci_pay (8.8: CI)
    ma_base: int = 0  # fen, assistance bases a (8.9: Aq)
    ma_paid: int = 0  # fen, ma_pay (8.9: MA)


NO_TOTALS = YearTotals()


def added(totals: YearTotals, delta: YearTotals) -> YearTotals:
    """``totals`` plus ``delta``, field by field."""
    return YearTotals(
        totals.admissions + delta.admissions,
        totals.deductibles + delta.deductibles,
        totals.ci_base + delta.ci_base,
        totals.ci_paid + delta.ci_paid,
        totals.ma_base + delta.ma_base,
        totals.ma_paid + delta.ma_paid,
    )


class SettlementState(Protocol):
    """What the engine needs remembered; see :class:`MappingState`."""

    def settled(self, claim_id: str) -> SettledOutcome | None: ...

    def remember(self, outcome: SettledOutcome) -> None: ...

    def fund_paid(self, person_id: str, year: int) -> int: ...

    def add_fund_paid(self, person_id: str, year: int, fen: int) -> None: ...

    def year_totals(self, person_id: str, year: int) -> YearTotals: ...

    def add_year_totals(self, person_id: str, year: int, delta: YearTotals) -> None: ...


def accumulator_key(person_id: str, year: int) -> str:
    """Key of a person's fund-paid accumulator for one calendar year."""
    return f"{person_id}:{year}"


# The stream's ShardState (streams/tables.py) extends this class; compiled by
# mypyc, a class must say so to allow that. (mypy_extensions is a declared
# dependency in pyproject.toml.)
@mypyc_attr(allow_interpreted_subclasses=True)
class MappingState:
    """State over three mutable mappings (dicts, or the stream's shard).

    Outcomes are stored as lists so JSON-serialising tables can hold them;
    year totals as plain tuples of six ints.
    """

    def __init__(
        self,
        settled: MutableMapping[str, Any] | None = None,
        fund_paid: MutableMapping[str, int] | None = None,
        totals: MutableMapping[str, Any] | None = None,
    ) -> None:
        self.settled_map: MutableMapping[str, Any] = {} if settled is None else settled
        self.fund_paid_map: MutableMapping[str, int] = {} if fund_paid is None else fund_paid
        self.totals_map: MutableMapping[str, Any] = {} if totals is None else totals

    def settled(self, claim_id: str) -> SettledOutcome | None:
        stored = self.settled_map.get(claim_id)
        return None if stored is None else outcome_from_stored(stored)

    def remember(self, outcome: SettledOutcome) -> None:
        self.settled_map[outcome.claim_id] = list(outcome)

    def fund_paid(self, person_id: str, year: int) -> int:
        return self.fund_paid_map.get(accumulator_key(person_id, year), 0)

    def add_fund_paid(self, person_id: str, year: int, fen: int) -> None:
        key = accumulator_key(person_id, year)
        self.fund_paid_map[key] = self.fund_paid_map.get(key, 0) + fen

    def year_totals(self, person_id: str, year: int) -> YearTotals:
        stored = self.totals_map.get(accumulator_key(person_id, year))
        return NO_TOTALS if stored is None else YearTotals(*stored)

    def add_year_totals(self, person_id: str, year: int, delta: YearTotals) -> None:
        key = accumulator_key(person_id, year)
        stored = self.totals_map.get(key)
        now = delta if stored is None else added(YearTotals(*stored), delta)
        self.totals_map[key] = tuple(now)


_PACKED = struct.Struct("<B?IIIIqqqqHqqqqqq")


class CompactMemoryState:
    """In-memory state for batch runs, packed to about a hundred bytes a claim.

    A million settled claims must not cost a gigabyte of Python objects: each
    outcome is one packed ``bytes`` (dates as ordinals, regions as integers,
    policy labels as an index into a shared list).
    """

    def __init__(self) -> None:
        self._settled: dict[str, bytes] = {}
        self._fund_paid: dict[str, int] = {}
        self._totals: dict[str, list[int]] = {}  # a YearTotals as a mutable list
        self._labels: list[str] = []
        self._label_index: dict[str, int] = {}

    def settled(self, claim_id: str) -> SettledOutcome | None:
        packed = self._settled.get(claim_id)
        if packed is None:
            return None
        kind, intercity, day, insured, treatment, label, *amounts = _PACKED.unpack(packed)
        return SettledOutcome(
            claim_id,
            CLAIM_TYPES[kind],
            date.fromordinal(day).isoformat(),
            intercity,
            f"{insured:06d}",
            f"{treatment:06d}",
            self._labels[label],
            *amounts,
        )

    def remember(self, outcome: SettledOutcome) -> None:
        label = self._label_index.get(outcome.policy_version)
        if label is None:
            label = self._label_index[outcome.policy_version] = len(self._labels)
            self._labels.append(outcome.policy_version)
        self._settled[outcome.claim_id] = _PACKED.pack(
            CLAIM_TYPES.index(outcome.claim_type),
            outcome.intercity,
            date.fromisoformat(outcome.discharge_date).toordinal(),
            int(outcome.insured_region),
            int(outcome.treatment_region),
            label,
            *outcome[7:],
        )

    def fund_paid(self, person_id: str, year: int) -> int:
        return self._fund_paid.get(accumulator_key(person_id, year), 0)

    def add_fund_paid(self, person_id: str, year: int, fen: int) -> None:
        key = accumulator_key(person_id, year)
        self._fund_paid[key] = self._fund_paid.get(key, 0) + fen

    def year_totals(self, person_id: str, year: int) -> YearTotals:
        totals = self._totals.get(accumulator_key(person_id, year))
        return NO_TOTALS if totals is None else YearTotals(*totals)

    def add_year_totals(self, person_id: str, year: int, delta: YearTotals) -> None:
        # in place: every in-patient claim adds here, also under plain policies
        key = accumulator_key(person_id, year)
        totals = self._totals.get(key)
        if totals is None:
            self._totals[key] = list(delta)
            return
        for index, value in enumerate(delta):
            if value:
                totals[index] += value


class SpillingState(CompactMemoryState):
    """Batch state whose settled outcomes live in a temporary SQLite file.

    Memory stays flat however long the input: outcomes wait in a small buffer,
    then go to disk in batches. A fixed-size bit filter answers "never seen"
    for almost every new claim_id without a disk read; only a possible
    duplicate (or a rare false positive) costs a lookup. Accumulators stay in
    memory: they grow with the insured population, not with the input.

    Args:
        directory: where the temporary file goes (default: the system's).
        filter_bits: size of the bit filter; 2**27 bits is 16 MiB and keeps
            false positives under 1% up to about a million claims.
        flush_every: outcomes buffered before they are written.
    """

    def __init__(
        self,
        directory: str | None = None,
        filter_bits: int = 1 << 27,
        flush_every: int = 20_000,
    ) -> None:
        super().__init__()
        self._file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in close()
            prefix="yibao-settled-", suffix=".sqlite", dir=directory
        )
        self._db = sqlite3.connect(self._file.name)
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE settled (claim_id TEXT PRIMARY KEY, outcome BLOB) WITHOUT ROWID;"
        )
        self._mask = filter_bits - 1
        if filter_bits & self._mask:
            raise ValueError("filter_bits must be a power of two")
        self._filter = bytearray(filter_bits >> 3)
        self._flush_every = flush_every

    def _maybe_seen(self, claim_id: str) -> bool:
        bit = hash(claim_id) & self._mask
        return bool(self._filter[bit >> 3] & (1 << (bit & 7)))

    def settled(self, claim_id: str) -> SettledOutcome | None:
        if not self._maybe_seen(claim_id):
            return None
        if claim_id not in self._settled:
            row = self._db.execute(
                "SELECT outcome FROM settled WHERE claim_id = ?", (claim_id,)
            ).fetchone()
            if row is None:
                return None
            self._settled[claim_id] = row[0]
        return super().settled(claim_id)

    def remember(self, outcome: SettledOutcome) -> None:
        bit = hash(outcome.claim_id) & self._mask
        self._filter[bit >> 3] |= 1 << (bit & 7)
        super().remember(outcome)
        if len(self._settled) >= self._flush_every:
            self.flush()

    def flush(self) -> None:
        """Write buffered outcomes to disk and forget them in memory."""
        self._db.executemany("INSERT OR REPLACE INTO settled VALUES (?, ?)", self._settled.items())
        self._settled.clear()

    def close(self) -> None:
        """Remove the temporary file."""
        self._db.close()
        self._file.close()
