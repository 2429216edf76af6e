"""One claim before it is rendered: who, where, when, what was billed, and its label."""

from __future__ import annotations

from simulator.bills import Bill
from simulator.dip_coding import Coding

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
        "ltc",
        "person",
        "region",
        "registered",
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
