"""Patient features: the person's past claims (re-admissions, overlapping stays,
duplicates, frequency) and age against the diagnosis.

Only a one-way key of the person is kept, with their last claims as episodes.
"""

from __future__ import annotations

from typing import Final

from detection.facts import ClaimFacts
from detection.feature_names import slot
from detection.knowledge import implausibility
from detection.peers import Moments, shrunk_mean, shrunk_sd

NO_EVENT_DAYS = 999.0  # "never": larger than any window the features look at
# An in-patient stay this soon after the person's previous discharge counts as a
# re-admission for the features (the hospitals' rates and the READMIT_SAME_DX
# rule). The review app's re-admission indicator uses its own, 30-day window.
FEATURE_READMISSION_WINDOW_DAYS = 15
QUICK_READMIT_DAYS = 3  # back at the same hospital this soon: a split stay?
REPEAT_STAYS = 2  # earlier claims at the hospital in a year that make a "repeat patient"
PERSON_HISTORY = 64  # past claims kept per person

_FAMILY: Final = "person"
_READMIT_GAP_DAYS: Final = slot("readmit_gap_days", _FAMILY)
_READMIT_SAME_DX_GAP_DAYS: Final = slot("readmit_same_dx_gap_days", _FAMILY)
_READMIT_SAME_HOSPITAL_GAP_DAYS: Final = slot("readmit_same_hospital_gap_days", _FAMILY)
_OVERLAPPING_STAYS: Final = slot("overlapping_stays", _FAMILY)
_PERSON_CLAIMS_30D: Final = slot("person_claims_30d", _FAMILY)
_PERSON_CLAIMS_365D: Final = slot("person_claims_365d", _FAMILY)
_PERSON_HOSPITAL_CLAIMS_30D: Final = slot("person_hospital_claims_30d", _FAMILY)
_PERSON_HOSPITAL_CLAIMS_365D: Final = slot("person_hospital_claims_365d", _FAMILY)
_DUPLICATE_BILLS: Final = slot("duplicate_bills", _FAMILY)
_AGE_YEARS: Final = slot("age_years", _FAMILY)
_AGE_DX_Z: Final = slot("age_dx_z", _FAMILY)
_AGE_DX_IMPLAUSIBLE: Final = slot("age_dx_implausible", _FAMILY)


class Episode:
    """One past claim of a person."""

    # The defaults are for unpickling only: compiled by mypyc, a class's __new__
    # runs __init__ with no arguments before pickle restores the attributes.
    def __init__(
        self,
        *,
        admission: int = 0,
        discharge: int = 0,
        dx: str = "",
        hospital_id: str = "",
        inpatient: bool = False,
        total_fen: int = 0,
    ) -> None:
        self.admission = admission
        self.discharge = discharge
        self.dx = dx
        self.hospital_id = hospital_id
        self.inpatient = inpatient
        self.total_fen = total_fen


class PersonCase:
    """What the person family found for one claim that the hospital rates learn from."""

    def __init__(
        self, *, readmit: bool, quick_readmit: bool, repeat_patient: bool, duplicate: bool
    ) -> None:
        self.readmit = readmit  # within FEATURE_READMISSION_WINDOW_DAYS of an earlier stay
        self.quick_readmit = quick_readmit  # within QUICK_READMIT_DAYS at the same hospital
        self.repeat_patient = repeat_patient
        self.duplicate = duplicate
        self.implausible: str | None = None  # why the diagnosis is implausible for the patient


