"""Audit-rule violations injected at a known rate, with labels, and their honest look-alikes.

With ``SimConfig.rule_violation_rate`` = p > 0, each honest in-patient or
out-patient claim (not one a fraud scheme made, not long-term care) gets, with
probability p, one violation of a rule of the bundled catalogue
(``detection/rule_tables/``), and with probability p an honest look-alike of
one: the same item billed where it is allowed, a quantity exactly at its
limit, a price exactly at its ceiling. The rule is drawn uniformly; a claim it
cannot apply to (a sex rule for the wrong sex, a child-only item for a child)
keeps its bill, so the realised rates are a little below p. The course rule
(``YB-LC-001``) is the exception: a course of meropenem runs over a whole stay,
so it can only break its 14-day limit in a stay of more than 14 days, and come
exactly to it in a stay of 14 days. A longer stay drawn for a violation gets
the course rule with probability ``COURSE_SHARE`` instead of the uniform draw;
a 14-day stay with an indication of meropenem drawn for a look-alike always
gets the course look-alike (such stays are rare). Meropenem outside its
indications breaks ``YB-XD-001`` too, and the claim is labelled with both.
Labels:

- ``rule_violations``: the rule codes the claim was made to break (a list),
- ``rule_lookalike``: the rule code the claim was made to come close to.

The draws use their own random source per day, so the rest of the run (who,
where, what else is billed, the fraud schemes) is the same with or without
injection. The limits below mirror the bundled tables; a test checks that
every ``certain`` rule finds exactly its injected violations.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from simulator.bills import Bill
from simulator.episode import Episode
from simulator.hospitals import Hospital

# Mirrors of the bundled knowledge rows (detection/rule_tables/).
PROGESTERONE = "XG03DAH001B0"  # F only
CYPROTERONE = "XG03HAC001A0"  # F only
TAMSULOSIN_M = "XG04CAT001E0"  # M only
GYN_EXAM = "311201001000000"  # F only
COLPOSCOPY = "311202001000000"  # F only
PROSTATE_MASSAGE = "311000013000000"  # M only
CHILD_FEVER = "ZA01AAX0120"  # ages 0-17
CHILD_AMBROXOL = "XR05CAA012C0"  # ages 0-14
NEWBORN_CARE = "120100011000000"  # age 0
LENALIDOMIDE = "XL04AXL001E0"  # levels 2 and 3
TRAMADOL = "XN02AXT001A0"  # 4 a day
HEAD_CT = "210300001000000"  # once a day
CONSULT = "110200001000000"  # ceiling 15 yuan (levels 1-2), 25 (level 3), 30 (441800 level 3, 2026)
GENERAL_ANAESTHESIA = "330100005000000"
LOCAL_ANAESTHESIA = "330100001000000"  # included in general anaesthesia
LIVER_PANEL = "250305001000000"
LIVER_PARTS = ("250305002000000", "250305003000000", "250305004000000", "250305005000000")
RENAL_PANEL = "250307001000000"
RENAL_PARTS = ("250307002000000", "250307003000000", "250307004000000")  # 2 of them
SPECIAL_NURSING = "120100001000000"
GRADE1_NURSING = "120100002000000"  # included in special-grade nursing
ALBUMIN = "XB05AAR001B0"  # 2 a day, 10 a stay; ceiling 380 yuan, 350 from 2026
TRANSFUSION = "260000005000000"
ABO_TYPING = "260000001000000"
MEROPENEM = "XJ01DHM046B0"  # indications below; a susceptibility test in 7 days; 14-day course
SUSCEPTIBILITY = "250501023000000"
MEROPENEM_INDICATIONS = ("A40", "A41", "J15", "J18", "J85", "K65", "N39.0")
MEROPENEM_COURSE_DAYS = 14  # course.csv
COURSE_RULE = "YB-LC-001"
INDICATION_RULE = "YB-XD-001"
HBA1C = "250302001000000"  # once a natural month
BLOOD_COUNT = "250101015000000"  # 3 in 7 days

_YEAR_2026 = dt.date(2026, 1, 1).toordinal()


class ClaimFacts:
    """What an injector needs to know of a claim besides its bill."""

    __slots__ = ("adm", "age", "days", "dis", "dx", "female", "hospital", "inpatient")

    def __init__(self, ep: Episode, hospital: Hospital, person_id: str, female: bool) -> None:
        self.inpatient = ep.claim_type == "inpatient"
        self.adm = ep.adm
        self.dis = ep.dis
        self.days = ep.dis - ep.adm + 1
        self.dx = ep.dx
        self.hospital = hospital
        self.female = female
        born = dt.date(int(person_id[6:10]), int(person_id[10:12]), int(person_id[12:14]))
        on = dt.date.fromordinal(ep.adm)
        self.age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))


Injector = Callable[[random.Random, ClaimFacts, Bill], "Bill | None"]


def _line(h: Hospital, code: str, qty: int) -> tuple[str, int, int]:
    return (code, qty, h.prices[code] * qty)


def _codes(bill: Bill) -> set[str]:
    return {c for c, _q, _a in bill}


def _consult_ceiling(f: ClaimFacts) -> int:
    """The consultation's payable ceiling in fen for this claim (price_ceiling.csv)."""
    h = f.hospital
    if h.level == 3:
        return 3000 if h.region == "441800" and f.dis >= _YEAR_2026 else 2500
    return 1500


