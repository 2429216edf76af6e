"""The stream's DIP tally: the points of each settled DIP case, per hospital and month.

At settle time :class:`DipScorer` groups a settled in-patient claim with the
pure ``dip/`` core and gives what goes into the claim's ONE changelog entry
(``[hospital_id, points]``); the shard folds it into its monthly totals, and
recovery folds the same entries again (``streams/tables.py``). ``/dip``
answers with :func:`dip_month_records`, the records ``yibao dip month`` writes
for the same claims. Why the points are stored rather than recomputed:
docs/stream.md, "The DIP tally".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dip.cases import GROUPED, DipCase, assess
from dip.clearing import PeriodTally, months_records
from dip.policy import DipBook
from settlement.claim import Claim
from settlement.state import SettledOutcome
from streams.tables import PartitionShard


class DipScorer:
    """Scores a settled claim's DIP case under the DIP book loaded at worker start.

    Args:
        book: every pooling area's DIP policy (``dip.loader.load_dip_dir``).
    """

    def __init__(self, book: DipBook) -> None:
        self.book = book

    def __call__(self, claim: Claim, outcome: SettledOutcome) -> list[Any] | None:
        """``[hospital_id, points]`` of a grouped DIP case, else None (spec dip.md 4-5).

        Only settled in-patient claims reach here (the caller checks the type); a
        claim of an area without a DIP version in force, or an excluded or
        unassigned case, adds nothing to the month records.
        """
        version = self.book.version_for(claim.hospital_region, claim.discharge_date)
        if version is None:
            return None
        case = DipCase(
            claim_id=claim.claim_id,
            hospital_id=claim.hospital_id,
            region=claim.hospital_region,
            level=claim.hospital_level,
            admission_date=claim.admission_date,
            discharge_date=claim.discharge_date,
            diagnosis=claim.diagnosis,
            procedures=claim.procedures,
            # The settlement record's amounts, as `yibao dip` reads them.
            total_fen=outcome.total,
            fund_pay_fen=outcome.fund_pay,
        )
        result = assess(case, version)
        if result.status != GROUPED:
            return None
        return [claim.hospital_id, result.points]


def dip_month_records(
    shards: Iterable[PartitionShard], book: DipBook, period: str | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The month records of the shards' DIP totals, as ``yibao dip month`` writes them.

    Args:
        shards: the shards whose totals are summed (a worker's own partitions).
        book: the DIP book (its ``years`` give each area's advance rate).
        period: ``YYYY-MM``, or None for every month with a grouped case.

    Returns:
        The records (by period, then area, then hospital) and the warnings of
        areas left out (no ``years`` entry for the month's year).
    """
    tallies: dict[str, PeriodTally] = {}
    for shard in shards:
        for (month, region, hospital_id), (cases, points, fund) in shard.dip.items():
            if period is None or month == period:
                tally = tallies.setdefault(month, PeriodTally())
                tally.add_totals(region, hospital_id, cases, points, fund)
    budgets = {region: policy.years for region, policy in book.regions.items()}
    return months_records(tallies, budgets)