class PersonFeatures:
    """Each person's last claims, and ages by diagnosis."""

    def __init__(self) -> None:
        self.episodes: dict[str, list[Episode]] = {}  # person key -> oldest first
        self.age_by_dx: dict[str, Moments] = {}
        self.age_all = Moments()

    def compute(self, claim: ClaimFacts, dx: str, inpatient: bool, row: list[float]) -> PersonCase:
        """Write the family's features into ``row``; return what the hospital rates learn."""
        case = self._history(claim, dx, inpatient, row)
        age = claim.age_years
        dx_age = self.age_by_dx.get(dx)
        age_mean = shrunk_mean([dx_age, self.age_all], age)
        age_sd = shrunk_sd([dx_age, self.age_all], 20.0, 2.0)
        case.implausible = implausibility(claim.diagnosis, age, claim.sex)
        row[_AGE_YEARS] = age
        row[_AGE_DX_Z] = (age - age_mean) / age_sd
        row[_AGE_DX_IMPLAUSIBLE] = 1.0 if case.implausible else 0.0
        return case

    def _history(self, claim: ClaimFacts, dx: str, inpatient: bool, row: list[float]) -> PersonCase:
        """Re-admissions, overlapping stays, duplicates and frequency, from past claims."""
        readmit_gap = NO_EVENT_DAYS
        readmit_dx_gap = NO_EVENT_DAYS
        readmit_here_gap = NO_EVENT_DAYS
        overlaps = 0
        duplicates = 0
        n30 = n365 = n_hosp30 = n_hosp365 = 0
        for ep in self.episodes.get(claim.person_key, ()):
            if claim.discharge - 30 <= ep.discharge <= claim.discharge:
                n30 += 1
                if ep.hospital_id == claim.hospital_id:
                    n_hosp30 += 1
            if claim.discharge - 365 <= ep.discharge <= claim.discharge:
                n365 += 1
                if ep.hospital_id == claim.hospital_id:
                    n_hosp365 += 1
            if (
                ep.hospital_id == claim.hospital_id
                and ep.admission == claim.admission
                and ep.discharge == claim.discharge
                and ep.total_fen == claim.total_fen
            ):
                duplicates += 1
                continue
            if inpatient and ep.inpatient:
                if ep.discharge <= claim.admission:
                    gap = float(claim.admission - ep.discharge)
                    readmit_gap = min(readmit_gap, gap)
                    if ep.dx == dx:
                        readmit_dx_gap = min(readmit_dx_gap, gap)
                    if ep.hospital_id == claim.hospital_id:
                        readmit_here_gap = min(readmit_here_gap, gap)
                elif ep.admission < claim.discharge:
                    overlaps += 1
        row[_READMIT_GAP_DAYS] = readmit_gap
        row[_READMIT_SAME_DX_GAP_DAYS] = readmit_dx_gap
        row[_READMIT_SAME_HOSPITAL_GAP_DAYS] = readmit_here_gap
        row[_OVERLAPPING_STAYS] = float(overlaps)
        row[_PERSON_CLAIMS_30D] = float(n30)
        row[_PERSON_CLAIMS_365D] = float(n365)
        row[_PERSON_HOSPITAL_CLAIMS_30D] = float(n_hosp30)
        row[_PERSON_HOSPITAL_CLAIMS_365D] = float(n_hosp365)
        row[_DUPLICATE_BILLS] = float(duplicates)
        return PersonCase(
            readmit=readmit_gap <= FEATURE_READMISSION_WINDOW_DAYS,
            quick_readmit=readmit_here_gap <= QUICK_READMIT_DAYS,
            repeat_patient=n_hosp365 >= REPEAT_STAYS,
            duplicate=duplicates > 0,
        )

    def learn(self, claim: ClaimFacts, dx: str, inpatient: bool) -> None:
        """Remember the claim as the person's latest episode, and the patient's age."""
        age = claim.age_years
        self.age_all.add(age)
        self.age_by_dx.setdefault(dx, Moments()).add(age)
        episodes = self.episodes.setdefault(claim.person_key, [])
        episodes.append(
            Episode(
                admission=claim.admission,
                discharge=claim.discharge,
                dx=dx,
                hospital_id=claim.hospital_id,
                inpatient=inpatient,
                total_fen=claim.total_fen,
            )
        )
        if len(episodes) > PERSON_HISTORY:
            del episodes[0]
