"""Hospital fraud schemes: which hospitals run them, on what share of claims, and how.

Each scheme changes what a hospital bills, never how a claim is encoded: no
special codes, diagnoses or amounts appear only on fraudulent claims. For each
scheme an honest behaviour elsewhere in the simulator looks alike (see
``docs/simulator.md``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from detection.fraud_types import DIP_SCHEMES
from simulator.bills import Bill, inpatient_bill, outpatient_bill, pad_days
from simulator.config import SimConfig
from simulator.diagnoses import BY_CODE, Diagnosis
from simulator.hospitals import Hospital, HospitalNetwork
from simulator.items import CATALOGUE, SUBSTITUTES
from simulator.population import RegionPopulation

# Which hospital levels tend to run each scheme (relative weights).
LEVEL_AFFINITY: dict[str, dict[int, float]] = {
    "decomposed_admission": {1: 1.0, 2: 2.0, 3: 0.6},
    "hanging_bed": {1: 2.0, 2: 1.5, 3: 0.2},
    "upcoding": {1: 0.3, 2: 1.5, 3: 1.5},
    "item_substitution": {1: 1.0, 2: 1.5, 3: 1.0},
    "template_billing": {1: 2.0, 2: 1.2, 3: 0.3},
    "ghost_patient": {1: 3.0, 2: 0.8, 3: 0.0},
    "duplicate_billing": {1: 1.5, 2: 1.0, 3: 0.5},
    "high_coding": {1: 0.3, 2: 1.5, 3: 1.5},
    "low_threshold_admission": {1: 2.0, 2: 1.5, 3: 0.4},
}

# Claims produced and claims labelled per triggered episode.
_CLAIMS_PER_TRIGGER = {"decomposed_admission": 2, "duplicate_billing": 2, "ghost_patient": 2}
_LABELLED_PER_TRIGGER = {"decomposed_admission": 2, "ghost_patient": 2}

MAX_FRAUD_SHARE = 0.5
MIN_FRAUD_SHARE = 0.08


@dataclass
class FraudPlan:
    """The fraudulent hospitals of a run (indices into the network) and their schemes."""

    hospitals: list[int]

    def schemes(self, network: HospitalNetwork) -> dict[str, list[str]]:
        """Hospital ids per scheme, for reports and tests."""
        out: dict[str, list[str]] = {}
        for i in self.hospitals:
            h = network.hospitals[i]
            assert h.scheme is not None
            out.setdefault(h.scheme, []).append(h.hospital_id)
        return out


def assign_fraud(
    network: HospitalNetwork,
    config: SimConfig,
    rng: random.Random,
    np_rng: np.random.Generator,
    region_weights: dict[str, float],
    populations: dict[str, RegionPopulation],
) -> FraudPlan:
    """Choose fraudulent hospitals and set each one's scheme and trigger probability.

    Each item-billing scheme gets an equal part of ``config.fraud_rate``, each
    DIP scheme an equal part of ``config.dip_rate``. A scheme's hospitals
    are drawn by level affinity (and somewhat by size); each gets a base
    propensity, scaled so that the scheme's expected share of labelled claims
    matches its part. A scheme whose hospitals would need more than
    ``MAX_FRAUD_SHARE`` enlists more hospitals. The DIP schemes' hospitals are
    drawn after the others', from their own random source, so adding them
    leaves the item-billing schemes' hospitals as they were.
    """
    item_schemes = [s for s in config.schemes if s not in DIP_SCHEMES]
    dip_schemes = [s for s in config.schemes if s in DIP_SCHEMES]
    if config.fraud_rate <= 0:
        item_schemes = []
    if config.dip_rate <= 0:
        dip_schemes = []
    if not item_schemes and not dip_schemes:
        return FraudPlan([])
    shares = network.expected_shares(region_weights, config.inpatient_share)
    enlisted = _Enlisted(network, config.schemes)
    # Hospitals per scheme: as many for a DIP scheme as for an item-billing one.
    per_scheme = max(
        2, round(config.fraud_hospital_share * len(enlisted.regular) / max(1, len(item_schemes)))
    )
    dip_rng = random.Random(f"yibao-dip-fraud-{config.seed}")
    scale: dict[str, float] = {}
    for schemes, rate, r in (
        (item_schemes, config.fraud_rate, rng),
        (dip_schemes, config.dip_rate, dip_rng),
    ):
        if not schemes:
            continue
        part = rate * (1 - config.ltc_share) / len(schemes)
        for _ in range(per_scheme):
            for scheme in schemes:
                enlisted.enlist(scheme, r)
        for scheme in schemes:
            scale[scheme] = enlisted.scale(scheme, part, shares, r)
    chosen = sorted(enlisted.base)
    for i in chosen:
        h = network.hospitals[i]
        assert h.scheme is not None
        _set_trigger(h, enlisted.base[i] * scale[h.scheme])
        if h.scheme == "ghost_patient":
            h.ghost_list = _ghost_list(populations.get(h.region), np_rng)
    return FraudPlan(chosen)


class _Enlisted:
    """The fraudulent hospitals chosen so far: each one's base propensity, and the
    members of each scheme."""

    def __init__(self, network: HospitalNetwork, schemes: tuple[str, ...]) -> None:
        self.network = network
        self.regular = [i for i, h in enumerate(network.hospitals) if not h.ltc]
        self.base: dict[int, float] = {}
        self.members: dict[str, list[int]] = {s: [] for s in schemes}

    def enlist(self, scheme: str, rng: random.Random) -> bool:
        """Give ``scheme`` one more hospital; False when none is left to enlist."""
        hospitals = self.network.hospitals
        free = [i for i in self.regular if i not in self.base]
        # Bigger hospitals are somewhat likelier picks, so fraud is not only
        # a small-hospital trait.
        weights = [
            LEVEL_AFFINITY[scheme][hospitals[i].level] * hospitals[i].size ** 0.5 for i in free
        ]
        if not free or sum(weights) == 0:
            return False
        i = rng.choices(free, weights=weights)[0]
        hospitals[i].scheme = scheme
        self.base[i] = rng.uniform(0.25, 1.0)
        self.members[scheme].append(i)
        return True

    def scale(self, scheme: str, part: float, shares: list[float], rng: random.Random) -> float:
        """The factor of the scheme's base propensities that makes its expected share
        of claims ``part``, enlisting hospitals while too many would exceed
        ``MAX_FRAUD_SHARE``."""
        members, base = self.members[scheme], self.base
        while True:
            mass = sum(shares[i] * base[i] for i in members)
            k = part / mass if mass > 0 else 0.0
            too_high = sum(1 for i in members if base[i] * k > MAX_FRAUD_SHARE)
            if too_high <= len(members) // 4 or not self.enlist(scheme, rng):
                return k


def _set_trigger(h: Hospital, propensity: float) -> None:
    """Set the hospital's per-episode trigger so that the share of its claims
    labelled fraudulent is ``propensity`` (bounded)."""
    assert h.scheme is not None
    f = min(MAX_FRAUD_SHARE, max(MIN_FRAUD_SHARE, propensity))
    c = _CLAIMS_PER_TRIGGER.get(h.scheme, 1)
    lab = _LABELLED_PER_TRIGGER.get(h.scheme, 1)
    # f = s*lab / (s*c + (1-s)) solved for the per-episode trigger s.
    h.fraud_share = min(0.9, f / (lab - f * (c - 1)))


def _ghost_list(pop: RegionPopulation | None, np_rng: np.random.Generator) -> list[int]:
    """Persons whose identities a ghost-patient hospital bills: mostly elderly residents."""
    if pop is None or len(pop) == 0:
        return []
    elderly = np.flatnonzero((pop.band >= 6) & ~pop.employee)
    if len(elderly) == 0:
        elderly = np.arange(len(pop))
    n = min(len(elderly), int(np_rng.integers(25, 70)))
    return sorted(np_rng.choice(elderly, size=n, replace=False).tolist())


def upcode(r: random.Random, h: Hospital, dx: Diagnosis, los: int | None) -> tuple[str, Bill, int]:
    """Bill a costlier related diagnosis with padded tests and drug quantities.

    Returns:
        The billed diagnosis code, the bill, and the (possibly longer) stay.
    """
    billed = dx.upcode or dx.code
    boost = 1.5 + r.random() * 0.8
    if los is None:
        return billed, outpatient_bill(r, h, dx, boost=boost), 0
    los = los + (r.random() < 0.5) + (r.random() < 0.3)
    return billed, inpatient_bill(r, h, dx, los, boost=boost), los


def hanging_bed(r: random.Random, h: Hospital, dx: Diagnosis, los: int) -> tuple[Bill, int]:
    """A stay padded with bed and nursing days the patient did not spend in hospital."""
    extra = 2 + int(r.random() * 8)
    return pad_days(inpatient_bill(r, h, dx, los), extra), los + extra


def substitute(r: random.Random, h: Hospital, bill: Bill, inpatient: bool) -> Bill:
    """Bill self-pay (C) items under the code of a covered look-alike.

    Half the time the line keeps the self-pay amount (a covered code at many
    times its usual unit price); otherwise the quantity is inflated to match
    the amount at the covered item's own price (many units of a cheap item).
    A bill without C items gets one added first: substitution is how the
    hospital sells them.
    """
    by_quantity = r.random() < 0.5
    has_c = any(CATALOGUE[c][0] == "C" and c in SUBSTITUTES for c, _q, _a in bill)
    if not has_c:
        pool = (
            ("XA11JAC001A0", "XV06DBC001K0", "C1401010200001000001")
            if inpatient
            else ("XA11JAC001A0",)
        )
        code = pool[int(r.random() * len(pool))]
        qty = 1 + int(r.random() * 4)
        bill = [*bill, (code, qty, h.prices[code] * qty)]
    out: Bill = []
    for code, qty, amount in bill:
        target = SUBSTITUTES.get(code)
        if target is not None and by_quantity:
            units = max(1, round(amount / h.prices[target]))
            out.append((target, units, h.prices[target] * units))
        elif target is not None:
            out.append((target, qty, amount))
        else:
            out.append((code, qty, amount))
    return out


def template(h: Hospital, dx: Diagnosis, inpatient: bool, salt: int) -> tuple[int, Bill]:
    """The hospital's fixed bill for a diagnosis: same items and amounts for every patient."""
    key = (dx.code, inpatient)
    cached = h.templates.get(key)
    if cached is None:
        r = random.Random(salt)
        if inpatient:
            los = max(3, round(dx.los * 1.1))
            cached = (los, inpatient_bill(r, h, dx, los, boost=1.25))
        else:
            cached = (0, outpatient_bill(r, h, dx, boost=1.3))
        h.templates[key] = cached
    los, bill = cached
    return los, list(bill)


def related_diagnosis(r: random.Random, dx: Diagnosis) -> Diagnosis:
    """The diagnosis of a second stay: usually the same, sometimes its costlier relative."""
    if dx.upcode and r.random() < 0.2:
        return BY_CODE[dx.upcode]
    return dx
