"""An independent reference settlement for valid claims, in Decimal yuan.

Written from the spec's text (sections 4 and 8) without the engine's code, to
cross-check it in property tests. Valid claims only: validation is covered by
the golden cases. A policy is plain data as ``yaml.safe_load`` gives it (one
version per region, or a list of dated versions); a catalogue is a list of
row dicts of CSV text.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
TEN_THOUSANDTH = Decimal("0.0001")
ZERO = Decimal(0)


def rounded(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def version_on(versions: Any, day: str) -> dict[str, Any]:
    """One version (a dict), or of a list the latest effective_from on or before ``day``."""
    if isinstance(versions, dict):
        return versions
    in_force = [v for v in versions if str(v["effective_from"]) <= day]
    return max(in_force, key=lambda v: str(v["effective_from"]))


def catalogue_row(rows: list[dict[str, str]], code: str, day: str) -> dict[str, str] | None:
    """The row of ``code`` with the latest effective_from on or before ``day``."""
    best = None
    for row in rows:
        if row["code"] != code or date.fromisoformat(row["effective_from"]) > date.fromisoformat(
            day
        ):
            continue
        if best is None or row["effective_from"] > best["effective_from"]:
            best = row
    return best


def band_parts(bands: list[dict[str, Any]], low: Decimal, high: Decimal) -> list[Decimal]:
    """The part of [low, high] in each band (band j: above the previous up_to, up to its own)."""
    parts = []
    lower = ZERO
    for band in bands:
        upper = None if band["up_to"] is None else dec(band["up_to"])
        top = high if upper is None else min(high, upper)
        parts.append(max(ZERO, top - max(low, lower)))
        if upper is not None:
            lower = upper
    return parts


def basic_fund_ratio(r: Decimal, claim: dict[str, Any], version: dict[str, Any]) -> Decimal:
    """A ratio after the inter-city reduction: section 4 step 8, or 8.6 with its map."""
    patient = claim["patient"]
    if patient["insured_region"] == claim["hospital"]["region"]:
        return r
    registered = patient.get("intercity_registered", False)
    filing = version.get("intercity_filing")
    if filing is None:
        if registered:
            return r
        return max(ZERO, r - dec(version["intercity_unregistered_reduction"]))
    name = patient.get("intercity_filing") or ("long_term" if registered else "none")
    rule = filing.get(name)
    if rule is None:
        return r
    if "subtract" in rule:
        return max(ZERO, r - dec(rule["subtract"]))
    return (r * dec(rule["multiply"])).quantize(TEN_THOUSANDTH, ROUND_HALF_UP)


def reference_settle(
    claims: list[dict[str, Any]],
    policy: dict[str, Any],
    catalogues: dict[str, list[dict[str, str]]] | None = None,
) -> list[dict[str, str]]:
    """Settle valid claims in order under ``policy`` (region -> one version, plain numbers)."""
    catalogues = catalogues or {}
    paid: dict[tuple[str, int], Decimal] = {}
    admissions: dict[tuple[str, int], tuple[int, Decimal]] = {}
    critical: dict[tuple[str, int], tuple[Decimal, Decimal]] = {}
    assisted: dict[tuple[str, int], tuple[Decimal, Decimal]] = {}
    first: dict[str, dict[str, str]] = {}
    out = []
    for claim in claims:
        if claim["claim_id"] in first:
            out.append({**first[claim["claim_id"]], "status": "duplicate"})
            continue
        patient, hospital = claim["patient"], claim["hospital"]
        version = version_on(policy[patient["insured_region"]], claim["discharge_date"])
        default_share = dec(version["category_b_self_pay"])
        catalogue = catalogues.get(hospital["region"])
        total = sum((dec(i["amount"]) for i in claim["items"]), ZERO)
        over_price = ZERO
        if catalogue is None:  # section 4, step 4: the B sum rounded once
            b = sum((dec(i["amount"]) for i in claim["items"] if i["category"] == "B"), ZERO)
            c = sum((dec(i["amount"]) for i in claim["items"] if i["category"] == "C"), ZERO)
            self_pay = c + rounded(b * default_share)
        else:  # section 8.4: per item
            self_pay = ZERO
            for item in claim["items"]:
                amount = dec(item["amount"])
                row = catalogue_row(catalogue, item["code"], claim["discharge_date"])
                category, share, over = item["category"], default_share, ZERO
                if row is not None:
                    category = row["category"]
                    if row["self_pay"]:
                        share = dec(row["self_pay"])
                    if row["price_ceiling"]:
                        units = item.get("quantity", 1)
                        over = max(ZERO, amount - dec(row["price_ceiling"]) * units)
                if category == "C":
                    self_pay += amount
                elif category == "B":
                    self_pay += rounded((amount - over) * share) + over
                    over_price += over
                else:
                    self_pay += over
                    over_price += over
        eligible = total - self_pay
        ci_pay = ma_pay = ZERO
        key = (patient["person_id"], int(claim["discharge_date"][:4]))
        if claim["claim_type"] == "ltc":
            entry = version["ltc_per_diem"][claim["ltc"]["setting"]]
            if isinstance(entry, dict):  # 8.7
                ratio = dec(entry["ratio"])
                fund = min(rounded(eligible * ratio), claim["ltc"]["days"] * dec(entry["per_diem"]))
            else:
                ratio = Decimal(1)
                fund = min(eligible, claim["ltc"]["days"] * dec(entry))
            deductible, over = ZERO, ZERO
        else:
            level = hospital["level"]
            scheme = version["schemes"][patient["scheme"]]
            block = scheme[claim["claim_type"]]
            cap = dec(scheme["annual_cap"])
            person_category = scheme.get("categories", {}).get(patient.get("category"))
            if person_category is not None:  # 8.3
                block = person_category.get(claim["claim_type"], block)
                cap = dec(person_category.get("annual_cap", cap))
            base = dec(block["deductible"][level])
            n, d = admissions.get(key, (0, ZERO))
            deductible = min(eligible, base)
            if claim["claim_type"] == "inpatient":  # 8.5
                if n >= 1:
                    base = rounded(base * dec(block.get("deductible_repeat_factor", 1)))
                deductible = min(eligible, base)
                if "deductible_year_max" in block:
                    deductible = min(deductible, max(ZERO, dec(block["deductible_year_max"]) - d))

            def reduce(
                r: Decimal, claim: dict[str, Any] = claim, version: Any = version
            ) -> Decimal:
                return basic_fund_ratio(r, claim, version)

            def at_level(r: Any, level: int = level) -> Decimal:
                return dec(r[level]) if isinstance(r, dict) else dec(r)

            base_b = eligible - deductible
            if "bands" in block:  # 8.2
                parts = band_parts(block["bands"], ZERO, base_b)
                payable = rounded(
                    sum(
                        (
                            p * reduce(at_level(band["ratio"]))
                            for p, band in zip(parts, block["bands"], strict=True)
                        ),
                        ZERO,
                    )
                )
                ratio = (
                    (payable / base_b).quantize(TEN_THOUSANDTH, ROUND_HALF_UP) if base_b else ZERO
                )
            else:
                ratio = reduce(at_level(block["ratio"]))
                payable = rounded(base_b * ratio)
            fund = min(payable, max(ZERO, cap - paid.get(key, ZERO)))
            over = payable - fund
            paid[key] = paid.get(key, ZERO) + fund
            if claim["claim_type"] == "inpatient":
                admissions[key] = (n + 1, d + deductible)
            ci = scheme.get("critical_illness")
            if ci is not None:  # 8.8
                q = eligible - fund
                big_q, ci_so_far = critical.get(key, (ZERO, ZERO))
                threshold = dec(ci["threshold"])
                x0 = max(ZERO, big_q - threshold)
                x1 = max(ZERO, big_q + q - threshold)
                parts = band_parts(ci["bands"], x0, x1)
                ci_pay = min(
                    rounded(
                        sum(
                            (p * dec(b["ratio"]) for p, b in zip(parts, ci["bands"], strict=True)),
                            ZERO,
                        )
                    ),
                    max(ZERO, dec(ci["annual_cap"]) - ci_so_far),
                )
                critical[key] = (big_q + q, ci_so_far + ci_pay)
            help_rule = version.get("assistance", {}).get(patient.get("assistance"))
            if help_rule is not None:  # 8.9
                a = eligible - fund - ci_pay
                aq, ma_so_far = assisted.get(key, (ZERO, ZERO))
                threshold = dec(help_rule["threshold"])
                above = max(ZERO, aq + a - threshold) - max(ZERO, aq - threshold)
                ma_pay = min(
                    rounded(dec(help_rule["ratio"]) * above),
                    max(ZERO, dec(help_rule["annual_cap"]) - ma_so_far),
                )
                assisted[key] = (aq + a, ma_so_far + ma_pay)
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
            "over_price": f"{over_price:.2f}",
            "ci_pay": f"{ci_pay:.2f}",
            "ma_pay": f"{ma_pay:.2f}",
            "patient_pay": f"{total - fund - ci_pay - ma_pay:.2f}",
        }
        first[claim["claim_id"]] = record
        out.append(record)
    return out
