"""A second, deliberately simple implementation of dip.md, written from the spec's text.

Fractions for every exact value and Decimal only to round and print; no shared
code with ``dip/`` except the loaded policy objects (their numbers are turned
back into Fractions here). Slow and plain on purpose: it is the cross-check.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from dip.policy import DipBook


def rounded(value: Fraction, places: int) -> Fraction:
    """Half-up, symmetric for negatives (spec section 2)."""
    scaled = abs(value) * 10**places
    whole = math.floor(scaled + Fraction(1, 2))
    return Fraction(whole if value >= 0 else -whole, 10**places)


def four(value: Fraction) -> str:
    return f"{Decimal(rounded(value, 4).numerator) / Decimal(rounded(value, 4).denominator):.4f}"


def money(value: Fraction) -> str:
    return f"{Decimal(rounded(value, 2).numerator) / Decimal(rounded(value, 2).denominator):.2f}"


def F4(ten_thousandths: int) -> Fraction:
    return Fraction(ten_thousandths, 10_000)


def yuan(fen: int) -> Fraction:
    return Fraction(fen, 100)


def matches(key: str, code: str) -> bool:
    return key == code or (len(key) == 3 and code.startswith(key + "."))


def reference(
    claims: list[Any], records: list[Any], book: DipBook, year: int, period: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(case records, year records, month records), straight from the spec."""
    assert len(claims) == len(records)
    cases: list[dict[str, Any]] = []
    grouped: list[dict[str, Any]] = []  # the case record plus exact values
    for claim, record in zip(claims, records, strict=True):
        if record.get("status") != "settled" or record.get("claim_type") != "inpatient":
            continue
        region = claim["hospital"]["region"]
        if region not in book.regions:
            continue
        discharge = date.fromisoformat(claim["discharge_date"])
        policy = book.regions[region]
        in_force = [v for v in policy.versions if v.effective_from <= discharge]
        if not in_force:
            continue
        v = max(in_force, key=lambda x: x.effective_from)
        level = claim["hospital"]["level"]
        common = {
            "claim_id": claim["claim_id"],
            "hospital_id": claim["hospital"]["hospital_id"],
            "region": region,
            "level": level,
            "discharge_date": claim["discharge_date"],
        }
        los = (discharge - date.fromisoformat(claim["admission_date"])).days
        if los <= v.los_exclude_at_most or los >= v.los_exclude_at_least:
            cases.append({**common, "status": "excluded", "reason": "los"})
            continue
        procedures = claim.get("procedures", [])
        principal = procedures[0] if procedures else None
        candidates = [
            g
            for g in v.groups
            if g.kind == "core"
            and g.procedure == principal
            and matches(g.diagnosis, claim["diagnosis"])
        ]
        group = max(candidates, key=lambda g: len(g.diagnosis)) if candidates else None
        if group is None:
            treatment = "operative" if procedures else "conservative"
            for g in v.groups:
                if (
                    g.kind == "comprehensive"
                    and g.chapter == claim["diagnosis"][0]
                    and g.treatment == treatment
                ):
                    group = g
        if group is None:
            cases.append({**common, "status": "unassigned", "reason": "no_group"})
            continue
        total = Fraction(record["total"])
        fund_pay = Fraction(record["fund_pay"])
        r = total / yuan(group.average_cost_fen[level])
        if r < F4(v.low_ratio):
            deviation, k = "low", r
        elif r > F4(v.high_ratio):
            deviation, k = "high", r - F4(v.high_ratio) + 1
        else:
            deviation, k = "normal", Fraction(1)
        hospital_id = common["hospital_id"]
        h = F4(v.hospital_overrides.get(hospital_id, v.hospital_coefficients[level]))
        points = rounded(F4(group.score) * k * h, 4)
        out = {
            **common,
            "status": "grouped",
            "group": group.code,
            "kind": group.kind,
            "score": four(F4(group.score)),
            "cost_ratio": four(r),
            "deviation": deviation,
            "multiplier": four(k),
            "special_review": r > F4(v.review_ratio),
            "hospital_coefficient": four(h),
            "points": four(points),
            "total": money(total),
            "fund_pay": money(fund_pay),
        }
        cases.append(out)
        grouped.append({**out, "P": points, "C": total, "F": fund_pay, "date": discharge})
    return cases, _year(cases, grouped, book, year), _month(grouped, book, period)


def _largest_remainder(exact: dict[str, Fraction], total_fen: int) -> dict[str, int]:
    """Whole fen summing to total_fen: floors, then one fen each by largest fraction, id asc."""
    fen = {key: value * 100 for key, value in exact.items()}
    floors = {key: math.floor(value) for key, value in fen.items()}
    order = sorted(fen, key=lambda key: (-(fen[key] - floors[key]), key))
    for key in order[: total_fen - sum(floors.values())]:
        floors[key] += 1
    return floors


