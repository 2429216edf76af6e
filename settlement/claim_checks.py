"""The checks of a claim across its fields (spec sections 4 and 5).

Each runs after the fields are read and is skipped when a field it needs was
already found invalid: the identity number and birth date against the
admission, the order of the dates, the policy in force, and long-term care
treated locally.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from settlement.claim_fields import Issues
from settlement.errors import INVALID_DATES, INVALID_PERSON_ID, LTC_OUT_OF_REGION, NO_POLICY
from settlement.idnumber import birth_date, identity_number_problem
from settlement.policy import PolicyBook, PolicyVersion


@lru_cache(maxsize=1 << 16)
def person_id_facts(person_id: str) -> tuple[str | None, date | None]:
    """(problem, birth date) of an identity number; cached as people claim often."""
    problem = identity_number_problem(person_id, None)
    return problem, (None if problem else birth_date(person_id))


def check_person(person_id: str | None, admission: date | None, issues: Issues) -> None:
    """The identity number's own checks, then its birth date against the admission."""
    if person_id is None:
        return
    problem, born = person_id_facts(person_id)
    if problem is None and born is not None and admission is not None and born > admission:
        problem = f"person_id: birth date {born} is after admission {admission}"
    if problem is not None:
        issues.add(INVALID_PERSON_ID, problem)


def check_dates(
    claim_type: str | None,
    admission: date | None,
    discharge: date | None,
    ltc_days: int | None,
    issues: Issues,
) -> None:
    """Discharge not before admission; an outpatient visit on one day; ltc days in the stay."""
    if admission is None or discharge is None:
        return
    span = (discharge - admission).days
    if span < 0:
        issues.add(
            INVALID_DATES, f"discharge_date {discharge} is before admission_date {admission}"
        )
    elif claim_type == "outpatient" and span != 0:
        issues.add(
            INVALID_DATES, "an outpatient visit must have discharge_date equal to admission_date"
        )
    elif ltc_days is not None and ltc_days > span + 1:
        issues.add(
            INVALID_DATES,
            f"ltc.days {ltc_days} is more than the {span + 1} days from admission to discharge",
        )


def policy_in_force(
    book: PolicyBook, insured_region: str | None, discharge: date | None, issues: Issues
) -> PolicyVersion | None:
    """The insured region's version in force on the discharge date, or a ``no_policy`` issue."""
    if insured_region is None or discharge is None:
        return None
    policy = book.version_for(insured_region, discharge)
    if policy is None:
        if insured_region in book.regions:
            issues.add(
                NO_POLICY,
                f"no policy version of region {insured_region} is in force on {discharge}",
            )
        else:
            issues.add(NO_POLICY, f"no policy file for insured region {insured_region}")
    return policy


def check_ltc_region(
    claim_type: str | None,
    insured_region: str | None,
    hospital_region: str | None,
    issues: Issues,
) -> None:
    """Long-term care is administered locally (spec section 4)."""
    if (
        claim_type == "ltc"
        and insured_region is not None
        and hospital_region is not None
        and insured_region != hospital_region
    ):
        issues.add(
            LTC_OUT_OF_REGION,
            f"long-term care is administered locally: hospital region {hospital_region}"
            f" is not the insured region {insured_region}",
        )
