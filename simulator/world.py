"""The simulated world of one run: populations, hospitals, fraud plan and ltc beneficiaries.

Built once from the config and its seed, before any claim is generated; the
daily generation only reads it (apart from per-hospital bill caches whose
content depends on the seed alone).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from simulator.config import SimConfig
from simulator.daily import allocate, day_weight
from simulator.diagnoses import chronic_weights
from simulator.fraud import FraudPlan, assign_fraud
from simulator.hospitals import LEVEL_SHARE_INPATIENT, LEVEL_SHARE_OUTPATIENT, HospitalNetwork
from simulator.population import RegionPopulation, build_population, pool_size
from simulator.regions import REGIONS

# Probability that a visit or stay of a person not filed for inter-city care
# happens in another city (ILLUSTRATIVE; Qingyuan patients often go to
# Guangzhou's big hospitals for serious conditions).
INTERCITY_OUTPATIENT = 0.012
INTERCITY_INPATIENT = {"441800": 0.10}
INTERCITY_INPATIENT_DEFAULT = 0.035
LTC_DAYS_OF_MONTH = 5  # monthly ltc claims arrive on the first five days of a month


@dataclass(frozen=True)
class Beneficiary:
    """A person receiving long-term care, billed monthly by one provider."""

    region: str
    person: int
    provider: int
    setting: str
    day_of_month: int


@dataclass
class World:
    """Everything drawn before the first claim."""

    config: SimConfig
    regions: tuple[str, ...]
    populations: dict[str, RegionPopulation]
    network: HospitalNetwork
    fraud: FraudPlan
    beneficiaries: list[Beneficiary]
    day_budgets: list[int]
    ltc_claims: int
    region_cum: list[float]
    dest_cum: dict[str, tuple[list[str], list[float]]]
    level_cum_out: list[float]
    level_cum_in: list[float]

    def intercity_rate(self, region: str, inpatient: bool) -> float:
        """Chance that a non-filed person's visit or stay is in another city."""
        if len(self.regions) < 2:
            return 0.0
        if not inpatient:
            return INTERCITY_OUTPATIENT
        return INTERCITY_INPATIENT.get(region, INTERCITY_INPATIENT_DEFAULT)


def build_world(config: SimConfig) -> World:
    """Draw the world of a run from its config (deterministic for ``config.seed``)."""
    rng = random.Random(f"yibao-world-{config.seed}")
    np_rng = np.random.default_rng([config.seed, 20261127])
    regions = config.regions
    weights = {code: float(REGIONS[code].insured) for code in regions}
    total_w = sum(weights.values())
    total_pool = pool_size(config.claims, config.days)
    populations: dict[str, RegionPopulation] = {}
    cw = chronic_weights()
    for code in regions:
        size = max(500, round(total_pool * weights[code] / total_w))
        dest = [0.0 if c == code else REGIONS[c].attract for c in regions]
        populations[code] = build_population(
            code, size, np_rng, config.start, config.ageing, cw, dest
        )
    network = HospitalNetwork(regions, rng)
    fraud = assign_fraud(network, config, rng, np_rng, weights, populations)
    beneficiaries, ltc_claims, days = _ltc_plan(config, populations, network, rng, np_rng, weights)
    day_budgets = allocate(config.claims - ltc_claims, [day_weight(d) for d in days])
    dest_cum: dict[str, tuple[list[str], list[float]]] = {}
    for code in regions:
        others = [c for c in regions if c != code]
        dest_cum[code] = (others, list(accumulate(REGIONS[c].attract for c in others)))
    return World(
        config=config,
        regions=regions,
        populations=populations,
        network=network,
        fraud=fraud,
        beneficiaries=beneficiaries,
        day_budgets=day_budgets,
        ltc_claims=ltc_claims,
        region_cum=list(accumulate(weights[c] for c in regions)),
        dest_cum=dest_cum,
        level_cum_out=list(accumulate(LEVEL_SHARE_OUTPATIENT[lv] for lv in (1, 2, 3))),
        level_cum_in=list(accumulate(LEVEL_SHARE_INPATIENT[lv] for lv in (1, 2, 3))),
    )


def _ltc_plan(
    config: SimConfig,
    populations: dict[str, RegionPopulation],
    network: HospitalNetwork,
    rng: random.Random,
    np_rng: np.random.Generator,
    weights: dict[str, float],
) -> tuple[list[Beneficiary], int, list[dt.date]]:
    """Long-term-care beneficiaries, and the exact number of ltc claims in the window."""
    days = [config.start + dt.timedelta(days=i) for i in range(config.days)]
    ltc_days = sum(1 for d in days if d.day <= LTC_DAYS_OF_MONTH)
    months = ltc_days / LTC_DAYS_OF_MONTH
    wanted = config.claims * config.ltc_share
    n_total = int(wanted / months) if months >= 1 else 0
    total_w = sum(weights.values())
    beneficiaries: list[Beneficiary] = []
    for code in config.regions:
        providers = network.ltc_providers[code]
        pop = populations[code]
        n = round(n_total * weights[code] / total_w)
        if n == 0 or not providers:
            continue
        # Care recipients are mostly 70 or older.
        old = np.flatnonzero(pop.band >= 7)
        if len(old) == 0:
            continue
        picked = np_rng.choice(old, size=min(n, len(old)), replace=False)
        for person in sorted(picked.tolist()):
            beneficiaries.append(
                Beneficiary(
                    region=code,
                    person=person,
                    provider=providers[rng.randrange(len(providers))],
                    setting="institutional" if rng.random() < 0.4 else "home",
                    day_of_month=1 + rng.randrange(LTC_DAYS_OF_MONTH),
                )
            )
    per_dom = [0] * (LTC_DAYS_OF_MONTH + 1)
    for b in beneficiaries:
        per_dom[b.day_of_month] += 1
    ltc_claims = sum(per_dom[d.day] for d in days if d.day <= LTC_DAYS_OF_MONTH)
    if ltc_claims > config.claims:
        return [], 0, days
    return beneficiaries, ltc_claims, days
