"""Episodes of the fraud schemes: what a fraudulent hospital bills instead of the honest claim.

Called from :class:`simulator.days.DayGenerator`'s day loop, kept apart from
the honest episodes. The bill transformations themselves are in
:mod:`simulator.fraud`.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from simulator.bills import (
    inpatient_bill,
    outpatient_bill,
)
from simulator.diagnoses import (
    AGE_GROUP_OF_BAND,
    BY_CODE,
    DX_INDEX,
    GHOST_DIAGNOSES,
    MILD_ADMISSION,
)
from simulator.dip_fraud import high_coding, low_threshold_admission
from simulator.episode import DAY_SECONDS as _DAY
from simulator.episode import Episode
from simulator.fraud import hanging_bed, related_diagnosis, substitute, template, upcode

if TYPE_CHECKING:
    from simulator.days import DayGenerator

BORROWED_CARD = 0.3  # ghost-patient claims that are a borrowed card, not a listed ghost


def fraud_episode(
    gen: DayGenerator,
    r: random.Random,
    day: int,
    h: Any,
    hi: int,
    region: str,
    person: int,
    registered: bool,
    inpatient: bool,
    band: int,
    female: bool,
    season: int,
    remaining: int,
) -> int:
    """Generate a fraudulent episode at ``h``; returns claims used (0 = not applicable)."""
    scheme = h.scheme
    seed = gen.config.seed
    rnd = r.random
    if scheme == "ghost_patient":
        if not h.ghost_list:
            return 0
        if rnd() < BORROWED_CARD:
            return borrowed_card(gen, r, day, h, hi, inpatient, season)
        # A group of "patients" admitted together, e.g. after a free check-up day.
        group = min(remaining, 1 + int(rnd() * 3))
        los0 = 6 + int(rnd() * 7)
        dis = day - gen.lag(r)
        for _ in range(group):
            gp = h.ghost_list[int(rnd() * len(h.ghost_list))]
            dx = BY_CODE[GHOST_DIAGNOSES[int(rnd() * len(GHOST_DIAGNOSES))]]
            los = max(3, los0 + int(rnd() * 3) - 1)
            bill = inpatient_bill(r, h, dx, los, boost=1.1)
            pop = gen.world.populations[h.region]
            ep = Episode(
                "inpatient",
                h.region,
                gp,
                hi,
                dis - los,
                dis,
                dx.code,
                bill,
                pop.l_registered[gp],
                fraud=scheme,
            )
            gen.push(day * _DAY + 9 * 3600 + int(rnd() * 9 * 3600), ep)
        return group
    if scheme == "duplicate_billing":
        if remaining < 2:
            return 0
        if inpatient:
            code = gen.picker.pick(rnd(), True, AGE_GROUP_OF_BAND[band], female, h.case_mix, season)
            gen.stay(r, day, h, hi, region, person, registered, BY_CODE[code], 1)
        else:
            code = gen.picker.pick(
                rnd(), False, AGE_GROUP_OF_BAND[band], female, h.case_mix, season
            )
            bill = outpatient_bill(r, h, BY_CODE[code])
            gen.push_outpatient(
                r,
                day,
                Episode("outpatient", region, person, hi, day, day, code, bill, registered),
            )
        orig_ts, orig = gen.drawn[-1]
        bill = list(orig.bill)
        if rnd() < 0.35:
            j = int(rnd() * len(bill))
            c, q, a = bill[j]
            bill[j] = (c, q + 1, a // q * (q + 1))
        if orig.claim_type == "outpatient" and rnd() < 0.6:
            # A repeat visit that never happened: the same bill on a later day.
            when = day + 1 + int(rnd() * 14)
            if not gen.fits(when * _DAY):
                return 1
            copy = Episode(
                "outpatient",
                orig.region,
                orig.person,
                orig.hospital,
                when,
                when,
                orig.dx,
                bill,
                orig.registered,
                fraud=scheme,
            )
            gen.push_outpatient(r, when, copy)
            return 2
        # The same visit or stay billed again under a new claim id.
        copy = Episode(
            orig.claim_type,
            orig.region,
            orig.person,
            orig.hospital,
            orig.adm,
            orig.dis,
            orig.dx,
            bill,
            orig.registered,
            fraud=scheme,
            coding=orig.coding,
        )
        ts = orig_ts + (3 + int(rnd() * 35)) * _DAY + int(rnd() * 3600)
        if not gen.fits(ts):
            return 1
        gen.push(ts, copy)
        return 2
    if scheme == "high_coding":
        if not inpatient:
            # A stay's patient: drawn by in-patient utilisation (older, sicker), not
            # the visitor the day loop drew.
            pop = gen.world.populations[region]
            person = pop.draw(rnd(), rnd(), True)
            band, female = pop.l_band[person], pop.l_female[person]
        return high_coding(gen, r, day, h, hi, region, person, registered, band, female, season)
    if scheme == "low_threshold_admission":
        return low_threshold_admission(
            gen, r, day, h, hi, region, person, registered, band, female, season
        )
    if scheme in ("hanging_bed", "decomposed_admission"):
        inpatient = True
    code = gen.picker.pick(rnd(), inpatient, AGE_GROUP_OF_BAND[band], female, h.case_mix, season)
    dx = BY_CODE[code]
    if scheme == "hanging_bed" and code not in MILD_ADMISSION:
        dx = BY_CODE[MILD_ADMISSION[int(rnd() * len(MILD_ADMISSION))]]
    dis = day - gen.lag(r)
    ts = day * _DAY + 9 * 3600 + int(rnd() * 9 * 3600)
    los = gen.draw_los(r, dx, h.level, h.teaching) if inpatient else 0
    ctype = "inpatient" if inpatient else "outpatient"
    billed = dx.code
    if scheme == "upcoding":
        billed, bill, los = upcode(r, h, dx, los if inpatient else None)
    elif scheme == "hanging_bed":
        bill, los = hanging_bed(r, h, dx, los)
    elif scheme == "item_substitution":
        bill = inpatient_bill(r, h, dx, los) if inpatient else outpatient_bill(r, h, dx)
        bill = substitute(r, h, bill, inpatient)
    elif scheme == "template_billing":
        salt = (seed << 24) + hi * 64 + DX_INDEX[dx.code] + 1_000_000
        tlos, bill = template(h, dx, inpatient, salt)
        if inpatient:
            los = tlos
    elif scheme == "decomposed_admission":
        if remaining < 2:
            return 0
        total = max(6, round(los * (1.3 + rnd() * 0.7)))
        los1 = max(2, round(total * (0.4 + rnd() * 0.2)))
        los2 = max(2, total - los1)
        gap = 0 if rnd() < 0.6 else 1 if rnd() < 0.75 else 2
        bill1 = inpatient_bill(r, h, dx, los1)
        adm1 = dis - los1
        ep1 = Episode(
            "inpatient", region, person, hi, adm1, dis, dx.code, bill1, registered, fraud=scheme
        )
        dx2 = related_diagnosis(r, dx)
        adm2 = dis + gap
        bill2 = inpatient_bill(r, h, dx2, los2, workup=False)
        ep2 = Episode(
            "inpatient",
            region,
            person,
            hi,
            adm2,
            adm2 + los2,
            dx2.code,
            bill2,
            registered,
            fraud=scheme,
        )
        ts2 = gen.discharge_ts(r, adm2 + los2)
        if not gen.fits(ts2):
            return 0  # the second stay would fall after the window: bill honestly
        gen.push(ts, ep1)
        gen.push(ts2, ep2)
        return 2
    else:  # pragma: no cover - every scheme is handled above
        raise ValueError(f"unknown scheme {scheme!r}")
    if inpatient:
        ep = Episode(
            ctype, region, person, hi, dis - los, dis, billed, bill, registered, fraud=scheme
        )
        gen.push(ts, ep)
    else:
        ep = Episode(ctype, region, person, hi, day, day, billed, bill, registered, fraud=scheme)
        gen.push_outpatient(r, day, ep)
    return 1


def borrowed_card(
    gen: DayGenerator,
    r: random.Random,
    day: int,
    h: Any,
    hi: int,
    inpatient: bool,
    season: int,
) -> int:
    """Identity misuse: someone is treated on another insured person's card.

    The card holder is any insured person of the region (drawn without
    regard to health), the diagnosis fits the real patient, whose age and
    sex need not match the card's.
    """
    pop = gen.world.populations[h.region]
    person = int(r.random() * len(pop))
    group = int(r.random() * 3)
    female = r.random() < 0.5
    code = gen.picker.pick(r.random(), inpatient, group, female, h.case_mix, season)
    dx = BY_CODE[code]
    registered = pop.l_registered[person]
    if inpatient:
        los = gen.draw_los(r, dx, h.level, h.teaching)
        dis = day - gen.lag(r)
        bill = inpatient_bill(r, h, dx, los)
        ep = Episode(
            "inpatient",
            h.region,
            person,
            hi,
            dis - los,
            dis,
            code,
            bill,
            registered,
            fraud="ghost_patient",
        )
        gen.push(day * _DAY + 9 * 3600 + int(r.random() * 9 * 3600), ep)
    else:
        bill = outpatient_bill(r, h, dx)
        ep = Episode(
            "outpatient",
            h.region,
            person,
            hi,
            day,
            day,
            code,
            bill,
            registered,
            fraud="ghost_patient",
        )
        gen.push_outpatient(r, day, ep)
    return 1
