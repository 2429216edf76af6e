"""What a stay's settlement list codes for DIP: secondary diagnoses, procedures, discharge way.

Secondary diagnoses are comorbidities whose prevalence rises with age (and a
few complications of the principal diagnosis); each one adds a little
treatment (drug and test quantities) to the bill, so sicker patients cost
more. Procedure codes (ICD-9-CM-3 style, as the insurance version writes them)
are read off the bill: an operation, an angiography, a ventilation or a
gastroscopy is coded when its item was billed, so an honest claim's codes
always match what was charged. The principal procedure is the costliest one.
All tables are ILLUSTRATIVE: shaped like Chinese settlement lists, not fitted.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from simulator.diagnoses import BY_CODE, Diagnosis
from simulator.items import CATALOGUE

Bill = list[tuple[str, int, int]]  # as simulator.bills.Bill (imported there, not here)

# Comorbidities: ICD-10 code and prevalence among in-patients who are children
# (<18), adults (18-59) and elderly (60+).
COMORBIDITIES: tuple[tuple[str, tuple[float, float, float]], ...] = (
    ("I10", (0.0, 0.12, 0.42)),  # hypertension
    ("E11.9", (0.002, 0.05, 0.20)),  # type 2 diabetes
    ("E78.5", (0.0, 0.07, 0.22)),  # hyperlipidaemia
    ("I25.1", (0.0, 0.02, 0.15)),  # coronary heart disease
    ("J44.9", (0.0, 0.01, 0.09)),  # COPD
    ("N18.9", (0.0, 0.01, 0.06)),  # chronic kidney disease
    ("I48.9", (0.0, 0.004, 0.07)),  # atrial fibrillation
    ("K21.9", (0.01, 0.04, 0.07)),  # gastro-oesophageal reflux
    ("D64.9", (0.02, 0.04, 0.10)),  # anaemia
    ("E87.6", (0.01, 0.02, 0.07)),  # hypokalaemia
    ("M81.9", (0.0, 0.004, 0.08)),  # osteoporosis
    ("J45.9", (0.05, 0.02, 0.01)),  # asthma
    ("F32.9", (0.0, 0.02, 0.03)),  # depression
)
# Complications some principal diagnoses bring (probability per stay).
COMPLICATIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "J18.9": (("J96.0", 0.03),),
    "J15.9": (("J96.0", 0.08),),
    "J44.1": (("J96.0", 0.10), ("I27.9", 0.05)),
    "I21.9": (("I50.9", 0.15),),
    "I63.9": (("J18.9", 0.06),),
    "I50.9": (("J18.9", 0.05),),
    "S72.0": (("D62", 0.10),),
    "C34.9": (("J91", 0.05),),
}
# Extra treatment per secondary diagnosis: drug and test quantities grow by this share.
COMORBIDITY_COST = 0.07

# Bill items coded as procedures: item code -> ICD-9-CM-3 codes (principal first).
OPERATION_CODES: dict[str, tuple[str, ...]] = {
    "331003006000000": ("36.07", "00.66"),  # PCI: drug-eluting stent, balloon angioplasty
    "331003001000000": ("47.09",),  # appendectomy (open; laparoscopic 47.01 at level 3 mostly)
    "331005001000000": ("51.23",),  # laparoscopic cholecystectomy
    "331101001000000": ("60.29",),  # transurethral prostatectomy
    "331201001000000": ("13.41", "13.71"),  # phacoemulsification, intraocular lens
    "331301001000000": ("74.1",),  # low cervical caesarean section
    "331302001000000": ("73.59",),  # manually assisted delivery
    "331501001000000": ("81.54",),  # total knee replacement (81.52 partial hip for a fracture)
    "331502001000000": ("79.32",),  # open reduction and internal fixation, radius and ulna
    "330803002000000": ("88.56",),  # coronary angiography
    "330804001000000": ("88.41",),  # cerebral arteriography
    "311503001000000": ("96.71",),  # invasive mechanical ventilation under 96 hours
    "310800001000000": ("45.13",),  # gastroscopy
    "XL01CDA001B0": ("99.25",),  # chemotherapy infusion
}
_HIP = "81.52"
_LAPAROSCOPIC_APPENDECTOMY = "47.01"

# Operations are not always done: conservative care instead (probability of
# operating by hospital level 1, 2, 3).
OPERATE: dict[str, tuple[float, float, float]] = {
    "I20.0": (0.05, 0.3, 0.55),
    "I21.9": (0.05, 0.4, 0.7),
    "K35.8": (0.9, 0.95, 0.95),
    "K80.2": (0.6, 0.8, 0.85),
    "N40": (0.2, 0.5, 0.6),
    "M17.1": (0.3, 0.8, 0.9),
    "S72.0": (0.3, 0.75, 0.85),
    "S52.5": (0.5, 0.7, 0.75),
}
# Interventional and diagnostic procedures billed with their own item:
# diagnosis -> (item, units per stay (1 = once), probability by level 1, 2, 3).
INTERVENTIONS: dict[str, tuple[tuple[str, int, tuple[float, float, float]], ...]] = {
    "I20.0": (("330803002000000", 1, (0.02, 0.3, 0.5)),),
    "I21.9": (("330803002000000", 1, (0.02, 0.3, 0.5)),),
    "I25.1": (("330803002000000", 1, (0.0, 0.08, 0.18)),),
    "I50.9": (("330803002000000", 1, (0.0, 0.03, 0.08)), ("311503001000000", 3, (0.0, 0.02, 0.04))),
    "I63.9": (("330804001000000", 1, (0.0, 0.05, 0.15)),),
    "G45.9": (("330804001000000", 1, (0.0, 0.03, 0.08)),),
    "J15.9": (("311503001000000", 3, (0.0, 0.06, 0.12)),),
    "J44.1": (("311503001000000", 3, (0.02, 0.08, 0.12)),),
    "J18.9": (("311503001000000", 3, (0.0, 0.02, 0.04)),),
}

# Discharge ways (离院方式) and their weights: 1 on medical advice, 2 transfer
# to a hospital, 3 to community care, 4 against advice, 5 death, 9 other.
DISCHARGE_WAYS = (1, 2, 3, 4, 5, 9)


@dataclass(frozen=True, slots=True)
class Coding:
    """A stay's DIP fields as its settlement list states them."""

    diagnoses: tuple[str, ...] = ()
    procedures: tuple[str, ...] = ()
    discharge_way: int = 1


