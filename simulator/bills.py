"""Honest bills: the item lines of an outpatient visit, an inpatient stay or a month of care.

A bill is a list of ``(code, quantity, amount_fen)``; the category always comes
from the catalogue entry of the code, so a bill can never carry a category its
code does not have. Quantities vary with the hospital's practice style and the
diagnosis' severity; prices are the hospital's own.
"""

from __future__ import annotations

import random
from bisect import bisect_right

from simulator.diagnoses import Diagnosis
from simulator.dip_coding import interventions, operate
from simulator.hospitals import Hospital
from simulator.items import ADMISSION_LABS, C_INPATIENT, C_OUTPATIENT, PROFILES

Bill = list[tuple[str, int, int]]

_NO_ANAESTHESIA = ("331302001000000",)
# Daily drug units of a stay by hospital level: bigger hospitals treat more
# intensively (ILLUSTRATIVE, tuned so that mean stay costs come out near
# 4k / 7k / 14k yuan at levels 1 / 2 / 3).
_DRUG_LEVEL = {1: 1.7, 2: 2.6, 3: 3.6}
_TCM = ("ZA04CAA0010", "ZA12BAA0010")
_MATERIALS = {"331003006000000": "C0301010100001000001", "331501001000000": "C0501010100001000001"}


def _add(bill: Bill, prices: dict[str, int], code: str, qty: int) -> None:
    if qty >= 1:
        bill.append((code, qty, prices[code] * qty))


def repack(bill: Bill, h: Hospital) -> Bill:
    """Bill the drugs a hospital dispenses by the pack: fewer units at a pack price.

    Some hospitals count boxes of 5 or 10 where others count units, so the
    same code's amount per unit differs honestly between hospitals.
    """
    packs = h.packs
    if not packs:
        return bill
    out: Bill = []
    for code, qty, amount in bill:
        pack = packs.get(code)
        if pack is None:
            out.append((code, qty, amount))
        else:
            q = max(1, round(qty / pack))
            out.append((code, q, h.prices[code] * pack * q))
    return out