def _indicated(dx: str) -> bool:
    return dx.startswith(MEROPENEM_INDICATIONS)


# --- violations ------------------------------------------------------------


def _sex_drug(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    code = TAMSULOSIN_M if f.female else (PROGESTERONE if r.random() < 0.5 else CYPROTERONE)
    return [*bill, _line(f.hospital, code, 1 + int(r.random() * 3))]


def _sex_service(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    code = PROSTATE_MASSAGE if f.female else (GYN_EXAM if r.random() < 0.5 else COLPOSCOPY)
    return [*bill, _line(f.hospital, code, 1)]


def _child_drug(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    if f.age >= 18:
        code = CHILD_FEVER if r.random() < 0.5 else CHILD_AMBROXOL
    elif f.age >= 15:
        code = CHILD_AMBROXOL
    else:
        return None
    return [*bill, _line(f.hospital, code, 1 + int(r.random() * 3))]


def _child_service(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    if not f.inpatient or f.age < 1:
        return None
    return [*bill, _line(f.hospital, NEWBORN_CARE, min(f.days, 3))]


def _level(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    if f.hospital.level != 1:
        return None
    return [*bill, _line(f.hospital, LENALIDOMIDE, 1)]


def _quantity(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    if f.inpatient and r.random() < 0.5:
        # Albumin: 2 a day and 10 a stay, whichever is lower.
        limit = min(2 * f.days, 10)
        return [*bill, _line(f.hospital, ALBUMIN, limit + 1 + int(r.random() * 3))]
    return [*bill, _line(f.hospital, TRAMADOL, 4 * f.days + 1 + int(r.random() * 3))]


def _frequency_day(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    if f.inpatient or HEAD_CT in _codes(bill):
        return None
    return [*bill, _line(f.hospital, HEAD_CT, 2)]


def _price(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    out = []
    done = False
    for code, qty, amount in bill:
        if code == CONSULT and not done:
            excess = 100 * (1 + int(r.random() * 20))
            amount = (_consult_ceiling(f) + excess) * qty
            done = True
        out.append((code, qty, amount))
    return out if done else None


def _duplicate(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    codes = _codes(bill)
    if GENERAL_ANAESTHESIA in codes:
        return [*bill, _line(f.hospital, LOCAL_ANAESTHESIA, 1)]
    if GRADE1_NURSING in codes:
        return [*bill, _line(f.hospital, SPECIAL_NURSING, 1 + int(r.random() * 2))]
    return None


def _unbundling(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    if r.random() < 0.5:
        panel, parts = LIVER_PANEL, LIVER_PARTS[: 3 + (r.random() < 0.5)]
    else:
        panel, parts = RENAL_PANEL, RENAL_PARTS[: 2 + (r.random() < 0.5)]
    lines = [_line(f.hospital, code, 1) for code in parts]
    return [line for line in bill if line[0] != panel] + lines


def _prerequisite_stay(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    if not f.inpatient or ABO_TYPING in _codes(bill):
        return None
    return [*bill, _line(f.hospital, TRANSFUSION, 1 + (r.random() < 0.5))]


def _indication(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    # The susceptibility test comes along, so only the indication is broken.
    if _indicated(f.dx) or f.days > 14 or MEROPENEM in _codes(bill):
        return None
    test = [] if SUSCEPTIBILITY in _codes(bill) else [_line(f.hospital, SUSCEPTIBILITY, 1)]
    return [*bill, *test, _line(f.hospital, MEROPENEM, f.days)]


def _prerequisite_7d(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    if not _indicated(f.dx) or f.days > 14 or _codes(bill) & {SUSCEPTIBILITY, MEROPENEM}:
        return None
    return [*bill, _line(f.hospital, MEROPENEM, f.days)]


def _frequency_month(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    if HBA1C in _codes(bill):
        return None
    return [*bill, _line(f.hospital, HBA1C, 2)]


def _course(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    # Meropenem over a whole stay of more than 14 days, with its susceptibility
    # test; outside its indications it breaks YB-XD-001 too (labelled with both).
    if not f.inpatient or f.days <= MEROPENEM_COURSE_DAYS or MEROPENEM in _codes(bill):
        return None
    test = [] if SUSCEPTIBILITY in _codes(bill) else [_line(f.hospital, SUSCEPTIBILITY, 1)]
    return [*bill, *test, _line(f.hospital, MEROPENEM, f.days)]


# rule code -> how to break it (certain rules first).
VIOLATIONS: dict[str, Injector] = {
    "YB-XB-001": _sex_drug,
    "YB-XB-002": _sex_service,
    "YB-ET-001": _child_drug,
    "YB-ET-002": _child_service,
    "YB-JY-001": _level,
    "YB-SL-001": _quantity,
    "YB-PC-001": _frequency_day,
    "YB-BZ-001": _price,
    "YB-CF-001": _duplicate,
    "YB-FJ-001": _unbundling,
    "YB-QZ-002": _prerequisite_stay,
    "YB-XD-001": _indication,
    "YB-QZ-001": _prerequisite_7d,
    "YB-PC-002": _frequency_month,
    COURSE_RULE: _course,  # not drawn uniformly: see inject
}


# --- honest look-alikes ----------------------------------------------------


def _sex_drug_ok(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    code = PROGESTERONE if f.female else TAMSULOSIN_M
    return [*bill, _line(f.hospital, code, 1 + int(r.random() * 3))]


def _sex_service_ok(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    code = GYN_EXAM if f.female else PROSTATE_MASSAGE
    return [*bill, _line(f.hospital, code, 1)]


def _child_drug_ok(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    if f.age <= 14:
        code = CHILD_AMBROXOL if r.random() < 0.5 else CHILD_FEVER
    elif f.age <= 17:
        code = CHILD_FEVER  # up to 17 inclusive
    else:
        return None
    return [*bill, _line(f.hospital, code, 1 + int(r.random() * 3))]


def _child_service_ok(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    if not f.inpatient or f.age != 0:
        return None
    return [*bill, _line(f.hospital, NEWBORN_CARE, min(f.days, 3))]


def _level_ok(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    if f.hospital.level == 1:
        return None
    return [*bill, _line(f.hospital, LENALIDOMIDE, 1)]


def _quantity_ok(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    if f.inpatient and r.random() < 0.5:
        return [*bill, _line(f.hospital, ALBUMIN, min(2 * f.days, 10))]
    return [*bill, _line(f.hospital, TRAMADOL, 4 * f.days)]  # exactly at the limit


def _frequency_day_ok(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    # A stay of D days may bill D head CTs (a bill does not say which day).
    if not f.inpatient or f.days < 2 or HEAD_CT in _codes(bill):
        return None
    return [*bill, _line(f.hospital, HEAD_CT, f.days)]


def _price_ok(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    out = []
    done = False
    for code, qty, amount in bill:
        if code == CONSULT and not done:
            amount = _consult_ceiling(f) * qty  # exactly at the ceiling
            done = True
        out.append((code, qty, amount))
    return out if done else None


def _duplicate_ok(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    codes = _codes(bill)
    if GENERAL_ANAESTHESIA not in codes:
        return [*bill, _line(f.hospital, LOCAL_ANAESTHESIA, 1)]
    if GRADE1_NURSING not in codes:
        return [*bill, _line(f.hospital, SPECIAL_NURSING, 1)]
    return None


def _unbundling_ok(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    parts: tuple[str, ...]
    if r.random() < 0.5:  # two liver parts, below the 3 that make a package
        panel, parts = LIVER_PANEL, LIVER_PARTS[:2]
    else:  # one renal part, below the 2 that make one (a renal panel billed stays)
        panel, parts = "", RENAL_PARTS[:1]
    lines = [_line(f.hospital, code, 1) for code in parts]
    return [line for line in bill if line[0] != panel] + lines


def _prerequisite_stay_ok(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    if not f.inpatient:
        return None
    extra = [] if ABO_TYPING in _codes(bill) else [_line(f.hospital, ABO_TYPING, 1)]
    return [*bill, *extra, _line(f.hospital, TRANSFUSION, 1)]


def _course_ok(r: random.Random, f: ClaimFacts, bill: Bill) -> Bill | None:
    # Meropenem over a stay of exactly 14 days (the course's limit), indicated, tested.
    if (
        not f.inpatient
        or f.days != MEROPENEM_COURSE_DAYS
        or not _indicated(f.dx)
        or MEROPENEM in _codes(bill)
    ):
        return None
    test = [] if SUSCEPTIBILITY in _codes(bill) else [_line(f.hospital, SUSCEPTIBILITY, 1)]
    return [*bill, *test, _line(f.hospital, MEROPENEM, f.days)]


LOOKALIKES: dict[str, Injector] = {
    "YB-XB-001": _sex_drug_ok,
    "YB-XB-002": _sex_service_ok,
    "YB-ET-001": _child_drug_ok,
    "YB-ET-002": _child_service_ok,
    "YB-JY-001": _level_ok,
    "YB-SL-001": _quantity_ok,
    "YB-PC-001": _frequency_day_ok,
    "YB-BZ-001": _price_ok,
    "YB-CF-001": _duplicate_ok,
    "YB-FJ-001": _unbundling_ok,
    "YB-QZ-002": _prerequisite_stay_ok,
    COURSE_RULE: _course_ok,  # not drawn uniformly: see inject
}
# The uniform draws; the course rule is given to the stays it can apply to (inject).
_VIOLATION_RULES = tuple(code for code in VIOLATIONS if code != COURSE_RULE)
_LOOKALIKE_RULES = tuple(code for code in LOOKALIKES if code != COURSE_RULE)
#: The share of the stays a course can break that get the course rule (see inject);
#: a stay that can come exactly to the limit always gets its look-alike (they are rare).
COURSE_SHARE = 0.5


def _course_stay(ep: Episode, violation: bool) -> bool:
    """Whether the course rule (or its look-alike) can apply to this claim.

    A course of meropenem runs over a whole stay (a bill does not date its
    lines): it breaks its 14-day course only in a stay of more than 14 days,
    and comes exactly to the limit in a stay of 14 days (with an indicated
    diagnosis, so that the look-alike breaks nothing).
    """
    if ep.claim_type != "inpatient":
        return False
    days = ep.dis - ep.adm + 1
    if violation:
        return days > MEROPENEM_COURSE_DAYS
    return days == MEROPENEM_COURSE_DAYS and _indicated(ep.dx)


def rule_rng(seed: int, day: int) -> random.Random:
    """The injection's random source of generation day ``day``, apart from the day's own."""
    return random.Random((1 << 80) + (seed << 21) + day)


def inject(
    r: random.Random,
    episodes: list[tuple[int, Episode]],
    rate: float,
    hospitals: list[Hospital],
    person: Callable[[Episode], tuple[str, bool]],
) -> None:
    """Inject violations and look-alikes into a day's episodes, in place.

    Args:
        r: the day's injection random source (:func:`rule_rng`).
        episodes: the day's ``(submission ts, episode)``, in drawing order.
        rate: the probability of a violation, and of a look-alike, per claim.
        hospitals: the network's hospitals, by index.
        person: an episode's patient as (identity number, female).
    """
    for _ts, ep in episodes:
        u = r.random()
        if ep.fraud is not None or ep.claim_type == "ltc" or u >= 2 * rate:
            continue
        violation = u < rate
        rules = _VIOLATION_RULES if violation else _LOOKALIKE_RULES
        rule = rules[int(r.random() * len(rules))]
        if _course_stay(ep, violation) and (not violation or r.random() < COURSE_SHARE):
            rule = COURSE_RULE
        pid, female = person(ep)
        facts = ClaimFacts(ep, hospitals[ep.hospital], pid, female)
        injector = VIOLATIONS[rule] if violation else LOOKALIKES[rule]
        bill = injector(r, facts, ep.bill)
        if bill is None:
            continue
        ep.bill = bill
        if not violation:
            ep.lookalike = rule
        elif rule == COURSE_RULE and not _indicated(facts.dx):
            ep.rules = (rule, INDICATION_RULE)
        else:
            ep.rules = (rule,)
