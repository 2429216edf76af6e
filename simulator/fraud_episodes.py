"""Episodes of the fraud schemes: what a fraudulent hospital bills instead of the honest claim.

Called from :class:`simulator.days.DayGenerator`'s day loop, kept apart from
the honest episodes; each scheme's function returns the claims it made, which
the day loop records. The bill transformations themselves are in
:mod:`simulator.fraud`, the two DIP schemes in :mod:`simulator.dip_fraud`.
"""

from __future__ import annotations

import dataclasses
import random
from typing import TYPE_CHECKING

from simulator.bills import inpatient_bill, outpatient_bill
from simulator.diagnoses import (
    BY_CODE,
    DX_INDEX,
    GHOST_DIAGNOSES,
    MILD_ADMISSION,
    Diagnosis,
)
from simulator.dip_fraud import high_coding, low_threshold_admission
from simulator.episode import DAY_SECONDS as _DAY
from simulator.episode import Claim, Episode, Visit, stay_of, stay_ts, visit_of
from simulator.fraud import hanging_bed, related_diagnosis, substitute, template, upcode

if TYPE_CHECKING:
    from simulator.days import DayGenerator

BORROWED_CARD = 0.3  # ghost-patient claims that are a borrowed card, not a listed ghost


def fraud_episode(gen: DayGenerator, r: random.Random, visit: Visit, remaining: int) -> list[Claim]:
    """The claims the visit's hospital bills under its scheme instead of the honest one.

    Args:
        gen: the day generator (lengths of stay, coding, the window).
        r: the day's random source.
        visit: what the day loop drew.
        remaining: claims left in the day's budget.

    Returns:
        The claims made, in the order they were drawn (empty when the scheme
        does not apply to this visit: the day loop then bills it honestly).
    """
    scheme = visit.hospital.scheme
    if scheme == "ghost_patient":
        return ghost_patient(gen, r, visit, remaining)
    if scheme == "duplicate_billing":
        return duplicate_billing(gen, r, visit, remaining)
    if scheme == "high_coding":
        if not visit.inpatient:
            # A stay's patient: drawn by in-patient utilisation (older, sicker), not
            # the visitor the day loop drew.
            pop = gen.world.populations[visit.region]
            person = pop.draw(r.random(), r.random(), True)
            visit = dataclasses.replace(
                visit, person=person, band=pop.l_band[person], female=pop.l_female[person]
            )
        return high_coding(gen, r, visit)
    if scheme == "low_threshold_admission":
        return low_threshold_admission(gen, r, visit)
    if scheme == "decomposed_admission":
        return decomposed_admission(gen, r, visit, remaining)
    return billed_otherwise(gen, r, visit)


def ghost_patient(gen: DayGenerator, r: random.Random, visit: Visit, remaining: int) -> list[Claim]:
    """Stays of listed ghosts admitted together (e.g. after a free check-up day), or a
    borrowed card (:func:`borrowed_card`)."""
    h = visit.hospital
    if not h.ghost_list:
        return []
    rnd = r.random
    if rnd() < BORROWED_CARD:
        return borrowed_card(gen, r, visit)
    group = min(remaining, 1 + int(rnd() * 3))
    los0 = 6 + int(rnd() * 7)
    dis = visit.day - gen.lag(r)
    pop = gen.world.populations[h.region]
    made = []
    for _ in range(group):
        gp = h.ghost_list[int(rnd() * len(h.ghost_list))]
        dx = BY_CODE[GHOST_DIAGNOSES[int(rnd() * len(GHOST_DIAGNOSES))]]
        los = max(3, los0 + int(rnd() * 3) - 1)
        bill = inpatient_bill(r, h, dx, los, boost=1.1)
        ep = Episode(
            "inpatient",
            h.region,
            gp,
            visit.hi,
            dis - los,
            dis,
            dx.code,
            bill,
            pop.l_registered[gp],
            fraud="ghost_patient",
        )
        made.append(gen.claim(stay_ts(r, visit.day), ep))
    return made


def duplicate_billing(
    gen: DayGenerator, r: random.Random, visit: Visit, remaining: int
) -> list[Claim]:
    """An honest visit or stay, then the same bill (sometimes one quantity more) billed
    again: on a later day for a visit, under a new claim id for a stay."""
    if remaining < 2:
        return []
    h, day, rnd = visit.hospital, visit.day, r.random
    code = gen.pick_diagnosis(r, visit, visit.inpatient)
    if visit.inpatient:
        [(orig_ts, orig)] = gen.stay(r, visit, BY_CODE[code], 1)
    else:
        orig = visit_of(visit, day, code, outpatient_bill(r, h, BY_CODE[code]))
        orig_ts = gen.outpatient_ts(r, day)
    made = [(orig_ts, orig)]
    bill = list(orig.bill)
    if rnd() < 0.35:
        j = int(rnd() * len(bill))
        c, q, a = bill[j]
        bill[j] = (c, q + 1, a // q * (q + 1))
    if orig.claim_type == "outpatient" and rnd() < 0.6:
        # A repeat visit that never happened: the same bill on a later day.
        when = day + 1 + int(rnd() * 14)
        if not gen.fits(when * _DAY):
            return made
        copy = visit_of(visit, when, orig.dx, bill, fraud="duplicate_billing")
        made.append((gen.outpatient_ts(r, when), copy))
        return made
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
        fraud="duplicate_billing",
        coding=orig.coding,
    )
    ts = orig_ts + (3 + int(rnd() * 35)) * _DAY + int(rnd() * 3600)
    if gen.fits(ts):
        made.append(gen.claim(ts, copy))
    return made


