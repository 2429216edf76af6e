"""ICD-10 diagnoses with who gets them, where, when, for how long and how costly.

Weights and lengths of stay are ILLUSTRATIVE: shaped like common Chinese
hospital case mixes (respiratory infections, hypertension and diabetes dominate
outpatient care; stroke, pneumonia, COPD, heart disease, deliveries and
fractures dominate stays), not fitted to any bureau's data.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

from simulator.regions import BAND_60_PLUS, BAND_ADULT, N_BANDS


@dataclass(frozen=True)
class Diagnosis:
    """One ICD-10 code and its place in the generative model.

    Attributes:
        code: ICD-10 code.
        group: clinical group; selects the drugs, tests and exams billed.
        out_w: weight among outpatient visits.
        in_w: weight among inpatient stays.
        ages: weights for children (<18), adults (18-59) and elderly (60+).
        sex: ``"F"``, ``"M"`` or ``""`` for both.
        seasonal: winter peak (respiratory infections).
        los: median length of stay in days.
        severity: multiplier of treatment intensity (drugs, tests).
        procedure: item code of the operation, if the stay is surgical.
        standard: billed as a fixed package (identical bills are honest here).
        upcode: a costlier related code an upcoding hospital bills instead.
        readmit: probability of an honest re-admission soon after discharge.
    """

    code: str
    group: str
    out_w: float
    in_w: float
    ages: tuple[float, float, float]
    sex: str = ""
    seasonal: bool = False
    los: float = 7.0
    severity: float = 1.0
    procedure: str | None = None
    standard: bool = False
    upcode: str | None = None
    readmit: float = 0.02


D = Diagnosis
DIAGNOSES: tuple[Diagnosis, ...] = (
    D("J06.9", "resp", 14, 0.3, (3.0, 1.0, 0.8), seasonal=True, los=3, upcode="J20.9"),
    D("J20.9", "resp", 6, 1.0, (1.5, 0.8, 1.2), seasonal=True, los=5, upcode="J18.9"),
    D("J18.9", "resp", 1.2, 6.0, (1.5, 0.5, 1.6), seasonal=True, los=8, upcode="J15.9"),
    D("J15.9", "resp", 0.2, 1.5, (0.8, 0.5, 1.6), seasonal=True, los=10, severity=1.5),
    D(
        "J44.1",
        "resp",
        0.4,
        3.0,
        (0.0, 0.3, 2.0),
        seasonal=True,
        los=10,
        severity=1.3,
        readmit=0.08,
    ),
    D("J44.9", "resp", 2.0, 0.4, (0.0, 0.4, 2.0), los=8, upcode="J44.1"),
    D("J45.9", "resp", 2.0, 0.5, (1.5, 1.0, 0.6), los=6),
    D("B34.9", "resp", 4.0, 0.2, (2.5, 0.8, 0.5), seasonal=True, los=3),
    D("I10", "cardio", 10.0, 0.6, (0.0, 0.8, 2.0), los=7, upcode="I11.9"),
    D("I11.9", "cardio", 1.0, 0.6, (0.0, 0.4, 1.6), los=8, severity=1.3),
    D("I25.1", "cardio", 3.0, 2.5, (0.0, 0.4, 2.0), los=8, upcode="I20.0", readmit=0.03),
    D(
        "I20.0",
        "cardio",
        0.2,
        1.5,
        (0.0, 0.5, 1.6),
        los=7,
        severity=1.4,
        procedure="331003006000000",
    ),
    D(
        "I21.9",
        "cardio",
        0.0,
        0.7,
        (0.0, 0.5, 1.6),
        los=10,
        severity=2.2,
        procedure="331003006000000",
    ),
    D("I50.9", "cardio", 0.6, 1.8, (0.0, 0.2, 2.0), los=10, severity=1.3, readmit=0.10),
    D("I63.9", "neuro", 0.4, 3.0, (0.0, 0.4, 2.0), los=12, severity=1.5, readmit=0.04),
    D("I69.3", "rehab", 0.8, 1.2, (0.0, 0.3, 2.0), los=18, severity=0.6),
    D("G45.9", "neuro", 0.2, 0.8, (0.0, 0.4, 1.6), los=6, upcode="I63.9"),
    D("E11.9", "metab", 10.0, 0.8, (0.02, 0.8, 1.6), los=8, upcode="E11.7"),
    D("E11.7", "metab", 1.0, 0.8, (0.0, 0.5, 1.6), los=10, severity=1.4),
    D("E78.5", "metab", 3.0, 0.0, (0.0, 1.0, 1.4), los=5),
    D("K29.7", "gi", 6.0, 0.8, (0.3, 1.0, 1.0), los=5),
    D("K52.9", "gi", 4.0, 1.0, (2.0, 0.8, 0.8), los=4),
    D("K35.8", "gi", 0.0, 1.2, (0.8, 1.0, 0.4), los=6, procedure="331003001000000"),
    D("K80.2", "gi", 0.5, 1.2, (0.0, 1.0, 1.0), los=7, procedure="331005001000000"),
    D("N39.0", "uro", 3.0, 0.6, (0.3, 1.0, 1.2), sex="F", los=6),
    D("N40", "uro", 2.0, 0.6, (0.0, 0.3, 2.0), sex="M", los=8, procedure="331101001000000"),
    D("N18.5", "renal", 2.5, 0.5, (0.0, 0.8, 1.2), los=9, severity=1.4, standard=True),
    D("M54.5", "ortho", 5.0, 0.8, (0.0, 1.0, 1.0), los=8),
    D("M47.8", "ortho", 3.0, 1.0, (0.0, 0.6, 1.6), los=10),
    D("M17.9", "ortho", 3.0, 0.6, (0.0, 0.4, 1.8), los=9, upcode="M17.1"),
    D(
        "M17.1",
        "ortho",
        0.5,
        0.4,
        (0.0, 0.3, 1.8),
        los=14,
        severity=1.2,
        procedure="331501001000000",
    ),
    D(
        "S72.0",
        "ortho",
        0.0,
        0.8,
        (0.0, 0.2, 2.2),
        los=14,
        severity=1.3,
        procedure="331501001000000",
    ),
    D("S52.5", "ortho", 1.0, 0.5, (0.8, 1.0, 1.0), los=5, procedure="331502001000000"),
    D("O80", "obst", 0.0, 2.5, (0.0, 1.0, 0.0), sex="F", los=3, standard=True),
    D("O82", "obst", 0.0, 1.5, (0.0, 1.0, 0.0), sex="F", los=5, procedure="331301001000000"),
    D("H25.9", "eye", 0.6, 1.2, (0.0, 0.2, 2.0), los=2, procedure="331201001000000", standard=True),
    D("C34.9", "onc", 0.3, 0.8, (0.0, 0.3, 1.5), los=12, severity=1.8, readmit=0.05),
    D("C50.9", "onc", 0.3, 0.6, (0.0, 1.0, 0.8), sex="F", los=10, severity=1.6),
    D("Z51.1", "chemo", 0.0, 1.5, (0.0, 1.0, 1.0), los=3, standard=True),
    D("F32.9", "psych", 2.0, 0.3, (0.1, 1.0, 0.6), los=20, severity=0.8),
    D("R51", "general", 3.0, 0.0, (0.5, 1.0, 0.8), los=3),
    D("L30.9", "skin", 4.0, 0.0, (1.0, 1.0, 0.8), los=3),
    D("H10.9", "eye", 2.0, 0.0, (1.5, 1.0, 0.8), los=2),
    D("K02.9", "dental", 2.0, 0.0, (1.0, 1.0, 0.8), los=1),
)
BY_CODE: dict[str, Diagnosis] = {d.code: d for d in DIAGNOSES}

# Chronic conditions that bring a person back for regular outpatient care, and
# which age bands carry them (weights per band).
CHRONIC: tuple[str, ...] = ("I10", "E11.9", "I25.1", "J44.9", "J45.9", "N18.5", "E78.5", "F32.9")
_CHRONIC_ADULT = (4.0, 2.5, 0.6, 0.4, 0.6, 0.3, 1.0, 0.6)
_CHRONIC_ELDER = (5.0, 3.0, 2.0, 1.5, 0.4, 0.4, 1.2, 0.2)
_CHRONIC_CHILD = (0.0, 0.05, 0.0, 0.0, 5.0, 0.05, 0.0, 0.3)


def chronic_weights() -> list[list[float]]:
    """Weights over ``CHRONIC`` for each age band."""
    out = []
    for band in range(N_BANDS):
        if band < BAND_ADULT:
            out.append(list(_CHRONIC_CHILD))
        elif band < BAND_60_PLUS:
            out.append(list(_CHRONIC_ADULT))
        else:
            out.append(list(_CHRONIC_ELDER))
    return out


# Diagnoses billed in "ghost" stays: vague, chronic, hard to contradict.
GHOST_DIAGNOSES: tuple[str, ...] = ("I69.3", "M47.8", "I25.1", "J44.9", "E11.9", "I10")
# Mild diagnoses a hospital admits to fill beds ("hanging bed" stays).
MILD_ADMISSION: tuple[str, ...] = ("M54.5", "M47.8", "I10", "E11.9", "K29.7", "J20.9", "I69.3")


def age_group(band: int) -> int:
    """0 child, 1 adult (18-59), 2 elderly (60+)."""
    if band < BAND_ADULT:
        return 0
    return 1 if band < BAND_60_PLUS else 2


AGE_GROUP_OF_BAND: tuple[int, ...] = tuple(age_group(b) for b in range(N_BANDS))
DX_INDEX: dict[str, int] = {d.code: i for i, d in enumerate(DIAGNOSES)}


def season_factor(day_of_year: int) -> float:
    """Multiplier of respiratory diagnoses: peaks mid-January, lowest mid-July."""
    return 1.0 + 0.55 * math.cos(2 * math.pi * (day_of_year - 15) / 365.0)


# Diagnosis-group multipliers of specialised hospitals (ILLUSTRATIVE). Their
# honest case mix looks unusual next to general hospitals: a rehabilitation
# hospital's long cheap stays, an oncology hospital's repeated admissions.
SPECIALTY_MIX: dict[str, dict[str, float]] = {
    "general": {},
    "maternity": {"obst": 10.0, "uro": 1.5},
    "rehab": {"rehab": 10.0, "ortho": 2.0, "neuro": 2.0},
    "oncology": {"onc": 12.0, "chemo": 12.0},
    "tcm": {"ortho": 2.0, "rehab": 1.5, "gi": 1.3},
}
# Severity tilt of a hospital's case mix: weight of severe or surgical cases.
MIX_TILT = (0.7, 1.0, 1.4)

CaseMix = tuple[int, int, str]  # (level class, severity tilt class, specialty)


class DiagnosisPicker:
    """Draws a diagnosis given claim type, age group, sex, hospital case mix and season.

    The cumulative weight tables are built on first use and cached; there are
    at most 2 x 3 x 2 x 60 x 6 of them.
    """

    def __init__(self) -> None:
        self.tables: dict[tuple[bool, int, bool, CaseMix, int], tuple[list[float], list[str]]] = {}

    def pick(
        self, u: float, inpatient: bool, group: int, female: bool, case_mix: CaseMix, season: int
    ) -> str:
        """A diagnosis code.

        Args:
            u: a uniform draw in [0, 1).
            inpatient: stay (True) or visit.
            group: age group (see :func:`age_group`).
            female: sex of the patient.
            case_mix: the hospital's level class (1, 2, 3, or 4 for a teaching
                hospital), severity tilt class (0-2) and specialty.
            season: 0-5, two-month season index (0 = Jan-Feb).
        """
        key = (inpatient, group, female, case_mix, season)
        table = self.tables.get(key)
        if table is None:
            table = self._build(*key)
            self.tables[key] = table
        cum, codes = table
        i = bisect_right(cum, u * cum[-1])
        return codes[min(i, len(codes) - 1)]

    @staticmethod
    def _build(
        inpatient: bool, group: int, female: bool, case_mix: CaseMix, season: int
    ) -> tuple[list[float], list[str]]:
        level_class, tilt, specialty = case_mix
        doy = season * 61 + 30
        mult = SPECIALTY_MIX[specialty]
        weights = []
        codes = []
        for d in DIAGNOSES:
            w = (d.in_w if inpatient else d.out_w) * d.ages[group]
            if (d.sex == "F" and not female) or (d.sex == "M" and female):
                w = 0.0
            if d.seasonal:
                w *= season_factor(doy)
            heavy = d.severity >= 1.4 or d.procedure is not None
            if inpatient and heavy:
                w *= {1: 0.25, 2: 1.0, 3: 2.2, 4: 3.5}[level_class] * MIX_TILT[tilt]
            elif inpatient and level_class == 1:
                w *= 1.4
            w *= mult.get(d.group, 1.0)
            if w > 0:
                weights.append(w)
                codes.append(d.code)
        if not weights:  # e.g. no diagnosis fits: fall back to a common one
            return [1.0], ["J06.9"]
        return list(accumulate(weights)), codes
