"""Episodes of the two DIP schemes: coding a stay into a higher-score group, and
admitting patients who needed no stay.

Under DIP a hospital is paid by points (shared/spec/dip.md): a case's group is
keyed by its principal diagnosis and principal procedure, and a stay far cheaper
than its group's average is an ultra-low case. Both schemes leave the care and
its bill honest; only what is coded (high coding) or that a stay happened at
all (low-threshold admission) is the fraud.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from simulator.bills import inpatient_bill
from simulator.diagnoses import AGE_GROUP_OF_BAND, BY_CODE
from simulator.dip_coding import (
    COMORBIDITIES,
    PHANTOM_PROCEDURES,
    Coding,
    costlier_principal,
)
from simulator.episode import Claim, Visit, stay_of, stay_ts

if TYPE_CHECKING:
    from simulator.days import DayGenerator

# Diagnoses a low-threshold hospital admits: usually treated as outpatients,
# and all seen (rarely) in honest stays too.
LOW_THRESHOLD: tuple[str, ...] = (
    "J06.9",
    "J20.9",
    "B34.9",
    "K29.7",
    "K52.9",
    "I10",
    "E11.9",
    "M54.5",
    "J45.9",
    "J44.9",
    "M47.8",
)
# A diagnosis a high-coding hospital adds as the principal one when the stay
# offers nothing else to code up (heart failure, pneumonia: easy to assert).
ADDED_PRINCIPAL: tuple[str, ...] = ("I50.9", "J18.9", "I63.9")
PHANTOM_SHARE = 0.7  # high-coded stays given a procedure not done (else a costlier principal)
PAD_SHARE = 0.4  # high-coded stays that also list extra comorbidities


def high_coding(gen: DayGenerator, r: random.Random, visit: Visit) -> list[Claim]:
    """An honest stay coded into a higher-score DIP group.

    Either a procedure that was not done is written first (a stent, an
    angiography, a ventilation: codes honest stays of the diagnosis carry), or
    a costlier diagnosis of the patient's becomes the principal one (one is
    added when the patient has none), the real principal moving to the
    secondary list. The bill, the stay and the care are what they were.
    """
    h = visit.hospital
    code = ""
    for _ in range(4):  # the hospital codes up the stays that lend themselves to it
        code = gen.pick_diagnosis(r, visit, True)
        if code in PHANTOM_PROCEDURES:
            break
    dx = BY_CODE[code]
    los, bill = gen.stay_bill(r, h, visit.hi, dx)
    ep = stay_of(visit, dx.code, bill, los, visit.day - gen.lag(r), fraud="high_coding")
    honest = gen.code(ep)
    diagnoses = list(honest.diagnoses)
    procedures = list(honest.procedures)
    phantoms = [p for p in PHANTOM_PROCEDURES.get(dx.code, ()) if p not in procedures]
    costlier = costlier_principal(dx, honest.diagnoses)
    if phantoms and (costlier is None or r.random() < PHANTOM_SHARE):
        procedures.insert(0, phantoms[int(r.random() * len(phantoms))])
    else:
        if costlier is None:
            options = [c for c in ADDED_PRINCIPAL if c[:3] != dx.code[:3]]
            costlier = options[int(r.random() * len(options))]
        if costlier in diagnoses:  # a listed complication becomes the principal diagnosis
            diagnoses.remove(costlier)
        diagnoses.insert(0, dx.code)
        ep.dx = costlier
    if r.random() < PAD_SHARE:
        for _ in range(1 + int(r.random() * 3)):
            extra = COMORBIDITIES[int(r.random() * len(COMORBIDITIES))][0]
            if extra not in diagnoses and extra[:3] != ep.dx[:3]:
                diagnoses.append(extra)
    ep.coding = Coding(tuple(diagnoses[:15]), tuple(procedures[:15]), honest.discharge_way)
    return [gen.claim(stay_ts(r, visit.day), ep)]


def low_threshold_admission(gen: DayGenerator, r: random.Random, visit: Visit) -> list[Claim]:
    """A patient who needed a visit admitted for 1-3 days (sometimes 4).

    The diagnosis is drawn as for an outpatient visit (a cold, gastritis,
    hypertension, back pain); the stay bills admission tests, a little of the
    usual treatment and the bed days: an ultra-low case that still earns points.
    """
    h = visit.hospital
    group = AGE_GROUP_OF_BAND[visit.band]
    code = gen.pick_diagnosis(r, visit, False)
    if code not in LOW_THRESHOLD:
        fits = [c for c in LOW_THRESHOLD if BY_CODE[c].ages[group] > 0]
        code = fits[int(r.random() * len(fits))]
    dx = BY_CODE[code]
    los = 1 + int(r.random() * 3) + (r.random() < 0.1)
    bill = inpatient_bill(r, h, dx, los, boost=0.7, operated=False)
    ep = stay_of(visit, dx.code, bill, los, visit.day - gen.lag(r), fraud="low_threshold_admission")
    return [gen.claim(stay_ts(r, visit.day), ep)]