def mix(key: int, salt: int) -> float:
    """A deterministic uniform in [0, 1) from two integers (splitmix64 finaliser)."""
    z = (key * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return ((z ^ (z >> 31)) >> 11) / 9007199254740992.0


def weighted_index(cum: list[float], x: float) -> int:
    """The index a draw ``x`` in [0, cum[-1]) falls on in the cumulative weights ``cum``."""
    i = bisect_right(cum, x)
    return min(i, len(cum) - 1)


def outpatient_bill(r: random.Random, h: Hospital, dx: Diagnosis, boost: float = 1.0) -> Bill:
    """An outpatient visit: consultation, one to three drugs, sometimes tests or an infusion."""
    p = h.prices
    prof = PROFILES[dx.group]
    bill: Bill = []
    a = bill.append
    consult = "110200002000000" if h.level == 3 and r.random() < 0.55 else "110200001000000"
    a((consult, 1, p[consult]))
    drugs = prof.drugs
    n = 1 + (r.random() < 0.55) + (r.random() < 0.2)
    seen = set()
    for _ in range(n):
        code = drugs[int(r.random() * len(drugs))]
        if code in seen:
            continue
        seen.add(code)
        qty = 1 + int(r.random() * 2.6 * h.intensity * boost)
        a((code, qty, p[code] * qty))
    if h.specialty == "tcm" and r.random() < 0.7:
        tcm = _TCM[int(r.random() * len(_TCM))]
        units = 1 + int(r.random() * 3)
        a((tcm, units, p[tcm] * units))
    k = h.intensity * boost * (1.3 if h.level == 3 else 1.0)
    if r.random() < prof.p_lab * k:
        labs = prof.labs
        lab = labs[int(r.random() * len(labs))]
        a((lab, 1, p[lab]))
        if r.random() < 0.35 * k:
            a(("250101015000000", 1, p["250101015000000"]))
    if r.random() < prof.p_exam * k:
        exams = prof.exams
        exam = exams[int(r.random() * len(exams))]
        a((exam, 1, p[exam]))
    if r.random() < prof.p_iv:
        days = 1 + int(r.random() * 3)
        a(("120400006000000", days, p["120400006000000"] * days))
        a(("XB05BBA001B0", days, p["XB05BBA001B0"] * days))
        a(("XJ01DDA001B0", days, p["XJ01DDA001B0"] * days))
    if r.random() < 0.07 * h.c_rate:
        code = C_OUTPATIENT[int(r.random() * len(C_OUTPATIENT))]
        units = 1 + int(r.random() * 2)
        a((code, units, p[code] * units))
    return repack(bill, h)


def chronic_prescription(h: Hospital, dx: Diagnosis, person_key: int) -> Bill:
    """A chronic patient's usual prescription at one hospital: a function of both only.

    Dialysis patients get the same session bill every time.
    """
    p = h.prices
    bill: Bill = []
    if dx.code == "N18.5":
        _add(bill, p, "311000001000000", 1)
        if mix(person_key, 7) < 0.6:
            _add(bill, p, "XB03XAA001B0", 1)
        return repack(bill, h)
    _add(bill, p, "110200001000000", 1)
    drugs = PROFILES[dx.group].drugs
    n = 1 + (mix(person_key, 1) < 0.6) + (mix(person_key, 2) < 0.25)
    seen = set()
    for i in range(n):
        code = drugs[int(mix(person_key, 10 + i) * min(len(drugs), 5))]
        if code in seen:
            continue
        seen.add(code)
        _add(bill, p, code, 2 + int(mix(person_key, 20 + i) * 4))
    return repack(bill, h)


def chronic_refill_bill(r: random.Random, h: Hospital, dx: Diagnosis, prescription: Bill) -> Bill:
    """A chronic patient's regular visit: the usual prescription, and on about one
    visit in five (not for dialysis) a check-up test."""
    bill = list(prescription)
    if dx.code == "N18.5":
        return bill
    if r.random() < 0.2:
        labs = PROFILES[dx.group].labs
        _add(bill, h.prices, labs[int(r.random() * len(labs))], 1)
    return bill


def inpatient_bill(
    r: random.Random,
    h: Hospital,
    dx: Diagnosis,
    los: int,
    boost: float = 1.0,
    workup: bool = True,
    treatment: bool = True,
    operated: bool | None = None,
) -> Bill:
    """An inpatient stay of ``los`` days.

    Args:
        r: random source.
        h: the hospital (prices, intensity, self-pay propensity).
        dx: the diagnosis (group, severity, procedure).
        los: length of stay in days (bed days billed).
        boost: extra multiplier of tests and drug quantities.
        workup: bill the admission tests and imaging.
        treatment: bill drugs, infusions and procedures (False for a stay that
            is only bed and nursing days, as in a phantom stay).
        operated: whether the diagnosis' operation is done; None draws it (some
            surgical diagnoses are often treated conservatively, more so at
            level 1). Interventions (angiography, ventilation) are drawn too.
    """
    bill: Bill = []
    k = h.intensity * dx.severity * boost
    _bed_and_tests(r, h, dx, los, k, workup, bill)
    if not treatment:
        return bill
    _treatment(r, h, dx, los, k, bill)
    if operated is None:
        operated = operate(r, dx, h.level)
    _interventions(r, h, dx, los, operated, bill)
    p = h.prices
    if r.random() < 0.35 * h.c_rate:
        code = C_INPATIENT[int(r.random() * len(C_INPATIENT))]
        qty = (
            max(1, int(r.random() * los)) if code == "110900003000000" else 1 + int(r.random() * 4)
        )
        bill.append((code, qty, p[code] * qty))
    if dx.procedure and operated and r.random() < 0.3 * h.c_rate:
        units = 1 + int(r.random() * 2)
        bill.append(("C0202010200001000001", units, p["C0202010200001000001"] * units))
    return repack(bill, h)


def _bed_and_tests(
    r: random.Random, h: Hospital, dx: Diagnosis, los: int, k: float, workup: bool, bill: Bill
) -> None:
    """Add a stay's bed, nursing and doctor days, admission work-up and repeated labs.

    ``k`` is the stay's intensity (hospital x severity x boost).
    """
    p = h.prices
    a = bill.append
    room = "110900002000000" if r.random() < 0.15 * h.c_rate + 0.05 else "110900001000000"
    a((room, los, p[room] * los))
    nursing = "120100002000000" if dx.severity >= 1.4 else "120100003000000"
    a((nursing, los, p[nursing] * los))
    a(("110200003000000", los, p["110200003000000"] * los))
    prof = PROFILES[dx.group]
    if workup:
        for code in ADMISSION_LABS:
            if r.random() < 0.8:
                a((code, 1, p[code]))
        for code in prof.exams:
            if r.random() < 0.45 * k:
                a((code, 1, p[code]))
    repeat = los * k * _DRUG_LEVEL[h.level] / 5
    for code in prof.labs:
        if r.random() < 0.7:
            qty = 1 + int(r.random() * repeat)
            a((code, qty, p[code] * qty))


def _treatment(
    r: random.Random, h: Hospital, dx: Diagnosis, los: int, k: float, bill: Bill
) -> None:
    """Add a stay's drugs, TCM, infusions and physiotherapy."""
    p = h.prices
    a = bill.append
    drugs = PROFILES[dx.group].drugs
    n = 2 + int(r.random() * min(4, len(drugs) - 1))
    start = int(r.random() * len(drugs))
    daily = k * _DRUG_LEVEL[h.level]
    for i in range(n):
        code = drugs[(start + i) % len(drugs)]
        qty = max(1, round(los * daily * (0.5 + r.random())))
        a((code, qty, p[code] * qty))
    if h.specialty == "tcm":
        tcm = _TCM[int(r.random() * len(_TCM))]
        units = max(1, round(los * (0.5 + r.random())))
        a((tcm, units, p[tcm] * units))
    if dx.group not in ("rehab", "psych", "eye"):
        n_iv = max(1, round(los * (0.5 + 0.4 * r.random())))
        a(("120400006000000", n_iv, p["120400006000000"] * n_iv))
        bags = n_iv * (1 + (r.random() < 0.5))
        a(("XB05BBA001B0", bags, p["XB05BBA001B0"] * bags))
    if dx.group == "rehab" or (dx.group in ("neuro", "ortho") and r.random() < 0.5):
        physio = max(1, round(los * 0.8))
        a(("340100001000000", physio, p["340100001000000"] * physio))
        training = max(1, round(los * 0.6 * r.random()))
        a(("340200001000000", training, p["340200001000000"] * training))


def _interventions(
    r: random.Random, h: Hospital, dx: Diagnosis, los: int, operated: bool, bill: Bill
) -> None:
    """Add a stay's interventions and, when ``operated``, its operation with
    anaesthesia, sutures, dressings and implant."""
    p = h.prices
    a = bill.append
    for code, units in interventions(r, dx, h.level):
        qty = min(units, los) if units > 1 else 1
        a((code, qty, p[code] * qty))
    if dx.procedure and operated:
        a((dx.procedure, 1, p[dx.procedure]))
        if dx.procedure not in _NO_ANAESTHESIA:
            a(("330100005000000", 1, p["330100005000000"]))
        sutures = 1 + int(r.random() * 3)
        a(("C0202010100001000001", sutures, p["C0202010100001000001"] * sutures))
        dressings = 2 + int(r.random() * 6)
        a(("C1401010100001000001", dressings, p["C1401010100001000001"] * dressings))
        material = _MATERIALS.get(dx.procedure)
        if material:
            units = 1 + (r.random() < 0.3)
            a((material, units, p[material] * units))


DAY_BASED = frozenset(
    ("110900001000000", "110900002000000", "120100003000000", "120100002000000", "110200003000000")
)


def pad_days(bill: Bill, extra: int) -> Bill:
    """The bill of a stay ``extra`` days longer with nothing but bed and nursing days.

    Only the day-based lines grow (bed, nursing, daily diagnosis fee). An
    honest stay of an elderly patient waiting for a care place looks like
    this; so does a phantom ("hanging bed") stay.
    """
    los = max((q for c, q, _a in bill if c in DAY_BASED), default=0)
    total = los + extra
    out: Bill = []
    for code, qty, amount in bill:
        if code in DAY_BASED:
            out.append((code, total, amount // qty * total))
        else:
            out.append((code, qty, amount))
    return out


def standard_bill(h: Hospital, dx: Diagnosis, salt: int) -> tuple[int, Bill]:
    """The fixed package a hospital bills for a standard procedure, and its length of stay.

    Deliveries, cataract operations, chemotherapy cycles and dialysis are
    billed as packages: every patient of that hospital gets the identical bill.
    """
    r = random.Random(salt)
    los = max(1, round(dx.los))
    if dx.code == "O80":
        bill: Bill = []
        p = h.prices
        for code, qty in (
            ("331302001000000", 1),
            ("110900001000000", los),
            ("120100003000000", los),
            ("110200003000000", los),
            ("250101015000000", 1),
            ("250501001000000", 1),
            ("220100001000000", 1),
            ("XJ01DCA001B0", 2),
            ("XB05BBA001B0", 2),
        ):
            _add(bill, p, code, qty)
        return los, repack(bill, h)
    if dx.code == "Z51.1":
        bill = []
        p = h.prices
        for code, qty in (
            ("110900001000000", los),
            ("120100003000000", los),
            ("110200003000000", los),
            ("250101015000000", 1),
            ("250305001000000", 1),
            ("XL01CDA001B0", 1 + (r.random() < 0.5)),
            ("XL01XAA001B0", 1),
            ("XA04AAA001B0", 2),
            ("XB05BBA001B0", 4),
            ("120400006000000", los),
        ):
            _add(bill, p, code, qty)
        return los, repack(bill, h)
    return los, inpatient_bill(r, h, dx, los)


def ltc_bill(h: Hospital, setting: str, days: int, person_key: int) -> Bill:
    """A month of long-term care: care days, sometimes self-paid extras."""
    p = h.prices
    bill: Bill = []
    _add(bill, p, "130100001000000" if setting == "institutional" else "130100002000000", days)
    if mix(person_key, 3) < h.c_rate:
        _add(bill, p, "130100003000000", days)
    if mix(person_key, 4) < 0.4:
        _add(bill, p, "C0601010100001000001", 2 + int(mix(person_key, 5) * 6))
    return bill
