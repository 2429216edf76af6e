"""One claim before it is rendered: who, where, when, what was billed, and its label."""

from __future__ import annotations

import random
from dataclasses import dataclass

from simulator.bills import Bill
from simulator.dip_coding import Coding
from simulator.hospitals import Hospital

DAY_SECONDS = 86_400  # timestamps are seconds since day 1 of year 1 (date ordinals x 86,400)


class Episode:
    """One claim before it is rendered: who, where, when, what was billed, and its label."""

    __slots__ = (
        "adm",
        "bill",
        "claim_type",
        "coding",
        "dis",
        "dx",
        "fraud",
        "hospital",
        "lookalike",
        "ltc",
        "person",
        "region",
        "registered",
        "rules",
    )

    def __init__(
        self,
        claim_type: str,
        region: str,
        person: int,
        hospital: int,
        adm: int,
        dis: int,
        dx: str,
        bill: Bill,
        registered: bool,
        fraud: str | None = None,
        ltc: tuple[str, int] | None = None,
        coding: Coding | None = None,
    ) -> None:
        self.claim_type = claim_type
        self.region = region
        self.person = person
        self.hospital = hospital
        self.adm = adm
        self.dis = dis
        self.dx = dx
        self.bill = bill
        self.registered = registered
        self.fraud = fraud
        self.ltc = ltc
        # An in-patient stay's DIP fields, set when it is recorded (DayGenerator.push).
        self.coding = coding
        # Audit-rule labels set by simulator.rule_violations: the rules the
        # claim was made to break, or the rule it was made to come close to.
        self.rules: tuple[str, ...] = ()
        self.lookalike: str | None = None


Claim = tuple[int, Episode]  # an episode and its submission ts


# Not frozen: a frozen dataclass's __init__ costs several times more, and one
# Visit is made per claim on the day loop's hot path. Nothing mutates a Visit;
# dataclasses.replace gives a changed copy.
@dataclass(slots=True)
class Visit:
    """What the day loop drew before an episode is billed: who, at which hospital, when.

    Attributes:
        day: the submission day (date ordinal).
        hospital: the hospital treating the patient.
        hi: its index in the network.
        region: the patient's insurance region.
        person: the patient's index in that region's population.
        registered: whether care in the hospital's region is filed (备案).
        inpatient: whether the day loop drew a stay (else an outpatient visit).
        band: the patient's age band.
        female: the patient's sex.
        season: the two-month season of the day (0-5).
    """

    day: int
    hospital: Hospital
    hi: int
    region: str
    person: int
    registered: bool
    inpatient: bool
    band: int
    female: bool
    season: int


def stay_ts(r: random.Random, day: int) -> int:
    """Submission time of a stay settled on ``day``: office hours, 09:00-18:00."""
    return day * DAY_SECONDS + 9 * 3600 + int(r.random() * 9 * 3600)


def stay_of(
    visit: Visit, dx: str, bill: Bill, los: int, dis: int, fraud: str | None = None
) -> Episode:
    """The visit's patient's stay at its hospital: ``los`` days up to discharge on ``dis``."""
    return Episode(
        "inpatient",
        visit.region,
        visit.person,
        visit.hi,
        dis - los,
        dis,
        dx,
        bill,
        visit.registered,
        fraud=fraud,
    )


def visit_of(visit: Visit, day: int, dx: str, bill: Bill, fraud: str | None = None) -> Episode:
    """The visit's patient's outpatient visit at its hospital on ``day``."""
    return Episode(
        "outpatient",
        visit.region,
        visit.person,
        visit.hi,
        day,
        day,
        dx,
        bill,
        visit.registered,
        fraud=fraud,
    )
