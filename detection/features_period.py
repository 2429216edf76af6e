"""Period features: each claim-level feature's mean over the hospital's claims of the period.

A claim's own features say how unusual *it* is; a hospital that bills badly
shows it across many claims. ``period_<feature>`` is the mean of ``<feature>``
over the hospital's claims, this one included (:data:`PERIOD_BASES`).

- In the fold (the stream): the mean over the hospital's claims seen so far.
  It depends only on past claims and the claim itself, like every other feature.
- Over a review period (training, ``yibao score``, ``yibao evaluate``): every
  claim of a hospital gets the value the fold reaches at the hospital's last
  claim, i.e. the mean over the whole period (:meth:`PeriodFeatures.means`).

A batch reviewer has the whole period in hand, and so do training and
evaluation on a file; the stream has only what has arrived so far. The two
agree once the period's claims are all in.
"""

from __future__ import annotations

import math
from typing import Final

from detection.facts import ClaimFacts
from detection.feature_names import FEATURE_INDEX, PERIOD_BASES, PERIOD_PREFIX, slot

_FAMILY: Final = "period"
#: Where each mean is read from and written to, in PERIOD_BASES order.
_BASE_SLOTS: Final[tuple[int, ...]] = tuple(FEATURE_INDEX[name] for name in PERIOD_BASES)
_MEAN_SLOTS: Final[tuple[int, ...]] = tuple(
    slot(PERIOD_PREFIX + name, _FAMILY) for name in PERIOD_BASES
)
_WIDTH: Final = len(PERIOD_BASES)


class HospitalSums:
    """One hospital's claim count and the sums of its claims' base features."""

    __slots__ = ("n", "sums")

    # The default is for unpickling only (compiled, __new__ runs __init__ first).
    def __init__(self, width: int = 0) -> None:
        self.n = 0
        self.sums = [0.0] * width


class PeriodFeatures:
    """Per hospital: how many claims, and the sum of each base feature over them."""

    def __init__(self) -> None:
        self.hospitals: dict[str, HospitalSums] = {}

    def compute(self, claim: ClaimFacts, row: list[float]) -> list[float]:
        """Write the hospital's means with this claim counted; its base values, to learn.

        Called after every other family has filled ``row``. A value that is not
        finite (none is expected) counts as 0, so one bad value cannot poison a
        hospital's means for the rest of the period.
        """
        values = [0.0] * _WIDTH
        found = self.hospitals.get(claim.hospital_id)
        n = (found.n if found is not None else 0) + 1
        for k in range(_WIDTH):
            value = row[_BASE_SLOTS[k]]
            if not math.isfinite(value):
                value = 0.0
            values[k] = value
            total = found.sums[k] + value if found is not None else value
            row[_MEAN_SLOTS[k]] = total / n
        return values

    def learn(self, claim: ClaimFacts, values: list[float]) -> None:
        found = self.hospitals.get(claim.hospital_id)
        if found is None:
            found = self.hospitals[claim.hospital_id] = HospitalSums(_WIDTH)
        found.n += 1
        sums = found.sums
        for k in range(_WIDTH):
            sums[k] += values[k]

    def means(self) -> dict[str, list[float]]:
        """Each hospital's means over every claim learned (PERIOD_BASES order)."""
        return {
            hospital: [total / found.n for total in found.sums]
            for hospital, found in self.hospitals.items()
            if found.n
        }


def mean_slots() -> tuple[int, ...]:
    """The vector positions of the period means, in PERIOD_BASES order."""
    return _MEAN_SLOTS
