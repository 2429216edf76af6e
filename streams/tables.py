"""Changelogged settlement state of the stream worker, one shard per input partition.

The engine's state (settled claims, per-person annual accumulators: fund paid
and the section-8 year totals) plus the inter-city clearing totals and the DIP
month totals are kept in memory and made durable through ONE compacted
changelog topic: one entry per settled claim, keyed by claim_id, carrying the
outcome *and* its delta to every accumulator. A claim's effect on every table
is therefore a single Kafka message, so a crash can never persist "settled"
without "paid" or the reverse (two tables with two changelog writes, as Faust
tables would do, could). Accumulators, clearing and DIP totals are derived
from the entries on recovery (DIP totals from the case's points stored in its
entry); applying an entry twice is a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from settlement.claim import Claim
from settlement.jsonio import encode_record_bytes
from settlement.state import (
    MappingState,
    SettledOutcome,
    YearTotals,
    accumulator_key,
    added,
    outcome_from_stored,
)

CHANGELOG_SUFFIX = "-state-changelog"
FENCE_PREFIX = b"__fence__:"


@dataclass
class PartitionShard:
    """The state of one input partition number (shared by both claim topics)."""

    #: claim id -> outcome as a tuple of str/int/bool: such tuples are untracked by the
    #: cyclic GC, whose full passes over 200,000 lists took 90 ms (p99 latency spikes)
    settled: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    fund_paid: dict[str, int] = field(default_factory=dict)
    #: person:year -> the section-8 year totals (a YearTotals, stored as a plain tuple)
    totals: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: source (topic, partition, offset) of the message that first settled each claim
    source: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    #: (period, debtor, creditor) -> [fund_pay fen, claims]
    clearing: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    #: (period, region, hospital_id) -> [grouped DIP cases, points (1e-4), item fund fen]
    dip: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    #: changelog offset up to which entries have been applied (exclusive)
    applied_to: int = 0

    def apply(self, entry: dict[str, Any]) -> bool:
        """Apply one changelog entry; False (and no change) when it was applied already."""
        outcome = outcome_from_stored(entry["o"])
        claim_id = outcome.claim_id
        if claim_id in self.settled:
            return False
        self.settled[claim_id] = tuple(outcome)
        self.source[claim_id] = (str(entry["src"][0]), int(entry["src"][1]), int(entry["src"][2]))
        acc = entry.get("acc")
        if acc:
            key, fen = acc
            if fen:
                self.fund_paid[key] = self.fund_paid.get(key, 0) + fen
            delta = entry.get("totals")
            if delta:
                stored = self.totals.get(key)
                now = YearTotals(*delta)
                if stored is not None:
                    now = added(YearTotals(*stored), now)
                self.totals[key] = tuple(now)
        add_clearing(self.clearing, outcome)
        dip = entry.get("dip")
        if dip:
            add_dip(self.dip, outcome, dip)
        return True


def add_clearing(totals: dict[tuple[str, str, str], list[int]], outcome: SettledOutcome) -> None:
    """Count a settled inter-city claim in the gross clearing totals (spec section 7)."""
    if not outcome.intercity:
        return
    key = (outcome.discharge_date[:7], outcome.insured_region, outcome.treatment_region)
    row = totals.get(key)
    if row is None:
        row = totals[key] = [0, 0]
    row[0] += outcome.fund_pay
    row[1] += 1


def add_dip(
    totals: dict[tuple[str, str, str], list[int]], outcome: SettledOutcome, dip: list[Any]
) -> None:
    """Count a grouped DIP case (``dip`` = ``[hospital_id, points]``) in its month's totals.

    The case's area is its hospital's (``treatment_region``), its month that of
    ``discharge_date``, its item fund the settled ``fund_pay`` (dip.md 4 and 7).
    """
    hospital_id, points = dip
    key = (outcome.discharge_date[:7], outcome.treatment_region, hospital_id)
    row = totals.get(key)
    if row is None:
        row = totals[key] = [0, 0, 0]
    row[0] += 1
    row[1] += points
    row[2] += outcome.fund_pay


def encode_entry(
    outcome: SettledOutcome,
    acc: tuple[str, int] | None,
    src: tuple[str, int, int],
    totals: YearTotals | None = None,
    dip: list[Any] | None = None,
) -> bytes:
    """A changelog entry: the input message's coordinates, the accumulator deltas, the outcome.

    ``[topic, partition, offset, key, fen, *outcome]``; when the claim also
    changes the person's section-8 year totals, ``fen`` is the list ``[fen,
    *totals delta]`` instead of a number (so entries of policies without
    section 8 stay as they were). Optional parts follow the outcome as one JSON
    object, by name (only a DIP case has one: ``{"dip": [hospital_id, points]}``).
    A flat JSON array through orjson: the entry is written once per settled
    claim on the hot path (a dict through ``json.dumps`` cost 9% of the
    worker's CPU).
    """
    key, fen = acc if acc else (None, 0)
    deltas: Any = fen if totals is None else [fen, *totals]
    row: list[Any] = [src[0], src[1], src[2], key, deltas, *outcome]
    if dip is not None:
        row.append({"dip": dip})
    return encode_record_bytes(row)


def decode_entry(value: bytes) -> dict[str, Any]:
    """``{"src": [topic, partition, offset], "acc": [key, fen] | None, "totals": [6 ints] |
    None, "o": outcome list, "dip": [hospital_id, points] | None}``."""
    row = orjson.loads(value)
    extra = row.pop() if type(row[-1]) is dict else {}
    deltas = row[4]
    totals = None
    if isinstance(deltas, list):
        deltas, totals = deltas[0], deltas[1:]
    return {
        "src": row[0:3],
        "acc": [row[3], deltas] if row[3] is not None else None,
        "totals": totals,
        "o": row[5:],
        "dip": extra.get("dip"),
    }


class ShardState(MappingState):
    """The engine's ``SettlementState`` over one shard, recording what must be logged.

    ``Settler.settle_claim`` calls ``add_fund_paid`` and ``add_year_totals``
    (each when there is something to add) then ``remember``; together they
    become one pending changelog entry (see module docstring).
    """

    def __init__(
        self,
        shard: PartitionShard,
        dip: Callable[[Claim, SettledOutcome], list[Any] | None] | None = None,
    ) -> None:
        super().__init__(shard.settled, shard.fund_paid, shard.totals)
        self.shard = shard
        #: scores a settled in-patient claim's DIP case (streams.dip_tally.DipScorer)
        self.dip = dip
        self.source: tuple[str, int, int] = ("", 0, 0)
        self._acc: tuple[str, int] | None = None
        self._claim: Claim | None = None
        self._totals: YearTotals | None = None
        self.pending: list[bytes] = []
        self.pending_keys: list[bytes] = []

    def use(self, source: tuple[str, int, int], claim: Claim | None = None) -> None:
        """Set the input message (and its validated claim) whose settlement follows."""
        self.source = source
        self._acc = None
        self._claim = claim
        self._totals = None

    def add_fund_paid(self, person_id: str, year: int, fen: int) -> None:
        super().add_fund_paid(person_id, year, fen)
        self._acc = (accumulator_key(person_id, year), fen)

    def add_year_totals(self, person_id: str, year: int, delta: YearTotals) -> None:
        super().add_year_totals(person_id, year, delta)
        if self._acc is None:
            self._acc = (accumulator_key(person_id, year), 0)
        self._totals = delta

    def remember(self, outcome: SettledOutcome) -> None:
        self.shard.settled[outcome.claim_id] = tuple(outcome)
        self.shard.source[outcome.claim_id] = self.source
        add_clearing(self.shard.clearing, outcome)
        dip = None
        claim = self._claim
        # Only a settled in-patient claim can be a DIP case: the others pay nothing more.
        if (
            self.dip is not None
            and claim is not None
            and outcome.claim_type == "inpatient"
            and claim.claim_id == outcome.claim_id
        ):
            dip = self.dip(claim, outcome)
            if dip is not None:
                add_dip(self.shard.dip, outcome, dip)
        self.pending.append(encode_entry(outcome, self._acc, self.source, self._totals, dip))
        self.pending_keys.append(outcome.claim_id.encode())
        self._acc = None
        self._claim = None
        self._totals = None

    def take_pending(self) -> list[tuple[bytes, bytes]]:
        """The changelog entries written since the last call, as (key, value)."""
        out = list(zip(self.pending_keys, self.pending, strict=True))
        self.pending.clear()
        self.pending_keys.clear()
        return out


def clearing_totals(shards: Iterable[PartitionShard]) -> list[dict[str, Any]]:
    """Gross inter-city totals over the given shards, one row per (period, debtor, creditor)."""
    merged: dict[tuple[str, str, str], list[int]] = {}
    for shard in shards:
        for key, (fen, n) in shard.clearing.items():
            row = merged.setdefault(key, [0, 0])
            row[0] += fen
            row[1] += n
    return [
        {"period": p, "debtor": d, "creditor": c, "fund_pay_fen": fen, "claims": n}
        for (p, d, c), (fen, n) in sorted(merged.items())
    ]
