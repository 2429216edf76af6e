"""The insured persons of each region: a seeded sample with ages, schemes and identity numbers.

Persons are held in numpy arrays sorted by cell (age band, chronic or not), so
that a claim's patient is drawn in O(log cells): a cell by utilisation weight,
then a person uniformly inside it.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from simulator.regions import (
    AGE_BANDS,
    AGEING_SHARES,
    BAND_60_PLUS,
    BAND_ADULT,
    CHRONIC_INPATIENT_MULT,
    CHRONIC_OUTPATIENT_MULT,
    CHRONIC_PREVALENCE,
    INPATIENT_UTIL,
    OUTPATIENT_UTIL,
    REGIONS,
    employee_probabilities,
)

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = "10X98765432"

# Share of persons filed (备案) for care in another city: people living or
# working elsewhere, retirees living with their children (ILLUSTRATIVE).
REGISTERED_SHARE_WORKING = 0.02
REGISTERED_SHARE_RETIRED = 0.05


def id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a PRC identity number.

    Args:
        first17: the first 17 digits.

    Returns:
        ``0``-``9`` or ``X``.
    """
    total = sum(int(c) * int(w) for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def _id_numbers(district: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Vectorised identity numbers as an ``S18`` array.

    ``district`` holds 6-digit ints, ``birth`` YYYYMMDD ints, ``seq`` 3-digit ints.
    """
    n = len(district)
    digits = np.empty((n, 17), dtype=np.int64)
    for i in range(6):
        digits[:, i] = district // 10 ** (5 - i) % 10
    for i in range(8):
        digits[:, 6 + i] = birth // 10 ** (7 - i) % 10
    for i in range(3):
        digits[:, 14 + i] = seq // 10 ** (2 - i) % 10
    check = (digits @ ID_WEIGHTS) % 11
    table = np.frombuffer(ID_CHECK.encode(), dtype=np.uint8)
    out = np.empty((n, 18), dtype=np.uint8)
    out[:, :17] = digits + ord("0")
    out[:, 17] = table[check]
    return out.view("S18").reshape(n)


@dataclass
class RegionPopulation:
    """The sampled insured persons of one region.

    Attributes:
        code: region code.
        person_id: identity numbers (``S18``).
        employee: True for the employees' scheme.
        band: age band index at the start of the simulation.
        female: sex, as encoded in the identity number.
        chronic: index of the person's chronic condition, -1 for none.
        registered: True when filed for inter-city care.
        reg_dest: index (into the config's regions) of the city filed for, -1 for none.
        cells: ``(band, chronic, first, size)`` per cell, in array order.
        cum_out: cumulative outpatient weights per cell.
        cum_in: cumulative inpatient weights per cell.
    """

    code: str
    person_id: np.ndarray
    employee: np.ndarray
    band: np.ndarray
    female: np.ndarray
    chronic: np.ndarray
    registered: np.ndarray
    reg_dest: np.ndarray
    cells: list[tuple[int, bool, int, int]]
    cum_out: list[float]
    cum_in: list[float]

    def __len__(self) -> int:
        return len(self.person_id)

    def __post_init__(self) -> None:
        # Plain lists for the per-claim hot path: indexing a list is several
        # times faster than indexing a numpy array, and small ints and bools
        # are shared objects, so each list costs 8 bytes a person.
        self.l_band: list[int] = self.band.tolist()
        self.l_female: list[bool] = self.female.tolist()
        self.l_chronic: list[int] = self.chronic.tolist()
        self.l_registered: list[bool] = self.registered.tolist()
        self.l_dest: list[int] = self.reg_dest.tolist()
        self.l_employee: list[bool] = self.employee.tolist()

    def draw(self, u_cell: float, u_person: float, inpatient: bool) -> int:
        """A person index, drawn by utilisation weight from two uniforms in [0, 1)."""
        cum = self.cum_in if inpatient else self.cum_out
        cell = bisect_right(cum, u_cell * cum[-1])
        if cell >= len(self.cells):
            cell = len(self.cells) - 1
        _band, _chronic, first, size = self.cells[cell]
        return first + int(u_person * size)


def pool_size(claims: int, days: int) -> int:
    """How many persons to sample in all, so that claims per person look plausible."""
    per_year = claims * 365 / max(days, 1)
    return int(min(600_000, max(3_000, per_year / 2.2)))


def build_population(
    code: str,
    size: int,
    rng: np.random.Generator,
    start: dt.date,
    ageing: bool,
    chronic_weights: list[list[float]],
    dest_weights: list[float],
) -> RegionPopulation:
    """Sample ``size`` insured persons of a region.

    Args:
        code: the region code.
        size: how many persons.
        rng: the numpy generator (seeded by the caller).
        start: the simulation's first day; ages are counted at it and every
            birth date lies at least 120 days before it.
        ageing: use the Shanghai-like age structure.
        chronic_weights: per band, weights over the chronic conditions.
        dest_weights: weights over the config's regions as inter-city
            destinations (0 for this region).

    Returns:
        The population, sorted by (band, chronic first).
    """
    region = REGIONS[code]
    shares = AGEING_SHARES if ageing else region.age_shares
    emp_prob = employee_probabilities(region, shares)
    counts = rng.multinomial(size, shares)
    ref = np.datetime64(start - dt.timedelta(days=120), "D")
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("birth", "employee", "band", "female", "chronic", "registered", "dest")
    }
    cells: list[tuple[int, bool, int, int]] = []
    cum_out: list[float] = []
    cum_in: list[float] = []
    offset = 0
    dest_p = np.array(dest_weights, dtype=float)
    for band, n in enumerate(counts.tolist()):
        n_chronic = _sample_band(
            rng, band, n, ref, emp_prob[band], chronic_weights[band], dest_p, parts
        )
        for is_chronic, first, cell_size in (
            (True, offset, n_chronic),
            (False, offset + n_chronic, n - n_chronic),
        ):
            if cell_size == 0:
                continue
            cells.append((band, is_chronic, first, cell_size))
            out_w = OUTPATIENT_UTIL[band] * (CHRONIC_OUTPATIENT_MULT if is_chronic else 1.0)
            in_w = INPATIENT_UTIL[band] * (CHRONIC_INPATIENT_MULT if is_chronic else 1.0)
            cum_out.append(out_w * cell_size)
            cum_in.append(in_w * cell_size)
        offset += n
    female = np.concatenate(parts["female"])
    return RegionPopulation(
        code=code,
        person_id=_unique_ids(rng, region.districts, np.concatenate(parts["birth"]), female),
        employee=np.concatenate(parts["employee"]),
        band=np.concatenate(parts["band"]),
        female=female,
        chronic=np.concatenate(parts["chronic"]),
        registered=np.concatenate(parts["registered"]),
        reg_dest=np.concatenate(parts["dest"]),
        cells=cells,
        cum_out=list(accumulate(cum_out)),
        cum_in=list(accumulate(cum_in)),
    )


def _sample_band(
    rng: np.random.Generator,
    band: int,
    n: int,
    ref: np.datetime64,
    emp_prob: float,
    chronic_weights: list[float],
    dest_p: np.ndarray,
    parts: dict[str, list[np.ndarray]],
) -> int:
    """Sample the ``n`` persons of an age band into ``parts``, the chronic ones first;
    returns how many are chronic."""
    lo, hi = AGE_BANDS[band]
    n_chronic = int(rng.binomial(n, CHRONIC_PREVALENCE[band])) if n else 0
    age_days = rng.integers(lo * 365, hi * 365, size=n)
    parts["birth"].append(ref - age_days.astype("timedelta64[D]"))
    parts["employee"].append(rng.random(n) < emp_prob)
    parts["band"].append(np.full(n, band, dtype=np.int8))
    parts["female"].append(rng.random(n) < 0.5)
    chronic = np.full(n, -1, dtype=np.int16)
    if n_chronic:
        w = np.array(chronic_weights, dtype=float)
        chronic[:n_chronic] = rng.choice(len(w), size=n_chronic, p=w / w.sum())
    parts["chronic"].append(chronic)
    reg_share = REGISTERED_SHARE_RETIRED if band >= BAND_60_PLUS else REGISTERED_SHARE_WORKING
    if band < BAND_ADULT or dest_p.sum() == 0:
        reg_share = 0.0
    registered = rng.random(n) < reg_share
    dest = np.full(n, -1, dtype=np.int8)
    if registered.any():
        dest[registered] = rng.choice(
            len(dest_p), size=int(registered.sum()), p=dest_p / dest_p.sum()
        )
    parts["registered"].append(registered)
    parts["dest"].append(dest)
    return n_chronic


def _unique_ids(
    rng: np.random.Generator, districts: tuple[str, ...], birth: np.ndarray, female: np.ndarray
) -> np.ndarray:
    """Identity numbers for persons of these birth dates and sexes, each in one of the
    region's districts; the rare collisions get new sequence digits."""
    size = len(birth)
    birth_int = _yyyymmdd(birth)
    codes = np.array([int(d) for d in districts], dtype=np.int64)
    district = codes[rng.integers(0, len(codes), size=size)]
    seq = _draw_seq(rng, female)
    ids = _id_numbers(district, birth_int, seq)
    for _ in range(20):
        _uniq, first_idx, counts_u = np.unique(ids, return_index=True, return_counts=True)
        if (counts_u == 1).all():
            break
        keep = np.zeros(size, dtype=bool)
        keep[first_idx] = True
        redo = ~keep
        seq[redo] = _draw_seq(rng, female[redo])
        ids[redo] = _id_numbers(district[redo], birth_int[redo], seq[redo])
    return ids


def _draw_seq(rng: np.random.Generator, female: np.ndarray) -> np.ndarray:
    # The 17th digit is odd for men and even for women.
    base = rng.integers(0, 500, size=len(female)) * 2
    seq: np.ndarray = base + np.where(female, 0, 1)
    return seq


def _yyyymmdd(dates: np.ndarray) -> np.ndarray:
    years = dates.astype("datetime64[Y]")
    months = dates.astype("datetime64[M]")
    y = years.astype(np.int64) + 1970
    m = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    d = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
    out: np.ndarray = y * 10000 + m * 100 + d
    return out
