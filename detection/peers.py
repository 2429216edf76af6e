"""Running statistics of peer groups, updated one claim at a time.

Peers share hospital level, diagnosis category and claim type. Small groups
borrow strength from coarser ones (level + claim type, then claim type) by
shrinkage, so a rare diagnosis still gets a sensible "typical" value.
"""

from __future__ import annotations

import math

# Pseudo-count of the parent group when estimating a child group's mean.
SHRINK = 10.0
HOSPITAL_SHRINK = 20.0  # pseudo-claims of the level's rate in a hospital's rates


class Moments:
    """Count, mean and sum of squared deviations of a stream (Welford)."""

    __slots__ = ("m2", "mean", "n")

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    def variance(self) -> float:
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0


def shrunk_mean(chain: list[Moments | None], default: float) -> float:
    """Mean of the finest group, shrunk toward its parents (coarsest last in ``chain``)."""
    estimate = default
    for moments in reversed(chain):
        if moments is None or moments.n == 0:
            continue
        estimate = (moments.n * moments.mean + SHRINK * estimate) / (moments.n + SHRINK)
    return estimate


def shrunk_sd(chain: list[Moments | None], default: float, floor: float) -> float:
    """Standard deviation of the finest group, shrunk toward its parents."""
    estimate = default * default
    for moments in reversed(chain):
        if moments is None or moments.n < 2:
            continue
        estimate = (moments.n * moments.variance() + SHRINK * estimate) / (moments.n + SHRINK)
    return max(math.sqrt(estimate), floor)


def shrunk_rate(hits: float, n: int, prior: float) -> float:
    """A hospital's rate of ``hits`` in ``n`` claims, shrunk toward its level's ``prior``."""
    return (hits + HOSPITAL_SHRINK * prior) / (n + HOSPITAL_SHRINK)


def rate_vs_peer(hits: float, n: int, prior: float) -> float:
    """A hospital's shrunk rate over its level's (1 = like its peers)."""
    return (shrunk_rate(hits, n, prior) + 0.01) / (prior + 0.01)


class PeerStats:
    """The statistics kept per peer group."""

    __slots__ = ("a_share", "c_share", "identical", "log_cost", "log_items", "log_los")

    def __init__(self) -> None:
        self.log_cost = Moments()
        self.log_los = Moments()
        self.log_items = Moments()
        self.a_share = Moments()
        self.identical = Moments()
        self.c_share = Moments()