def _year(
    cases: list[dict[str, Any]], grouped: list[dict[str, Any]], book: DipBook, y: int
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for region in sorted(book.regions):
        params = book.regions[region].years.get(y)
        mine = [c for c in grouped if c["region"] == region and c["date"].year == y]
        if params is None or not mine or sum(c["P"] for c in mine) == 0:
            continue
        B = yuan(params.budget_fen)
        R = rounded(B * F4(params.reserve_rate), 2)
        D = B - R
        hospitals = sorted({c["hospital_id"] for c in mine})
        level = {}
        for c in mine:
            level.setdefault(c["hospital_id"], c["level"])
        P = {h: sum(c["P"] for c in mine if c["hospital_id"] == h) for h in hospitals}
        S = {h: sum(c["C"] - c["F"] for c in mine if c["hospital_id"] == h) for h in hospitals}
        Fh = {h: sum(c["F"] for c in mine if c["hospital_id"] == h) for h in hospitals}
        pv = (D + sum(S.values())) / sum(P.values())
        E = _largest_remainder({h: P[h] * pv - S[h] for h in hospitals}, int(D * 100))
        E_yuan = {h: Fraction(E[h], 100) for h in hospitals}
        c_h = {
            h: min(max(Fraction(0), Fh[h] - E_yuan[h]), F4(params.share_band) * Fh[h])
            * F4(params.share_rate)
            for h in hospitals
        }
        T = min(R, Fraction(math.floor(sum(c_h.values()) * 100), 100))
        total_c = sum(c_h.values())
        comp = (
            _largest_remainder({h: T * c_h[h] / total_c for h in hospitals}, int(T * 100))
            if total_c
            else dict.fromkeys(hospitals, 0)
        )
        for h in hospitals:
            months = {c["date"].month for c in mine if c["hospital_id"] == h}
            advances = sum(
                Fraction(
                    rounded(
                        sum(c["F"] for c in mine if c["hospital_id"] == h and c["date"].month == m)
                        * F4(params.advance_rate),
                        2,
                    )
                )
                for m in months
            )
            annual = E_yuan[h] + Fraction(comp[h], 100)
            out.append(
                {
                    "record": "hospital",
                    "region": region,
                    "year": y,
                    "hospital_id": h,
                    "level": level[h],
                    "cases": sum(1 for c in mine if c["hospital_id"] == h),
                    "points": four(P[h]),
                    "patient_borne": money(S[h]),
                    "item_fund": money(Fh[h]),
                    "entitlement": money(E_yuan[h]),
                    "compensation": money(Fraction(comp[h], 100)),
                    "surplus": money(max(Fraction(0), E_yuan[h] - Fh[h])),
                    "annual": money(annual),
                    "advances": money(advances),
                    "balance": money(annual - advances),
                }
            )
        in_year = [c for c in cases if c["region"] == region and c["discharge_date"][:4] == str(y)]
        out.append(
            {
                "record": "region",
                "region": region,
                "year": y,
                "budget": money(B),
                "reserve": money(R),
                "distributable": money(D),
                "cases": len(mine),
                "points": four(sum(P.values())),
                "point_value": four(pv),
                "patient_borne": money(sum(S.values())),
                "compensation": money(T),
                "reserve_left": money(R - T),
                "excluded": sum(1 for c in in_year if c["status"] == "excluded"),
                "unassigned": sum(1 for c in in_year if c["status"] == "unassigned"),
                "special_review_share": four(
                    Fraction(sum(1 for c in mine if c["special_review"]), len(mine))
                ),
            }
        )
    return out


def _month(grouped: list[dict[str, Any]], book: DipBook, period: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    y = int(period[:4])
    for region in sorted(book.regions):
        params = book.regions[region].years.get(y)
        mine = [c for c in grouped if c["region"] == region and c["discharge_date"][:7] == period]
        if params is None:
            continue
        for h in sorted({c["hospital_id"] for c in mine}):
            theirs = [c for c in mine if c["hospital_id"] == h]
            fund = sum(c["F"] for c in theirs)
            out.append(
                {
                    "region": region,
                    "period": period,
                    "hospital_id": h,
                    "cases": len(theirs),
                    "points": four(sum(c["P"] for c in theirs)),
                    "item_fund": money(Fraction(fund)),
                    "advance": money(rounded(fund * F4(params.advance_rate), 2)),
                }
            )
    return out
