"""An independent reference settlement for valid claims, in Decimal yuan.

Written from the spec's text without the engine's code, to cross-check it in
property tests. Valid claims only: validation is covered by the golden cases.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


def rounded(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def reference_settle(claims: list[dict[str, Any]], policy: dict[str, Any]) -> list[dict[str, str]]:
    """Settle valid claims in order under ``policy`` (region -> one version, plain numbers)."""
    paid: dict[tuple[str, int], Decimal] = {}
    first: dict[str, dict[str, str]] = {}
    out = []
    for claim in claims:
        if claim["claim_id"] in first:
            out.append({**first[claim["claim_id"]], "status": "duplicate"})
            continue
        version = policy[claim["patient"]["insured_region"]]
        amounts = [(i["category"], Decimal(str(i["amount"]))) for i in claim["items"]]
        total = sum((a for _, a in amounts), Decimal(0))
        b = sum((a for c, a in amounts if c == "B"), Decimal(0))
        c = sum((a for cat, a in amounts if cat == "C"), Decimal(0))
        self_pay = c + rounded(b * Decimal(str(version["category_b_self_pay"])))
        eligible = total - self_pay
        if claim["claim_type"] == "ltc":
            per_diem = Decimal(str(version["ltc_per_diem"][claim["ltc"]["setting"]]))
            fund = min(eligible, claim["ltc"]["days"] * per_diem)
            deductible, ratio, over = Decimal(0), Decimal(1), Decimal(0)
        else:
            scheme = version["schemes"][claim["patient"]["scheme"]]
            rule = scheme[claim["claim_type"]]
            deductible = min(eligible, Decimal(str(rule["deductible"][claim["hospital"]["level"]])))
            ratio = Decimal(str(rule["ratio"]))
            intercity = claim["patient"]["insured_region"] != claim["hospital"]["region"]
            if intercity and not claim["patient"].get("intercity_registered", False):
                ratio = max(
                    Decimal(0), ratio - Decimal(str(version["intercity_unregistered_reduction"]))
                )
            payable = rounded((eligible - deductible) * ratio)
            key = (claim["patient"]["person_id"], int(claim["discharge_date"][:4]))
            left = max(Decimal(0), Decimal(str(scheme["annual_cap"])) - paid.get(key, Decimal(0)))
            fund = min(payable, left)
            over = payable - fund
            paid[key] = paid.get(key, Decimal(0)) + fund
        record = {
            "claim_id": claim["claim_id"],
            "status": "settled",
            "total": f"{total:.2f}",
            "category_self_pay": f"{self_pay:.2f}",
            "eligible": f"{eligible:.2f}",
            "deductible": f"{deductible:.2f}",
            "ratio": f"{ratio:.4f}",
            "fund_pay": f"{fund:.2f}",
            "over_cap": f"{over:.2f}",
            "patient_pay": f"{total - fund:.2f}",
        }
        first[claim["claim_id"]] = record
        out.append(record)
    return out
