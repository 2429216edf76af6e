"""The parts every settlement breakdown is written with: steps, yuan text and bands.

:class:`Trace` collects the steps of one record; the helpers write amounts
(:func:`yuan`, :func:`exact`) and the bands of 8.2 and 8.8 (:func:`band_parts`)
the way :mod:`settlement.explain` shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from settlement.layers import reduced_ratio
from settlement.money import format_fen
from settlement.policy import Band, FilingReduction, PolicyVersion
from settlement.state import NO_TOTALS, YearTotals

#: The final amounts a breakdown must reproduce to the fen (section 6 and 8).
FINAL_AMOUNTS = (
    "total",
    "over_price",
    "category_self_pay",
    "eligible",
    "deductible",
    "ratio",
    "fund_pay",
    "over_cap",
    "ci_pay",
    "ma_pay",
    "patient_pay",
)
NO_SOURCE = "no source given"


@dataclass(frozen=True)
class Before:
    """A person's accumulators for the claim's year before the claim was settled.

    ``claims`` counts the earlier settled claims they were summed from;
    ``notes`` says what could not be read (an earlier claim without its body,
    a policy version no longer in the book).
    """

    fund_paid: int = 0
    totals: YearTotals = NO_TOTALS
    claims: int = 0
    notes: tuple[str, ...] = ()


def yuan(fen: int) -> str:
    """Fen as yuan text with 2 decimals."""
    return format_fen(fen)


def exact(scaled: int) -> str:
    """A fen x ten-thousandths product as exact yuan (``1234.567850`` -> ``1234.56785``)."""
    sign = "-" if scaled < 0 else ""
    scaled = abs(scaled)
    text = f"{scaled // 1_000_000}.{scaled % 1_000_000:06d}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{sign}{whole}.{decimals.ljust(2, '0')}"


def source_of(version: PolicyVersion | None) -> str:
    """The version's source (spec 8.0), as a step shows it."""
    if version is None:
        return "?"
    return version.provenance or NO_SOURCE


@dataclass
class Trace:
    """The steps being written for one record."""

    record: dict[str, Any]
    version: PolicyVersion | None
    steps: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        amount: str,
        label: str,
        value: str,
        rule: str,
        parameter: str | None = None,
        *,
        detail: bool = False,
        source: str | None = None,
    ) -> None:
        label_version = self.record.get("policy_version", "")
        self.steps.append(
            {
                "amount": amount,
                "label": label,
                "value": value,
                "rule": rule,
                "parameter": parameter,
                "policy_version": label_version,
                "source": source_of(self.version) if source is None else source,
                "detail": detail,
            }
        )


def band_range(bands: tuple[Band, ...], index: int) -> tuple[int, int | None]:
    """``(bottom, top)`` of band ``index``; top None for the open last band."""
    bottom = 0 if index == 0 else bands[index - 1].up_to_fen or 0
    return bottom, bands[index].up_to_fen


def band_parts(
    bands: tuple[Band, ...],
    low: int,
    high: int,
    level: int,
    filing: FilingReduction | None,
    subtract: int,
) -> list[tuple[int, int, int | None, int, int, int]]:
    """``(index, bottom, top, part, ratio, part x ratio)`` of each band that [low, high] reaches.

    The caller checks that the products add up to :func:`band_sum` (the
    engine's sum).
    """
    parts = []
    for index, band in enumerate(bands):
        bottom, top = band_range(bands, index)
        start = max(low, bottom)
        end = high if top is None else min(high, top)
        if end > start:
            ratio = reduced_ratio(band.ratio_at(level), filing, subtract)
            parts.append((index, bottom, top, end - start, ratio, (end - start) * ratio))
    return parts


def band_words(index: int, bottom: int, top: int | None) -> str:
    """A band in words: ``band 2 (above 1000.00 up to 5000.00)``."""
    upper = "with no upper end" if top is None else f"up to {yuan(top)}"
    return f"band {index + 1} (above {yuan(bottom)} {upper})"


def mismatch(t: Trace, what: str, engine: Any, traced: Any) -> None:
    """A ``check`` step: the breakdown's ``what`` differs from the engine's."""
    t.add(
        "check",
        "Check",
        "",
        f"this breakdown's {what} ({traced}) differ from the engine's ({engine});"
        " the record's amounts are the ones that count",
    )
