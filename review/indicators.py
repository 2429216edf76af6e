"""Monitoring indicators as pure computations over rows the routers fetch.

Money is integer fen and ratios ten-thousandths on the way in; results carry
formatted strings for pages and CSV files.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from settlement.money import RATIO_ONE, format_fen, format_ratio


def fen_text(fen: int) -> str:
    """Fen as yuan with two decimals; PostgreSQL's SUM of BIGINT (a Decimal) is accepted."""
    return format_fen(int(fen))


def ratio_text(numerator: int, denominator: int) -> str:
    """``numerator / denominator`` as a 4-decimal ratio, rounded half-up ("" when 0/0)."""
    numerator, denominator = int(numerator), int(denominator)
    if denominator <= 0:
        return ""
    return format_ratio((numerator * RATIO_ONE * 2 + denominator) // (denominator * 2))


def effective_rates(rows: Iterable[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    """Effective reimbursement rate (fund paid / total) per group, next to the policy ratio.

    Args:
        rows: settled claims with ``by``, ``total_fen``, ``fund_pay_fen`` and
            ``ratio`` (the applied policy ratio in ten-thousandths); or rows
            already summed per group, with ``claims`` and ``weighted`` (the sum
            of total x ratio) instead of ``ratio``.
        by: the grouping key (``scheme``, ``claim_type``, ``hospital_level``).

    Returns:
        Rows ``{by, claims, total, fund_pay, effective_rate, policy_ratio}``;
        policy_ratio is the applied ratios' mean weighted by total.
    """
    acc: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in rows:
        a = acc[row[by]]
        total = int(row["total_fen"] or 0)
        a[0] += int(row.get("claims", 1))
        a[1] += total
        a[2] += int(row["fund_pay_fen"] or 0)
        weighted = row["weighted"] if "weighted" in row else total * (row["ratio"] or 0)
        a[3] += round(weighted)
    out = []
    for key in sorted(acc, key=str):
        claims, total, fund, weighted = acc[key]
        out.append(
            {
                by: key,
                "claims": claims,
                "total": fen_text(total),
                "fund_pay": fen_text(fund),
                "effective_rate": ratio_text(fund, total),
                "policy_ratio": ratio_text(weighted, total * 10000) if total else "",
            }
        )
    return out


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of sorted values, nearest-rank."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


def settlement_delays(rows: Iterable[tuple[str, datetime, datetime]]) -> list[dict[str, Any]]:
    """Delay from submission to settlement per month: median and 90th percentile in hours.

    Args:
        rows: ``(month "YYYY-MM", submitted_at, settled_at)`` (naive UTC).
    """
    by_month: dict[str, list[float]] = defaultdict(list)
    for month, submitted, settled in rows:
        if submitted is None or settled is None:
            continue
        by_month[month].append((settled - submitted).total_seconds() / 3600)
    out = []
    for month in sorted(by_month):
        hours = sorted(by_month[month])
        out.append(
            {
                "month": month,
                "claims": len(hours),
                "median_hours": f"{percentile(hours, 0.5):.1f}",
                "p90_hours": f"{percentile(hours, 0.9):.1f}",
            }
        )
    return out


def fund_by_region_month(rows: Iterable[tuple[str, str, int, int]]) -> list[dict[str, Any]]:
    """Fund paid per insured region and month from ``(region, month, claims, fund_fen)``."""
    return [
        {
            "region": region or UNKNOWN_REGION,
            "month": month,
            "claims": int(claims),
            "fund_pay": fen_text(fund or 0),
        }
        for region, month, claims, fund in sorted(rows, key=lambda r: (r[0] or "", r[1] or ""))
    ]


def flag_rates(rows: Iterable[tuple[str, int, int, int, int]]) -> list[dict[str, Any]]:
    """Flag and confirmation rates per month.

    Args:
        rows: ``(month, claims, flagged, decided, confirmed)``: ``claims`` counts
            every claim known, scored or not (the stream sends the scores of
            flagged claims only); ``decided`` counts flagged claims confirmed or cleared.
    """
    out = []
    for month, *counts in sorted(rows, key=lambda r: r[0] or ""):
        claims, flagged, decided, confirmed = (int(c or 0) for c in counts)
        out.append(
            {
                "month": month,
                "claims": claims,
                "flagged": flagged,
                "flag_rate": ratio_text(flagged, claims),
                "decided": decided,
                "confirmed": confirmed,
                "confirmation_rate": ratio_text(confirmed, decided),
            }
        )
    return out


def recoveries_by_month(rows: Iterable[tuple[str, int, int]]) -> list[dict[str, Any]]:
    """Claims confirmed with an amount recovered, and the amount, per month.

    Args:
        rows: ``(month, claims, recovered_fen)``: the month of the decision,
            the claims confirmed with a recovered amount above zero, its sum.
    """
    return [
        {
            "month": month,
            "claims_recovered": int(claims or 0),
            "recovered": fen_text(recovered or 0),
        }
        for month, claims, recovered in sorted(rows, key=lambda r: r[0] or "")
    ]


#: How a settlement record without a region is shown and exported.
UNKNOWN_REGION = "unknown"
#: A cell beginning with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def neutralise_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a ``'``.

    Numbers, and text that is only a number (``-12.50``), are kept as they are.
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Rows as CSV text with a header from the first row's keys, every cell neutralised."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writerow({k: neutralise_cell(k) for k in rows[0]})
        writer.writerows({k: neutralise_cell(v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()
