"""Long-term-care claims: each beneficiary's month of care, billed once a month."""

from __future__ import annotations

import datetime as dt
import random

from simulator.bills import ltc_bill, mix
from simulator.episode import DAY_SECONDS as _DAY
from simulator.episode import Claim, Episode
from simulator.world import World


def ltc_claims(world: World, r: random.Random, day: int) -> list[Claim]:
    """The care months of long-term-care beneficiaries billed on ``day``.

    Each beneficiary is billed once a month, on their own day of the month, for
    the previous calendar month (less the days spent away, now and then).
    """
    date = dt.date.fromordinal(day)
    todays = [b for b in world.beneficiaries if b.day_of_month == date.day]
    if not todays:
        return []
    last = date.replace(day=1) - dt.timedelta(days=1)
    first = last.replace(day=1)
    span = last.day
    made = []
    for b in todays:
        key = b.person * 131 + b.provider
        days = span
        if r.random() < 0.15:  # a hospital stay or a visit to family
            days = max(1, span - 1 - int(r.random() * 10))
        h = world.network.hospitals[b.provider]
        bill = ltc_bill(h, b.setting, days, key)
        pop = world.populations[b.region]
        dx = "I69.3" if mix(key, 9) < 0.5 else "G30.9" if mix(key, 10) < 0.5 else "I63.9"
        ep = Episode(
            "ltc",
            b.region,
            b.person,
            b.provider,
            first.toordinal(),
            last.toordinal(),
            dx,
            bill,
            pop.l_registered[b.person],
            ltc=(b.setting, days),
        )
        made.append((day * _DAY + 9 * 3600 + int(r.random() * 8 * 3600), ep))
    return made
