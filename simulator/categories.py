"""Section-8 patient fields (person, assistance and filing categories) and catalogues.

The names are the ones the bundled 2027 illustrative policies use
(``settlement/policies/441800.yaml``, ``440100.yaml``): person categories
``retired`` (employees' scheme) and ``child`` (residents' scheme), assistance
categories ``dibao`` and ``tekun``, and filing categories ``long_term``,
``referral``, ``emergency`` and ``temporary`` (spec section 8).

Nothing here draws from the day loop's random sources or the world's: person
attributes come from their own numpy generator seeded from the config's seed
and the region, and a claim's filing category from a hash of the claim's
person, hospital and dates. Adding the fields therefore changes no other part
of a claim, no label and no scheme rate, and the output stays deterministic
per seed whatever the number of workers.

The catalogue writer gives each treatment region a ``<region>.catalogue.csv``
(spec 8.4) for the simulator's item codes, with price ceilings slightly above
the highest usual price of the region's hospitals, so that honest lines stay
under them and over-priced lines (a covered code billed at a self-pay item's
amount by ``item_substitution``) exceed them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from simulator.bills import mix
from simulator.items import CATALOGUE

if TYPE_CHECKING:
    from simulator.episode import Episode
    from simulator.world import World

# Retirement ages of the employees' scheme: 60 for men, 55 for women (the
# common pre-2025 ages for cadres; ILLUSTRATIVE). Children: under 18.
RETIRE_AGE_MEN = 60
RETIRE_AGE_WOMEN = 55
CHILD_AGE = 18
# Shares of the residents' scheme with a medical-assistance category
# (ILLUSTRATIVE; about 3% of China's population is on 低保, 0.3% 特困,
# concentrated among residents and the elderly).
DIBAO_SHARE = 0.04
TEKUN_SHARE_60_PLUS = 0.015
TEKUN_SHARE_OTHER = 0.002
# Filing categories of inter-city claims (ILLUSTRATIVE): a filed person treated
# in the city filed for is mostly a long-term resident there, otherwise a
# referral; an unfiled inpatient stay is often an emergency.
LONG_TERM_AT_DEST = 0.85
LONG_TERM_ELSEWHERE = 0.10
UNFILED_INPATIENT = (("emergency", 0.45), ("temporary", 0.35))  # rest: none
UNFILED_OUTPATIENT = (("emergency", 0.20), ("temporary", 0.50))
# Catalogue: ceilings this much above the region's highest usual unit price.
CEILING_MARGIN = 1.05
# First self-pay share of category-B materials (implants, stents) in the catalogue.
MATERIAL_B_SELF_PAY = "0.30"
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_SALT_FILING = 0x5F1
_SALT = 20261205


def _birthday(born: np.ndarray, day: np.ndarray, years: np.ndarray | int) -> np.ndarray:
    """Days since 1970 of the birthday ``years`` on (29 February: 1 March)."""
    month = born + np.asarray(years) * 12
    out: np.ndarray = month.astype("datetime64[D]").astype(np.int64) + day
    return out


class PersonCategories:
    """Per person of each region: when they become retired, stop being a child,
    and their assistance category (``None`` for most)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.retired_from: dict[str, list[int]] = {}
        self.child_until: dict[str, list[int]] = {}
        self.assistance: dict[str, list[str | None]] = {}
        self.dest: dict[str, list[int]] = {}
        for ri, code in enumerate(world.regions):
            pop = world.populations[code]
            rng = np.random.default_rng([world.config.seed, _SALT, ri])
            ids = pop.person_id.view(np.uint8).reshape(len(pop), 18)
            digits = ids[:, 6:14].astype(np.int64) - ord("0")
            weights = 10 ** np.arange(7, -1, -1, dtype=np.int64)
            birth = digits @ weights
            months = (birth // 10000 - 1970) * 12 + birth // 100 % 100 - 1
            days = birth % 100 - 1
            retire_years = np.where(pop.female, RETIRE_AGE_WOMEN, RETIRE_AGE_MEN)
            born = months.astype("datetime64[M]")
            retire = _birthday(born, days, retire_years)
            child = _birthday(born, days, CHILD_AGE)
            self.retired_from[code] = np.where(
                pop.employee, retire + _EPOCH_ORDINAL, 1 << 40
            ).tolist()
            self.child_until[code] = np.where(pop.employee, 0, child + _EPOCH_ORDINAL).tolist()
            u = rng.random(len(pop))
            old = pop.band >= 6
            tekun = np.where(old, TEKUN_SHARE_60_PLUS, TEKUN_SHARE_OTHER)
            resident = ~pop.employee
            labels = np.full(len(pop), None, dtype=object)
            labels[resident & (u < tekun)] = "tekun"
            labels[resident & (u >= tekun) & (u < tekun + DIBAO_SHARE)] = "dibao"
            self.assistance[code] = labels.tolist()
            self.dest[code] = pop.l_dest
        self._hospital_region = [h.region for h in world.network.hospitals]

    def fields(self, ep: Episode) -> tuple[str | None, str | None, str | None]:
        """``(category, assistance, intercity_filing)`` of an episode's patient, each maybe None."""
        region = ep.region
        person = ep.person
        adm = ep.adm
        category = None
        if adm >= self.retired_from[region][person]:
            category = "retired"
        elif adm < self.child_until[region][person]:
            category = "child"
        hregion = self._hospital_region[ep.hospital]
        filing = None
        if hregion != region:
            u = mix((person << 20) ^ (ep.hospital << 4) ^ adm * 7 ^ ep.dis, _SALT_FILING)
            if ep.registered:
                dest = self.dest[region][person]
                at_dest = dest >= 0 and self.world.regions[dest] == hregion
                long_term = LONG_TERM_AT_DEST if at_dest else LONG_TERM_ELSEWHERE
                filing = "long_term" if u < long_term else "referral"
            else:
                acc = 0.0
                table = UNFILED_INPATIENT if ep.claim_type == "inpatient" else UNFILED_OUTPATIENT
                for name, share in table:
                    acc += share
                    if u < acc:
                        filing = name
                        break
        return category, self.assistance[region][person], filing


def patient_json(fields: tuple[str | None, str | None, str | None]) -> str:
    """The JSON text of the present fields, each preceded by a comma."""
    category, assistance, filing = fields
    out = ""
    if category is not None:
        out += f',"category":"{category}"'
    if assistance is not None:
        out += f',"assistance":"{assistance}"'
    if filing is not None:
        out += f',"intercity_filing":"{filing}"'
    return out


def add_patient_fields(patient: dict[str, object], fields: tuple[str | None, ...]) -> None:
    """Add the present fields to a claim's patient dict (in :func:`patient_json`'s order)."""
    for key, value in zip(("category", "assistance", "intercity_filing"), fields, strict=True):
        if value is not None:
            patient[key] = value


def _ceiling_yuan(fen: float) -> str:
    jiao = -(-int(fen * CEILING_MARGIN) // 10)  # rounded up to whole jiao
    return f"{jiao // 10}.{jiao % 10}0"


def catalogue_rows(world: World, region: str) -> list[tuple[str, str, str, str]]:
    """``(code, category, self_pay, price_ceiling)`` for each item code, for one treatment region.

    The ceiling is 5% above the highest price per billed quantity that any
    hospital of the region charges for the code (rounded up to the jiao): the
    unit price, or for a drug a hospital dispenses by the pack, the pack price
    (5 or 10 units), so honest lines never exceed it. Category-B materials get
    a 30% first self-pay share; other rows leave ``self_pay`` empty (the
    policy's ``category_b_self_pay``).
    """
    highest: dict[str, int] = {}
    for h in world.network.hospitals:
        if h.region != region:
            continue
        for code, price in h.prices.items():
            per_quantity = price * h.packs.get(code, 1)
            if per_quantity > highest.get(code, 0):
                highest[code] = per_quantity
    rows = []
    for code, (cat, _base, kind) in CATALOGUE.items():
        self_pay = MATERIAL_B_SELF_PAY if kind == "material" and cat == "B" else ""
        ceiling = _ceiling_yuan(highest[code]) if code in highest else ""
        rows.append((code, cat, self_pay, ceiling))
    return rows


def write_catalogues(
    world: World, directory: Path, effective_from: str = "2017-01-01"
) -> list[Path]:
    """Write ``<region>.catalogue.csv`` (spec 8.4) for every region of the world into ``directory``.

    Returns:
        The files written, one per region, in the config's region order.
    """
    dt.date.fromisoformat(effective_from)  # refuse a malformed date early
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for region in world.regions:
        lines = ["code,category,self_pay,price_ceiling,effective_from"]
        lines += [
            f"{code},{cat},{self_pay},{ceiling},{effective_from}"
            for code, cat, self_pay, ceiling in catalogue_rows(world, region)
        ]
        path = directory / f"{region}.catalogue.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
    return written
