"""Monthly inter-city clearing between pooling areas (spec section 7).

Each settled inter-city claim makes the insured region owe its ``fund_pay`` to
the treatment region; a month's debts are netted per pair of regions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from settlement.money import format_fen, parse_fen_text

log = logging.getLogger(__name__)


def clear_period(records: Iterable[dict[str, Any]], period: str) -> list[dict[str, Any]]:
    """Net one month's inter-city debts from settlement records.

    Args:
        records: section-6 records in any order; only ``settled`` inter-city
            records whose discharge month is ``period`` count. A ``claim_id``
            settled twice (a re-delivered message in a stream) counts once.
        period: ``YYYY-MM``.

    Returns:
        One row per pair of regions with a non-zero balance, ordered by debtor
        then creditor: ``{"period", "debtor", "creditor", "amount", "claims"}``.
    """
    owed: dict[tuple[str, str], int] = {}  # (debtor, creditor) -> fen
    claims: dict[tuple[str, str], int] = {}  # unordered pair -> count
    seen: set[str] = set()
    for record in records:
        if record.get("status") != "settled" or not record.get("intercity"):
            continue
        if not str(record.get("discharge_date", "")).startswith(period + "-"):
            continue
        claim_id = record["claim_id"]
        if claim_id in seen:
            log.warning("claim %s appears settled more than once; counted once", claim_id)
            continue
        seen.add(claim_id)
        debtor, creditor = record["insured_region"], record["treatment_region"]
        owed[debtor, creditor] = owed.get((debtor, creditor), 0) + parse_fen_text(
            record["fund_pay"]
        )
        pair = (min(debtor, creditor), max(debtor, creditor))
        claims[pair] = claims.get(pair, 0) + 1
    rows = []
    for (low, high), count in claims.items():
        balance = owed.get((low, high), 0) - owed.get((high, low), 0)
        if balance == 0:
            continue
        debtor, creditor = (low, high) if balance > 0 else (high, low)
        rows.append(
            {
                "period": period,
                "debtor": debtor,
                "creditor": creditor,
                "amount": format_fen(abs(balance)),
                "claims": count,
            }
        )
    rows.sort(key=lambda row: (row["debtor"], row["creditor"]))
    return rows
