"""A hospital against its peers (same level): cost per stay, length of stay,
re-admission rate and flag rate over time, as rows and inline SVG charts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from markupsafe import Markup
from sqlalchemy import String, case, cast, func, select
from sqlalchemy.orm import Session

from review.charts import bar_chart, line_chart, plausible_months
from review.models import REVIEW_READMISSION_WINDOW_DAYS, Claim

MAX_BARS = 14


def month_of(column: Any) -> Any:
    """``YYYY-MM`` of a date column, in SQL both SQLite and PostgreSQL run."""
    return func.substr(cast(column, String), 1, 7)


def level_metrics(db: Session, level: int | None) -> list[dict[str, Any]]:
    """Per hospital of ``level``: in-patient stays, mean cost, mean stay, re-admission rate."""
    rows = db.execute(
        select(
            Claim.hospital_id,
            func.count(),
            func.avg(Claim.total_fen),
            func.avg(Claim.stay_days),
            func.avg(case((Claim.readmission.is_(True), 1.0), else_=0.0)),
        )
        .where(Claim.claim_type == "inpatient", Claim.hospital_level == level)
        .group_by(Claim.hospital_id)
        .order_by(Claim.hospital_id)
    ).all()
    return [
        {
            "hospital_id": h,
            "stays": n,
            "cost_per_stay": float(cost or 0) / 100,
            "stay_days": float(days or 0),
            "readmission_rate": float(readmit or 0),
        }
        for h, n, cost, days, readmit in rows
    ]


def _monthly_flag_rates(db: Session, condition: Any) -> dict[str, float]:
    month = month_of(Claim.discharge_date)
    flagged = func.sum(case((Claim.flagged.is_(True), 1), else_=0))
    query = (
        select(month, func.count(), flagged)
        .where(Claim.discharge_date.is_not(None), condition)
        .group_by(month)
        .order_by(month)
    )
    return {m: int(f) / n for m, n, f in db.execute(query) if n}


def shown_months(db: Session, cache: PeerCache | None = None) -> set[str]:
    """The months a chart axis shows: every claim's discharge month, sparse ends left off.

    Judged over all claims (one hospital has too few per month to tell a
    corrupt date from a quiet month); kept in ``cache`` like the peer figures.
    """

    def compute() -> set[str]:
        month = month_of(Claim.discharge_date)
        rows = db.execute(
            select(month, func.count()).where(Claim.discharge_date.is_not(None)).group_by(month)
        )
        return plausible_months({m: int(n) for m, n in rows})

    shown: set[str] = (cache or PeerCache(ttl_s=0)).get("months", None, compute)
    return shown


class PeerCache:
    """Per-level figures shared by every hospital of the level, kept a few minutes.

    They scan every claim of the level; a claim page must not wait for that.
    """

    def __init__(self, ttl_s: float = 300.0) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[tuple[str, int | None], tuple[float, Any]] = {}

    def get(self, kind: str, level: int | None, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        entry = self._entries.get((kind, level))
        if entry is None or now - entry[0] > self.ttl_s:
            entry = (now, compute())
            self._entries[kind, level] = entry
        return entry[1]


def flag_rate_by_month(
    db: Session, hospital_id: str, level: int | None, cache: PeerCache | None = None
) -> dict[str, Any]:
    """Monthly flag rate of the hospital and of all hospitals of its level."""
    own = _monthly_flag_rates(db, Claim.hospital_id == hospital_id)
    cache = cache or PeerCache(ttl_s=0)
    peers = cache.get(
        "flags", level, lambda: _monthly_flag_rates(db, Claim.hospital_level == level)
    )
    months = sorted((set(own) | set(peers)) & shown_months(db, cache))
    return {
        "months": months,
        "own": [own.get(m) for m in months],
        "peers": [peers.get(m) for m in months],
    }


def peer_charts(
    db: Session,
    hospital_id: str | None,
    level: int | None,
    cache: PeerCache | None = None,
    _: Callable[[str], str] = str,
) -> dict[str, Markup]:
    """The four comparison charts for a hospital's page and its claims' pages.

    Titles and legends are translated by ``_`` (the page's gettext).
    """
    if not hospital_id:
        return {}
    cache = cache or PeerCache(ttl_s=0)
    metrics = cache.get("metrics", level, lambda: level_metrics(db, level))
    # Keep this hospital and the peers with most stays, so the chart stays legible.
    others = sorted(
        (m for m in metrics if m["hospital_id"] != hospital_id), key=lambda m: -m["stays"]
    )
    shown = sorted(
        [m for m in metrics if m["hospital_id"] == hospital_id] + others[: MAX_BARS - 1],
        key=lambda m: m["hospital_id"],
    )
    labels = [m["hospital_id"] for m in shown]
    mine = labels.index(hospital_id) if hospital_id in labels else None
    trend = flag_rate_by_month(db, hospital_id, level, cache)
    peers_name = _("level-{level} hospitals").format(level=level) if level else _("all hospitals")
    return {
        "cost": bar_chart(
            labels,
            [m["cost_per_stay"] for m in shown],
            _("Cost per stay (yuan), {peers}").format(peers=peers_name),
            mine,
        ),
        "stay": bar_chart(
            labels,
            [m["stay_days"] for m in shown],
            _("Length of stay (days), {peers}").format(peers=peers_name),
            mine,
        ),
        "readmit": bar_chart(
            labels,
            [m["readmission_rate"] * 100 for m in shown],
            _("{days}-day re-admission rate (%), {peers}").format(
                days=REVIEW_READMISSION_WINDOW_DAYS, peers=peers_name
            ),
            mine,
        ),
        "flags": line_chart(
            trend["months"],
            {
                hospital_id: [None if v is None else v * 100 for v in trend["own"]],
                peers_name: [None if v is None else v * 100 for v in trend["peers"]],
            },
            _("Flag rate by month (%)"),
        ),
    }
