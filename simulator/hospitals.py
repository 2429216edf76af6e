"""Hospitals per region and level, each with its own size, prices and treatment intensity.

Hospital identifiers follow the national designated-institution pattern
(``H`` + 6-digit area code + 5 digits); the counts per region are ILLUSTRATIVE
(scaled down so that every hospital sees enough claims to be profiled).
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate

from simulator.items import CATALOGUE, RULE_ITEMS, price_list
from simulator.regions import REGIONS

# Share of visits and stays by hospital level (ILLUSTRATIVE; Chinese patients
# bypass primary care, so level-3 hospitals take a large share of both).
LEVEL_SHARE_OUTPATIENT = {1: 0.36, 2: 0.34, 3: 0.30}
LEVEL_SHARE_INPATIENT = {1: 0.14, 2: 0.42, 3: 0.44}
# Share of hospitals that bill some drugs by the pack rather than the unit.
PACK_HOSPITALS = 0.15
# Drugs a hospital may dispense by the pack (not the rule-violation items).
DRUGS = tuple(
    code for code, (_c, _p, kind) in CATALOGUE.items() if kind == "drug" and code not in RULE_ITEMS
)


@dataclass
class Hospital:
    """One hospital (or long-term-care institution).

    Attributes:
        hospital_id: identifier billed on claims.
        region: region code.
        level: 1, 2 or 3.
        teaching: a university teaching hospital (costly case mix, more tests).
        ltc: a long-term-care institution (bills only ltc claims).
        size: relative claim volume within its region and level.
        intensity: multiplier of quantities billed (tests, drugs): practice style.
        c_rate: propensity to bill self-pay (category C) items.
        prices: item prices in fen.
        scheme: the fraud scheme it runs, or None.
        fraud_share: share of its claims the scheme touches.
        ghost_list: person indices used by a ghost-patient scheme.
        templates: fixed bills per diagnosis for template billing.
    """

    hospital_id: str
    region: str
    level: int
    teaching: bool
    ltc: bool
    size: float
    intensity: float
    c_rate: float
    prices: dict[str, int]
    packs: dict[str, int] = field(default_factory=dict)
    specialty: str = "general"
    tilt: int = 1
    scheme: str | None = None
    fraud_share: float = 0.0
    ghost_list: list[int] = field(default_factory=list)
    templates: dict[tuple[str, bool], tuple[int, list[tuple[str, int, int]]]] = field(
        default_factory=dict
    )

    case_mix: tuple[int, int, str] = (2, 1, "general")

    def __post_init__(self) -> None:
        self.update_case_mix()

    def update_case_mix(self) -> None:
        """Refresh the key of its diagnosis tables: level (4 if teaching), tilt, specialty."""
        self.case_mix = (4 if self.teaching else self.level, self.tilt, self.specialty)


class HospitalNetwork:
    """All simulated hospitals, and weighted draws of one by region and level."""

    def __init__(self, regions: tuple[str, ...], rng: random.Random) -> None:
        self.hospitals: list[Hospital] = []
        self.by_region_level: dict[tuple[str, int], list[int]] = {}
        self._cum: dict[tuple[str, int], list[float]] = {}
        self.ltc_providers: dict[str, list[int]] = {}
        for code in regions:
            region = REGIONS[code]
            serial = 0
            for level in (1, 2, 3):
                n = region.hospitals[level - 1]
                idxs = []
                for k in range(n):
                    serial += 1
                    teaching = level == 3 and k < region.teaching
                    district = region.districts[rng.randrange(len(region.districts))]
                    # Sizes are skewed: a few big hospitals take most claims.
                    size = rng.lognormvariate(0.0, 0.6) * (2.2 if teaching else 1.0)
                    intensity = rng.lognormvariate(0.0, 0.12) * (1.35 if teaching else 1.0)
                    c_rate = rng.uniform(0.3, 1.0) * {1: 0.5, 2: 1.0, 3: 1.4}[level]
                    tilt = rng.choices((0, 1, 2), weights=(1, 2, 1))[0]
                    h = Hospital(
                        hospital_id=f"H{district}{serial * 37 % 100000:05d}",
                        region=code,
                        level=level,
                        teaching=teaching,
                        ltc=False,
                        size=size,
                        intensity=intensity,
                        c_rate=c_rate,
                        prices=price_list(level, rng.uniform(0.92, 1.08)),
                        tilt=tilt,
                    )
                    if rng.random() < PACK_HOSPITALS:
                        h.packs = {c: rng.choice((5, 10)) for c in DRUGS if rng.random() < 0.3}
                    idxs.append(len(self.hospitals))
                    self.hospitals.append(h)
                self.by_region_level[(code, level)] = idxs
                self._assign_specialties(level, idxs, rng)
                self._cum[(code, level)] = list(accumulate(self.hospitals[i].size for i in idxs))
            providers = []
            for _ in range(region.ltc_providers):
                serial += 1
                district = region.districts[rng.randrange(len(region.districts))]
                h = Hospital(
                    hospital_id=f"H{district}{serial * 37 % 100000:05d}",
                    region=code,
                    level=1,
                    teaching=False,
                    ltc=True,
                    size=rng.lognormvariate(0.0, 0.4),
                    intensity=1.0,
                    c_rate=rng.uniform(0.2, 0.6),
                    prices=price_list(1, rng.uniform(0.95, 1.05)),
                )
                # LTC per-day fees are set by each institution around the per-diem.
                h.prices["130100001000000"] = rng.randrange(13500, 17000, 500)
                h.prices["130100002000000"] = rng.randrange(9500, 12000, 500)
                providers.append(len(self.hospitals))
                self.hospitals.append(h)
            self.ltc_providers[code] = providers

    def _assign_specialties(self, level: int, idxs: list[int], rng: random.Random) -> None:
        """Make a few level-2 and level-3 hospitals specialised (never teaching ones)."""
        wanted = {2: ("maternity", "tcm", "rehab"), 3: ("oncology", "tcm")}.get(level, ())
        free = [i for i in idxs if not self.hospitals[i].teaching]
        rng.shuffle(free)
        for specialty, i in zip(wanted, free[: max(0, len(free) - 2)], strict=False):
            self.hospitals[i].specialty = specialty
            self.hospitals[i].update_case_mix()

    @property
    def pick_tables(self) -> dict[tuple[str, int], tuple[list[float], list[int]]]:
        """Cumulative sizes and hospital indices per (region, level), for inlined draws."""
        return {key: (self._cum[key], idxs) for key, idxs in self.by_region_level.items()}

    def pick(self, region: str, level: int, u: float) -> int:
        """Index of a hospital of ``region`` and ``level``, by size, from a uniform."""
        cum = self._cum[(region, level)]
        i = bisect_right(cum, u * cum[-1])
        idxs = self.by_region_level[(region, level)]
        return idxs[min(i, len(idxs) - 1)]

    def expected_shares(
        self, region_weights: dict[str, float], inpatient_share: float
    ) -> list[float]:
        """Expected share of non-ltc claims per hospital (ignores inter-city flows)."""
        shares = [0.0] * len(self.hospitals)
        total_w = sum(region_weights.values())
        for (code, level), idxs in self.by_region_level.items():
            rw = region_weights[code] / total_w
            lvl = (1 - inpatient_share) * LEVEL_SHARE_OUTPATIENT[level] + (
                inpatient_share * LEVEL_SHARE_INPATIENT[level]
            )
            cum = self._cum[(code, level)]
            for i in idxs:
                shares[i] = rw * lvl * self.hospitals[i].size / cum[-1]
        return shares
