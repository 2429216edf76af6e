"""Clinical plausibility of a diagnosis for a patient's age and sex.

A short, conservative table of ICD-10 ranges that are (nearly) impossible for
some ages or one sex: pregnancy for men or children, perinatal codes for adults,
prostate disease for women, dementia for the young. It is general medical
knowledge, not fitted to any data set; the learned age-vs-diagnosis feature
covers what the table does not.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Plausibility:
    """An ICD-10 range and who can plausibly have it."""

    first: str  # inclusive, 3-character category, e.g. "O00"
    last: str  # inclusive
    label: str
    min_age: float = 0.0
    max_age: float = 200.0
    sex: int | None = None  # 1 male only, 0 female only, None either


TABLE: tuple[Plausibility, ...] = (
    Plausibility("O00", "O99", "pregnancy and childbirth", min_age=12, max_age=56, sex=0),
    Plausibility("P00", "P96", "a condition of the newborn", max_age=1.5),
    Plausibility("Z38", "Z38", "a live birth", max_age=1.5),
    Plausibility("C61", "C61", "prostate cancer", min_age=18, sex=1),
    Plausibility("N40", "N42", "prostate disease", min_age=18, sex=1),
    Plausibility("C51", "C58", "a cancer of the female genital organs", sex=0),
    Plausibility("N70", "N98", "a disease of the female genital organs", sex=0),
    Plausibility("F00", "F03", "dementia", min_age=35),
    Plausibility("G30", "G30", "Alzheimer's disease", min_age=35),
    Plausibility("H25", "H25", "age-related cataract", min_age=35),
    Plausibility("M80", "M81", "osteoporosis", min_age=25),
    Plausibility("I20", "I25", "ischaemic heart disease", min_age=15),
    Plausibility("I63", "I63", "cerebral infarction", min_age=10),
    Plausibility("E11", "E11", "type 2 diabetes", min_age=8),
    Plausibility("J44", "J44", "chronic obstructive pulmonary disease", min_age=25),
)


def category(diagnosis: str) -> str:
    """The 3-character ICD-10 category of a code (``J18.9`` -> ``J18``)."""
    return diagnosis.strip().upper().replace(".", "")[:3]


def implausibility(diagnosis: str, age_years: float, sex: int) -> str | None:
    """Why a diagnosis is implausible for this age and sex, or None when it is plausible.

    Args:
        diagnosis: ICD-10 code.
        age_years: age at admission.
        sex: 1 male, 0 female.

    Returns:
        A plain-language reason, e.g. ``"pregnancy and childbirth for a man"``.
    """
    cat = category(diagnosis)
    for row in TABLE:
        if row.first <= cat <= row.last:
            if row.sex is not None and sex != row.sex:
                return f"{row.label} for a {'man' if sex == 1 else 'woman'}"
            if age_years < row.min_age or age_years > row.max_age:
                return f"{row.label} at age {int(age_years)}"
            return None
    return None