def _fraud_draw(
    gen: DayGenerator, r: random.Random, visit: Visit, inpatient: bool
) -> tuple[Diagnosis, int, int, int]:
    """The diagnosis, discharge day, stay submission ts and length of stay (0 for a
    visit) that the schemes of :func:`billed_otherwise` and
    :func:`decomposed_admission` start from."""
    h = visit.hospital
    code = gen.pick_diagnosis(r, visit, inpatient)
    dx = BY_CODE[code]
    if h.scheme == "hanging_bed" and code not in MILD_ADMISSION:
        dx = BY_CODE[MILD_ADMISSION[int(r.random() * len(MILD_ADMISSION))]]
    dis = visit.day - gen.lag(r)
    ts = stay_ts(r, visit.day)
    los = gen.draw_los(r, dx, h.level, h.teaching) if inpatient else 0
    return dx, dis, ts, los


def billed_otherwise(gen: DayGenerator, r: random.Random, visit: Visit) -> list[Claim]:
    """One visit or stay billed otherwise than it happened: upcoded, a hanging bed,
    substituted items or a template bill."""
    h, scheme = visit.hospital, visit.hospital.scheme
    inpatient = visit.inpatient or scheme == "hanging_bed"
    dx, dis, ts, los = _fraud_draw(gen, r, visit, inpatient)
    billed = dx.code
    if scheme == "upcoding":
        billed, bill, los = upcode(r, h, dx, los if inpatient else None)
    elif scheme == "hanging_bed":
        bill, los = hanging_bed(r, h, dx, los)
    elif scheme == "item_substitution":
        bill = inpatient_bill(r, h, dx, los) if inpatient else outpatient_bill(r, h, dx)
        bill = substitute(r, h, bill, inpatient)
    elif scheme == "template_billing":
        salt = (gen.config.seed << 24) + visit.hi * 64 + DX_INDEX[dx.code] + 1_000_000
        tlos, bill = template(h, dx, inpatient, salt)
        if inpatient:
            los = tlos
    else:  # pragma: no cover - every scheme is handled above
        raise ValueError(f"unknown scheme {scheme!r}")
    if inpatient:
        return [gen.claim(ts, stay_of(visit, billed, bill, los, dis, fraud=scheme))]
    ep = visit_of(visit, visit.day, billed, bill, fraud=scheme)
    return [(gen.outpatient_ts(r, visit.day), ep)]


def decomposed_admission(
    gen: DayGenerator, r: random.Random, visit: Visit, remaining: int
) -> list[Claim]:
    """One stay billed as two: a discharge and a re-admission (often the same day) for
    a related diagnosis. None when the second stay would fall after the window."""
    h, rnd = visit.hospital, r.random
    dx, dis, ts, los = _fraud_draw(gen, r, visit, True)
    if remaining < 2:
        return []
    total = max(6, round(los * (1.3 + rnd() * 0.7)))
    los1 = max(2, round(total * (0.4 + rnd() * 0.2)))
    los2 = max(2, total - los1)
    gap = 0 if rnd() < 0.6 else 1 if rnd() < 0.75 else 2
    ep1 = stay_of(
        visit, dx.code, inpatient_bill(r, h, dx, los1), los1, dis, fraud="decomposed_admission"
    )
    dx2 = related_diagnosis(r, dx)
    dis2 = dis + gap + los2
    bill2 = inpatient_bill(r, h, dx2, los2, workup=False)
    ep2 = stay_of(visit, dx2.code, bill2, los2, dis2, fraud="decomposed_admission")
    ts2 = gen.discharge_ts(r, dis2)
    if not gen.fits(ts2):
        return []  # the second stay would fall after the window: bill honestly
    return [gen.claim(ts, ep1), gen.claim(ts2, ep2)]


def borrowed_card(gen: DayGenerator, r: random.Random, visit: Visit) -> list[Claim]:
    """Identity misuse: someone is treated on another insured person's card.

    The card holder is any insured person of the region (drawn without
    regard to health), the diagnosis fits the real patient, whose age and
    sex need not match the card's.
    """
    h, day = visit.hospital, visit.day
    pop = gen.world.populations[h.region]
    person = int(r.random() * len(pop))
    group = int(r.random() * 3)
    female = r.random() < 0.5
    code = gen.picker.pick(r.random(), visit.inpatient, group, female, h.case_mix, visit.season)
    dx = BY_CODE[code]
    holder = dataclasses.replace(
        visit, region=h.region, person=person, registered=pop.l_registered[person]
    )
    if visit.inpatient:
        los = gen.draw_los(r, dx, h.level, h.teaching)
        dis = day - gen.lag(r)
        bill = inpatient_bill(r, h, dx, los)
        ep = stay_of(holder, code, bill, los, dis, fraud="ghost_patient")
        return [gen.claim(stay_ts(r, day), ep)]
    ep = visit_of(holder, day, code, outpatient_bill(r, h, dx), fraud="ghost_patient")
    return [(gen.outpatient_ts(r, day), ep)]
