"""Figures of the simulated pooling areas: insured counts, age structure, districts, hospitals.

Which numbers are calibrated and which are illustrative is stated beside each
table and in ``docs/simulator.md``. Nothing here is computed; it is data.
"""

from __future__ import annotations

from dataclasses import dataclass

# Age bands (inclusive lower, exclusive upper bound in years). Utilisation and
# scheme membership are defined per band.
AGE_BANDS: tuple[tuple[int, int], ...] = (
    (0, 5),
    (5, 15),
    (15, 18),
    (18, 30),
    (30, 45),
    (45, 60),
    (60, 70),
    (70, 80),
    (80, 100),
)
N_BANDS = len(AGE_BANDS)
BAND_60_PLUS = 6  # index of the first band aged 60 or more
BAND_ADULT = 3  # index of the first band aged 18 or more


@dataclass(frozen=True)
class Region:
    """One pooling area as the simulator sees it.

    Attributes:
        code: 6-digit region code (the policy file name).
        name: English name.
        employees: persons insured in the employees' scheme.
        residents: persons insured in the residents' scheme.
        age_shares: share of insured persons per ``AGE_BANDS`` band (sums to 1).
        districts: real county-level area codes used as identity-number prefixes.
        hospitals: number of simulated hospitals of levels 1, 2 and 3.
        teaching: how many of the level-3 hospitals are teaching hospitals.
        ltc_providers: number of long-term-care institutions (level 1).
        attract: weight of this region as a destination of inter-city care.
    """

    code: str
    name: str
    employees: int
    residents: int
    age_shares: tuple[float, ...]
    districts: tuple[str, ...]
    hospitals: tuple[int, int, int]
    teaching: int
    ltc_providers: int
    attract: float

    @property
    def insured(self) -> int:
        return self.employees + self.residents


def _shares(*values: float) -> tuple[float, ...]:
    total = sum(values)
    return tuple(v / total for v in values)


# Qingyuan's 0.5 M employees / 3.5 M residents are the figures given for the
# pilot; the other regions' insured counts are rounded orders of magnitude
# (ILLUSTRATIVE). Age shares follow the rough shape of the 2020 census for each
# city (Qingyuan young and older, Shenzhen and Dongguan young migrant cities):
# ILLUSTRATIVE approximations, not published tables.
REGIONS: dict[str, Region] = {
    r.code: r
    for r in (
        Region(
            code="441800",
            name="Qingyuan",
            employees=500_000,
            residents=3_500_000,
            age_shares=_shares(6.5, 16.5, 4.0, 13.0, 19.0, 21.0, 10.0, 6.5, 3.5),
            districts=(
                "441802",
                "441803",
                "441821",
                "441823",
                "441825",
                "441826",
                "441881",
                "441882",
            ),
            hospitals=(24, 10, 4),
            teaching=1,
            ltc_providers=3,
            attract=0.5,
        ),
        Region(
            code="440100",
            name="Guangzhou",
            employees=8_500_000,
            residents=4_300_000,
            age_shares=_shares(5.0, 9.5, 2.5, 17.0, 28.0, 23.0, 8.0, 4.5, 2.5),
            districts=(
                "440103",
                "440104",
                "440105",
                "440106",
                "440111",
                "440112",
                "440113",
                "440114",
                "440115",
                "440117",
                "440118",
            ),
            hospitals=(40, 24, 14),
            teaching=4,
            ltc_providers=6,
            attract=4.0,
        ),
        Region(
            code="440300",
            name="Shenzhen",
            employees=12_000_000,
            residents=3_200_000,
            age_shares=_shares(5.5, 10.0, 2.0, 21.0, 35.0, 20.0, 4.0, 1.7, 0.8),
            districts=("440303", "440304", "440305", "440306", "440307", "440308"),
            hospitals=(40, 22, 10),
            teaching=2,
            ltc_providers=3,
            attract=2.0,
        ),
        Region(
            code="440600",
            name="Foshan",
            employees=4_200_000,
            residents=3_000_000,
            age_shares=_shares(5.5, 11.0, 2.5, 16.0, 27.0, 24.0, 8.5, 3.8, 1.7),
            districts=("440604", "440605", "440606", "440607", "440608"),
            hospitals=(24, 14, 6),
            teaching=1,
            ltc_providers=3,
            attract=1.0,
        ),
        Region(
            code="441900",
            name="Dongguan",
            employees=6_000_000,
            residents=2_000_000,
            age_shares=_shares(5.5, 10.0, 2.0, 22.0, 34.0, 20.5, 4.0, 1.3, 0.7),
            districts=("441900",),
            hospitals=(26, 14, 6),
            teaching=1,
            ltc_providers=2,
            attract=1.0,
        ),
    )
}

DEFAULT_REGIONS: tuple[str, ...] = ("441800", "440100", "440300", "440600", "441900")

# The --ageing option: an age structure like Shanghai's registered population,
# where more than 30% are 60 or older (ILLUSTRATIVE shape, 34% aged 60+).
AGEING_SHARES: tuple[float, ...] = _shares(3.0, 7.0, 2.0, 10.0, 20.0, 24.0, 17.0, 11.0, 6.0)

# Share of persons in each band who live with a chronic condition that brings
# them back for regular outpatient care (ILLUSTRATIVE, rises with age).
CHRONIC_PREVALENCE: tuple[float, ...] = (0.005, 0.01, 0.015, 0.03, 0.06, 0.14, 0.26, 0.34, 0.38)

# Relative claim frequency per person by band (ILLUSTRATIVE; the shape - high
# for infants, lowest for teenagers, rising steeply after 60 - is the usual one).
OUTPATIENT_UTIL: tuple[float, ...] = (1.6, 0.6, 0.4, 0.45, 0.6, 0.9, 1.5, 2.0, 2.3)
INPATIENT_UTIL: tuple[float, ...] = (1.0, 0.35, 0.25, 0.55, 0.6, 0.9, 1.9, 3.0, 4.2)
CHRONIC_OUTPATIENT_MULT = 5.0
CHRONIC_INPATIENT_MULT = 1.8


def employee_probabilities(region: Region, age_shares: tuple[float, ...]) -> list[float]:
    """Probability of being in the employees' scheme for each age band.

    Children are always residents; retirees (60+) are employees at 70% of the
    working-age rate. The working-age rate is solved so that the region's
    employee share among insured persons matches ``employees / insured``.

    Args:
        region: the region whose scheme mix is targeted.
        age_shares: the age structure in use (the region's or the ageing one).

    Returns:
        One probability per band.
    """
    target = region.employees / region.insured
    working = sum(age_shares[BAND_ADULT:BAND_60_PLUS])
    retired = sum(age_shares[BAND_60_PLUS:])
    rate = target / (working + 0.7 * retired)
    rate = min(rate, 0.98)
    probs = []
    for band in range(N_BANDS):
        if band < BAND_ADULT:
            probs.append(0.0)
        elif band < BAND_60_PLUS:
            probs.append(rate)
        else:
            probs.append(min(0.98, 0.7 * rate))
    return probs