def operate(r: random.Random, dx: Diagnosis, level: int) -> bool:
    """Whether a surgical diagnosis is operated on (one draw for those in ``OPERATE``)."""
    p = OPERATE.get(dx.code)
    if p is None:
        return True
    return r.random() < p[level - 1]


def interventions(r: random.Random, dx: Diagnosis, level: int) -> list[tuple[str, int]]:
    """Interventional or diagnostic procedures done in a stay: ``(item code, units)``."""
    out = []
    for item, units, p in INTERVENTIONS.get(dx.code, ()):
        if r.random() < p[level - 1]:
            out.append((item, units))
    return out


def secondary_diagnoses(r: random.Random, dx: Diagnosis, age_group: int) -> tuple[str, ...]:
    """Comorbidities (by age) and complications of a stay, never the principal's category."""
    category = dx.code[:3]
    out = []
    for code, prevalence in COMORBIDITIES:
        if r.random() < prevalence[age_group] and code[:3] != category:
            out.append(code)
    for code, p in COMPLICATIONS.get(dx.code, ()):
        if r.random() < p and code[:3] != category and code not in out:
            out.append(code)
    return tuple(out[:15])


def discharge_way(r: random.Random, dx: Diagnosis, level: int, age_group: int) -> int:
    """How the patient left: mostly on medical advice."""
    u = r.random()
    death = 0.002 + (0.012 if dx.severity >= 1.4 else 0.0) + (0.006 if age_group == 2 else 0.0)
    if u < death:
        return 5
    u -= death
    transfer = 0.04 if level == 1 else 0.015
    if u < transfer:
        return 2
    u -= transfer
    if u < (0.02 if age_group == 2 else 0.003):
        return 3
    u -= 0.02 if age_group == 2 else 0.003
    if u < 0.025:
        return 4
    u -= 0.025
    return 9 if u < 0.01 else 1


def procedures_of(bill: Bill, dx: Diagnosis, level: int, salt: float) -> tuple[str, ...]:
    """The procedure codes of a bill, costliest item first (the principal procedure).

    Args:
        bill: the stay's bill.
        dx: principal diagnosis (a joint replacement for a fracture is a hip).
        level: hospital level (laparoscopic appendectomy mostly at level 3).
        salt: a uniform in [0, 1) fixed for the stay (open or laparoscopic).
    """
    found = []
    for code, _qty, amount in bill:
        codes = OPERATION_CODES.get(code)
        if codes is None:
            continue
        if code == "331501001000000" and dx.code.startswith("S72"):
            codes = (_HIP,)
        elif code == "331003001000000" and salt < (0.7 if level == 3 else 0.3):
            codes = (_LAPAROSCOPIC_APPENDECTOMY,)
        found.append((-CATALOGUE[code][1], amount, codes))
    found.sort(key=lambda x: x[0])
    out: list[str] = []
    for _price, _amount, codes in found:
        for c in codes:
            if c not in out:
                out.append(c)
    return tuple(out[:15])


def sicker(bill: Bill, prices: dict[str, int], n_secondary: int) -> Bill:
    """The bill of a patient with ``n_secondary`` comorbidities: more drugs and tests."""
    if n_secondary == 0:
        return bill
    f = 1.0 + COMORBIDITY_COST * n_secondary
    out: Bill = []
    for code, qty, amount in bill:
        kind = CATALOGUE[code][2]
        if kind in ("drug", "lab") and qty >= 2:
            q = max(qty, round(qty * f))
            out.append((code, q, amount // qty * q))
        else:
            out.append((code, qty, amount))
    return out


# Procedures a high-coding hospital writes on a stay where they were not done,
# by diagnosis: each is a code honest stays of that diagnosis also carry, and
# it moves the case into a costlier (higher-score) group.
PHANTOM_PROCEDURES: dict[str, tuple[str, ...]] = {
    "I20.0": ("36.07", "88.56"),
    "I21.9": ("36.07", "88.56"),
    "I25.1": ("88.56",),
    "I50.9": ("88.56", "96.71"),
    "I63.9": ("88.41",),
    "G45.9": ("88.41",),
    "J15.9": ("96.71",),
    "J44.1": ("96.71",),
    "J18.9": ("96.71",),
    "K80.2": ("51.23",),
    "N40": ("60.29",),
    "M17.1": ("81.54",),
    "S72.0": ("81.52",),
    "S52.5": ("79.32",),
    "K29.7": ("45.13",),
    "K52.9": ("45.13",),
}


def costlier_principal(dx: Diagnosis, secondary: tuple[str, ...]) -> str | None:
    """A secondary diagnosis whose own stays cost more than the principal's, if any.

    Cost is judged by the simulator's own severity x median stay, the way a
    coder would know which diagnosis "pays more".
    """
    best, best_w = None, dx.severity * dx.los
    for code in secondary:
        other = BY_CODE.get(code)
        if other is None or other.in_w <= 0:
            continue
        w = other.severity * other.los
        if w > best_w * 1.15:
            best, best_w = code, w
    return best
