"""Section-8 formulas of settlement: marginal bands and the layers after the basic fund.

Pure integer arithmetic on fen and ten-thousandths, used by
:mod:`settlement.engine`: the band sum of spec 8.2 (also the
critical-illness bands of 8.8), critical-illness insurance (8.8) and medical
assistance (8.9). Rounding is half-up and only where the spec says so.
"""

from __future__ import annotations

from settlement.policy import Assistance, Band, CriticalIllness, FilingReduction


def reduced_ratio(ratio: int, filing: FilingReduction | None, subtract: int) -> int:
    """A basic-fund ratio after the inter-city reduction (spec step 8 or 8.6)."""
    if filing is not None:
        return filing.apply(ratio)
    return ratio - subtract if ratio > subtract else 0


def band_sum(
    bands: tuple[Band, ...],
    low: int,
    high: int,
    level: int,
    filing: FilingReduction | None,
    subtract: int,
) -> int:
    """Sum over bands of (part of [low, high] in the band) x its ratio, unrounded.

    The result is in fen x ten-thousandths; the caller rounds it once
    (``(s + 5000) // 10000``). Band ``j`` covers what lies above the previous
    band's ``up_to`` (0 for the first) and up to its own.
    """
    acc = 0
    bottom = 0
    for band in bands:
        top = band.up_to_fen
        start = low if low > bottom else bottom
        end = high if top is None or high < top else top
        if end > start:
            acc += (end - start) * reduced_ratio(band.ratio_at(level), filing, subtract)
        if top is None or top >= high:
            break
        bottom = top
    return acc


def shown_ratio(payable: int, base: int) -> int:
    """``payable / base`` rounded half-up to 4 decimals, 0 when ``base`` is 0 (spec 8.2)."""
    if base <= 0:
        return 0
    return (2 * payable * 10000 + base) // (2 * base)


def critical_illness_pay(ci: CriticalIllness, q: int, base_so_far: int, paid_so_far: int) -> int:
    """``ci_pay`` of a claim with base ``q`` (spec 8.8), given the year's ``Q`` and ``CI``."""
    x0 = base_so_far - ci.threshold_fen
    x1 = base_so_far + q - ci.threshold_fen
    if x1 <= 0:
        return 0
    s = band_sum(ci.bands, x0 if x0 > 0 else 0, x1, 1, None, 0)
    left = ci.annual_cap_fen - paid_so_far
    return min((s + 5000) // 10000, left if left > 0 else 0)


def assistance_pay(rule: Assistance, a: int, base_so_far: int, paid_so_far: int) -> int:
    """``ma_pay`` of a claim with base ``a`` (spec 8.9), given the year's ``Aq`` and ``MA``."""
    above_after = base_so_far + a - rule.threshold_fen
    above_before = base_so_far - rule.threshold_fen
    part = (above_after if above_after > 0 else 0) - (above_before if above_before > 0 else 0)
    left = rule.annual_cap_fen - paid_so_far
    return min((part * rule.ratio + 5000) // 10000, left if left > 0 else 0)
