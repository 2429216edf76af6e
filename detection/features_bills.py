"""Bill features: bills that repeat an earlier bill item for item (same hospital),
and template bills, identical to another patient's.

A bill is known by the hash of its (item code, amount) lines; only the count of
earlier bills with that hash and whether they were all one patient's are kept.
"""

from __future__ import annotations

from typing import Final

from detection.facts import ClaimFacts
from detection.feature_names import slot
from detection.peers import Moments, PeerStats, shrunk_mean

_FAMILY: Final = "bills"
_IDENTICAL_BILL: Final = slot("identical_bill", _FAMILY)
_IDENTICAL_BILL_PEER_RATE: Final = slot("identical_bill_peer_rate", _FAMILY)
_IDENTICAL_BILL_SHARE: Final = slot("identical_bill_share", _FAMILY)
_IDENTICAL_OTHER_PATIENT: Final = slot("identical_other_patient", _FAMILY)
_HOSP_DX_TEMPLATE_VS_PEER: Final = slot("hosp_dx_template_vs_peer", _FAMILY)


class BillCase:
    """What the bills family found for one claim."""

    def __init__(self, *, identical: bool, other_patient: bool) -> None:
        self.identical = identical  # an earlier bill at the hospital has the same lines
        self.other_patient = other_patient  # ... and it was another patient's: a template


class BillFeatures:
    """Earlier bills by hospital and hash, and template bills by hospital and diagnosis."""

    def __init__(self) -> None:
        # (hospital, bill hash) -> (earlier bills, their one person's key or "" for several)
        self.by_hash: dict[tuple[str, str], tuple[int, str]] = {}
        # template bills (identical to another patient's), per hospital, category and type
        self.hospital_dx_template: dict[tuple[str, str, str], int] = {}
        self.dx_template: dict[tuple[str, str], Moments] = {}  # (category, type) -> 0/1 rate

    def compute(
        self,
        claim: ClaimFacts,
        dx: str,
        chain: list[PeerStats | None],
        hospital_dx_claims: int,
        row: list[float],
    ) -> BillCase:
        """Write the family's features into ``row``.

        Args:
            claim: the claim.
            dx: its diagnosis category.
            chain: its peer groups (their rate of repeated bills).
            hospital_dx_claims: the hospital's past claims of the category and type.
            row: the feature vector being filled.
        """
        repeats, bill_person = self.by_hash.get((claim.hospital_id, claim.bill_hash), (0, ""))
        # Another patient's bill, item for item: a template, unless the diagnosis is a package.
        other_patient = repeats > 0 and bill_person != claim.person_key
        dx_template = self.dx_template.get((dx, claim.claim_type))
        p_template = dx_template.mean if dx_template else 0.0
        h_template = self.hospital_dx_template.get((claim.hospital_id, dx, claim.claim_type), 0)
        row[_IDENTICAL_BILL] = 1.0 if repeats > 0 else 0.0
        row[_IDENTICAL_BILL_PEER_RATE] = shrunk_mean(
            [p.identical if p else None for p in chain], 0.0
        )
        row[_IDENTICAL_BILL_SHARE] = repeats / (hospital_dx_claims + 1.0)
        row[_IDENTICAL_OTHER_PATIENT] = 1.0 if other_patient else 0.0
        row[_HOSP_DX_TEMPLATE_VS_PEER] = (
            (h_template + 10.0 * p_template) / (hospital_dx_claims + 10.0) + 0.01
        ) / (p_template + 0.01)
        return BillCase(identical=repeats > 0, other_patient=other_patient)

    def learn(self, claim: ClaimFacts, dx: str, case: BillCase) -> None:
        """Remember the claim's bill."""
        dx_key = (dx, claim.claim_type)
        self.dx_template.setdefault(dx_key, Moments()).add(1.0 if case.other_patient else 0.0)
        if case.other_patient:
            key = (claim.hospital_id, dx, claim.claim_type)
            self.hospital_dx_template[key] = self.hospital_dx_template.get(key, 0) + 1
        bill_key = (claim.hospital_id, claim.bill_hash)
        repeats, bill_person = self.by_hash.get(bill_key, (0, claim.person_key))
        if bill_person != claim.person_key:
            bill_person = ""  # several patients
        self.by_hash[bill_key] = (repeats + 1, bill_person)
