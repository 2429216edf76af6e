"""The parameters of one simulation run, validated once.

``SimConfig`` is what the CLI builds from its flags and what
:func:`simulator.generate.simulate` takes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from detection.fraud_types import DIP_SCHEMES, FRAUD_SCHEMES, ITEM_SCHEMES
from simulator.regions import DEFAULT_REGIONS, REGIONS


class SimConfigError(ValueError):
    """A simulation parameter is out of range; the message names it and what is valid."""


@dataclass(frozen=True)
class SimConfig:
    """Parameters of one simulation.

    Attributes:
        seed: the random seed; the same config gives byte-identical output.
        claims: number of claims (lines) to produce, exactly.
        start: first submission day.
        days: number of submission days (claims spawned near the end, such as a
            re-admission, may be submitted a few weeks after the window).
        regions: pooling areas whose insured persons and hospitals are simulated.
        fraud_rate: target share of claims labelled fraudulent by the seven
            item-billing schemes (``ITEM_SCHEMES``, 0 to 0.5).
        dip_fraud_rate: target share of claims labelled fraudulent by the two DIP
            schemes (``DIP_SCHEMES``, 0 to 0.5); None (the default) gives each
            DIP scheme the part each item-billing scheme gets (``fraud_rate``
            x 2/7, so 1.4% for the default 5%).
        corrupt_rate: share of lines made invalid on purpose (0 to 1).
        rule_violation_rate: probability that an honest in-patient or
            out-patient claim breaks an audit rule (labelled
            ``rule_violations``), and again that it is an honest look-alike of
            one (``rule_lookalike``); 0 to 0.2, see simulator.rule_violations.
        ageing: use a Shanghai-like age structure (over 30% aged 60+).
        fraud_hospital_share: share of hospitals that run a fraud scheme.
        inpatient_share: share of non-ltc claims that are inpatient stays.
        ltc_share: share of claims that are monthly long-term-care claims.
        schemes: the fraud schemes in use (default: all).
        spill: let claims that an episode near the end spawns (a second stay,
            a duplicate bill) be submitted after the window; if False, such
            follow-ups are not drawn and every claim is submitted inside it.
    """

    seed: int = 0
    claims: int = 10_000
    start: dt.date = dt.date(2026, 1, 1)
    days: int = 365
    regions: tuple[str, ...] = DEFAULT_REGIONS
    fraud_rate: float = 0.05
    dip_fraud_rate: float | None = None
    corrupt_rate: float = 0.0
    rule_violation_rate: float = 0.0
    ageing: bool = False
    fraud_hospital_share: float = 0.09
    inpatient_share: float = 0.24
    ltc_share: float = 0.02
    schemes: tuple[str, ...] = field(default=FRAUD_SCHEMES)
    spill: bool = True

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise SimConfigError(f"seed must be >= 0, got {self.seed}")
        if self.claims < 0:
            raise SimConfigError(f"claims must be >= 0, got {self.claims}")
        if not 1 <= self.days <= 3660:
            raise SimConfigError(f"days must be 1 to 3660, got {self.days}")
        if self.start < dt.date(2017, 3, 1):
            raise SimConfigError(
                f"start must be 2017-03-01 or later (policies start 2017-01-01), got {self.start}"
            )
        if not self.regions:
            raise SimConfigError("regions must name at least one region")
        unknown = [r for r in self.regions if r not in REGIONS]
        if unknown:
            raise SimConfigError(
                f"unknown region(s) {', '.join(unknown)}; known: {', '.join(sorted(REGIONS))}"
            )
        if len(set(self.regions)) != len(self.regions):
            raise SimConfigError(f"regions are repeated: {', '.join(self.regions)}")
        if not 0.0 <= self.fraud_rate <= 0.5:
            raise SimConfigError(f"fraud_rate must be 0 to 0.5, got {self.fraud_rate}")
        if self.dip_fraud_rate is not None and not 0.0 <= self.dip_fraud_rate <= 0.5:
            raise SimConfigError(f"dip_fraud_rate must be 0 to 0.5, got {self.dip_fraud_rate}")
        if not 0.0 <= self.rule_violation_rate <= 0.2:
            raise SimConfigError(
                f"rule_violation_rate must be 0 to 0.2, got {self.rule_violation_rate}"
            )
        if not 0.0 <= self.corrupt_rate <= 1.0:
            raise SimConfigError(f"corrupt_rate must be 0 to 1, got {self.corrupt_rate}")
        if not 0.0 < self.fraud_hospital_share <= 0.5:
            raise SimConfigError(
                f"fraud_hospital_share must be in (0, 0.5], got {self.fraud_hospital_share}"
            )
        if not 0.0 < self.inpatient_share < 1.0:
            raise SimConfigError(f"inpatient_share must be in (0, 1), got {self.inpatient_share}")
        if not 0.0 <= self.ltc_share <= 0.2:
            raise SimConfigError(f"ltc_share must be 0 to 0.2, got {self.ltc_share}")
        bad = [s for s in self.schemes if s not in FRAUD_SCHEMES]
        if bad:
            raise SimConfigError(
                f"unknown fraud scheme(s) {', '.join(bad)}; known: {', '.join(FRAUD_SCHEMES)}"
            )

    @property
    def dip_rate(self) -> float:
        """The DIP schemes' target share of claims (``dip_fraud_rate`` or its default)."""
        if self.dip_fraud_rate is not None:
            return self.dip_fraud_rate
        return self.fraud_rate * len(DIP_SCHEMES) / len(ITEM_SCHEMES)

    @property
    def end(self) -> dt.date:
        """The last submission day of the window."""
        return self.start + dt.timedelta(days=self.days - 1)
