"""Hospital features: a hospital's running rates (cost, stay, re-admissions, repeated
bills, price and quantity levels, volume) against hospitals of its level.

A hospital's rate is shrunk toward its level's with ``HOSPITAL_SHRINK``
pseudo-claims (:func:`detection.peers.shrunk_rate`), so a new hospital looks
like its peers until it has a history. Its DIP coding rates are in
:mod:`detection.dip_features`.
"""

from __future__ import annotations

import math
from typing import Final

from detection.facts import ClaimFacts
from detection.feature_names import slot
from detection.features_bills import BillCase
from detection.features_lines import LineCase
from detection.features_peer import PeerCase
from detection.features_person import PersonCase
from detection.peers import HOSPITAL_SHRINK, Moments, rate_vs_peer, shrunk_rate

FAST, SLOW = 0.1, 0.01  # EWMA weights for the category-mix shift
WEEKS_RECENT, WEEKS_BASE = 4, 26

_FAMILY: Final = "hospital"
_HOSP_COST_RATIO: Final = slot("hosp_cost_ratio", _FAMILY)
_HOSP_LOS_RATIO: Final = slot("hosp_los_ratio", _FAMILY)
_HOSP_READMIT_VS_PEER: Final = slot("hosp_readmit_vs_peer", _FAMILY)
_HOSP_IDENTICAL_VS_PEER: Final = slot("hosp_identical_vs_peer", _FAMILY)
_HOSP_DUPLICATE_RATE: Final = slot("hosp_duplicate_rate", _FAMILY)
_HOSP_A_SHARE_VS_PEER: Final = slot("hosp_a_share_vs_peer", _FAMILY)
_HOSP_A_SHARE_SHIFT: Final = slot("hosp_a_share_shift", _FAMILY)
_HOSP_VOLUME_SPIKE: Final = slot("hosp_volume_spike", _FAMILY)
_HOSP_IMPLAUSIBLE_RATE: Final = slot("hosp_implausible_rate", _FAMILY)
_HOSP_QUICK_READMIT_VS_PEER: Final = slot("hosp_quick_readmit_vs_peer", _FAMILY)
_HOSP_REPEAT_PATIENTS_VS_PEER: Final = slot("hosp_repeat_patients_vs_peer", _FAMILY)
_HOSP_C_SHARE_VS_PEER: Final = slot("hosp_c_share_vs_peer", _FAMILY)
_HOSP_PRICE_RATIO: Final = slot("hosp_price_ratio", _FAMILY)
_HOSP_QUANTITY_RATIO: Final = slot("hosp_quantity_ratio", _FAMILY)
_SAME_DAY_ADMISSIONS_VS_USUAL: Final = slot("same_day_admissions_vs_usual", _FAMILY)


class Hospital:
    """One hospital's running sums (of logs, shares or 0/1 flags) and weekly volumes."""

    __slots__ = (
        "a_diff",
        "c_diff",
        "dup",
        "ewma_fast",
        "ewma_slow",
        "first_week",
        "identical",
        "implausible",
        "inpatient",
        "log_cost_ratio",
        "log_los_ratio",
        "n",
        "price_dev",
        "qty_dev",
        "quick_readmit",
        "readmit",
        "repeat_patients",
        "weeks",
    )

    # The default is for unpickling only: compiled by mypyc, a class's __new__
    # runs __init__ with no arguments before pickle restores the slots.
    def __init__(self, week: int = 0) -> None:
        self.n = 0
        self.inpatient = 0
        self.log_cost_ratio = 0.0
        self.log_los_ratio = 0.0
        self.readmit = 0
        self.identical = 0
        self.dup = 0
        self.implausible = 0
        self.a_diff = 0.0
        self.c_diff = 0.0
        self.price_dev = 0.0
        self.qty_dev = 0.0
        self.quick_readmit = 0
        self.repeat_patients = 0
        self.ewma_fast = 0.0
        self.ewma_slow = 0.0
        self.first_week = week
        self.weeks: dict[int, int] = {}


def _mean(table: dict[int, Moments], level: int) -> float:
    moments = table.get(level)
    return moments.mean if moments else 0.0


class HospitalFeatures:
    """Every hospital's running sums, and the rates of each hospital level."""

    def __init__(self) -> None:
        self.hospitals: dict[str, Hospital] = {}
        self.level_readmit: dict[int, Moments] = {}
        self.level_identical: dict[tuple[int, str], Moments] = {}
        self.level_dup: dict[int, Moments] = {}
        self.level_implausible: dict[int, Moments] = {}
        self.level_quick_readmit: dict[int, Moments] = {}
        self.level_repeat: dict[int, Moments] = {}
        self.admissions: dict[tuple[str, int], int] = {}  # (hospital, day) -> in-patient stays

    def compute(self, claim: ClaimFacts, inpatient: bool, row: list[float]) -> None:
        """Write the family's features into ``row``."""
        level = claim.hospital_level
        hosp = self.hospitals.get(claim.hospital_id)
        p_dup = _mean(self.level_dup, level)
        p_impl = _mean(self.level_implausible, level)
        same_day = 0
        if inpatient:
            same_day = self.admissions.get((claim.hospital_id, claim.admission), 0)
        if hosp is None or hosp.n == 0:
            _like_its_peers(p_dup, p_impl, row)
            usual_per_day = 0.0
        else:
            self._rates(claim, hosp, p_dup, p_impl, row)
            active_days = max(claim.admission - hosp.first_week * 7, 7)
            usual_per_day = hosp.inpatient / active_days
        row[_SAME_DAY_ADMISSIONS_VS_USUAL] = (
            (same_day + 1.0) / (usual_per_day + 1.0) if inpatient else 0.0
        )

    def _rates(
        self, claim: ClaimFacts, hosp: Hospital, p_dup: float, p_impl: float, row: list[float]
    ) -> None:
        """The rates of a hospital with a history."""
        level = claim.hospital_level
        shrunk_n = hosp.n + HOSPITAL_SHRINK
        row[_HOSP_COST_RATIO] = math.exp(hosp.log_cost_ratio / shrunk_n)
        row[_HOSP_LOS_RATIO] = math.exp(hosp.log_los_ratio / (hosp.inpatient + HOSPITAL_SHRINK))
        row[_HOSP_READMIT_VS_PEER] = rate_vs_peer(
            hosp.readmit, hosp.inpatient, _mean(self.level_readmit, level)
        )
        ident = self.level_identical.get((level, claim.claim_type))
        row[_HOSP_IDENTICAL_VS_PEER] = rate_vs_peer(
            hosp.identical, hosp.n, ident.mean if ident else 0.0
        )
        row[_HOSP_DUPLICATE_RATE] = shrunk_rate(hosp.dup, hosp.n, p_dup)
        row[_HOSP_A_SHARE_VS_PEER] = hosp.a_diff / shrunk_n
        row[_HOSP_A_SHARE_SHIFT] = hosp.ewma_fast - hosp.ewma_slow
        row[_HOSP_VOLUME_SPIKE] = _volume_spike(hosp, claim.discharge // 7)
        row[_HOSP_IMPLAUSIBLE_RATE] = shrunk_rate(hosp.implausible, hosp.n, p_impl)
        row[_HOSP_QUICK_READMIT_VS_PEER] = rate_vs_peer(
            hosp.quick_readmit, hosp.inpatient, _mean(self.level_quick_readmit, level)
        )
        row[_HOSP_REPEAT_PATIENTS_VS_PEER] = rate_vs_peer(
            hosp.repeat_patients, hosp.inpatient, _mean(self.level_repeat, level)
        )
        row[_HOSP_C_SHARE_VS_PEER] = hosp.c_diff / shrunk_n
        row[_HOSP_PRICE_RATIO] = math.exp(hosp.price_dev / shrunk_n)
        row[_HOSP_QUANTITY_RATIO] = math.exp(hosp.qty_dev / shrunk_n)

    def learn(
        self,
        claim: ClaimFacts,
        peer: PeerCase,
        person: PersonCase,
        bill: BillCase,
        lines: LineCase,
    ) -> None:
        """Add the claim to its hospital's sums and its level's rates."""
        week = claim.discharge // 7
        hosp = self.hospitals.get(claim.hospital_id)
        if hosp is None:
            hosp = self.hospitals[claim.hospital_id] = Hospital(week)
        implausible = person.implausible is not None
        hosp.n += 1
        hosp.log_cost_ratio += peer.log_cost - peer.peer_log_cost
        hosp.a_diff += peer.a_diff
        hosp.c_diff += peer.c_diff
        hosp.price_dev += lines.price_dev
        hosp.qty_dev += lines.qty_dev
        hosp.ewma_fast += FAST * (peer.a_diff - hosp.ewma_fast)
        hosp.ewma_slow += SLOW * (peer.a_diff - hosp.ewma_slow)
        hosp.identical += bill.identical
        hosp.dup += person.duplicate
        hosp.implausible += implausible
        hosp.weeks[week] = hosp.weeks.get(week, 0) + 1
        hosp.first_week = min(hosp.first_week, week)
        level = claim.hospital_level
        if peer.inpatient:
            hosp.inpatient += 1
            hosp.log_los_ratio += peer.log_los - peer.peer_log_los
            hosp.readmit += person.readmit
            hosp.quick_readmit += person.quick_readmit
            hosp.repeat_patients += person.repeat_patient
            self.level_readmit.setdefault(level, Moments()).add(float(person.readmit))
            self.level_quick_readmit.setdefault(level, Moments()).add(float(person.quick_readmit))
            self.level_repeat.setdefault(level, Moments()).add(float(person.repeat_patient))
            day_key = (claim.hospital_id, claim.admission)
            self.admissions[day_key] = self.admissions.get(day_key, 0) + 1
        self.level_identical.setdefault((level, claim.claim_type), Moments()).add(
            float(bill.identical)
        )
        self.level_dup.setdefault(level, Moments()).add(float(person.duplicate))
        self.level_implausible.setdefault(level, Moments()).add(float(implausible))


def _like_its_peers(p_dup: float, p_impl: float, row: list[float]) -> None:
    """The rates of a hospital without a history: those of its level (ratios of 1)."""
    row[_HOSP_COST_RATIO] = 1.0
    row[_HOSP_LOS_RATIO] = 1.0
    row[_HOSP_READMIT_VS_PEER] = 1.0
    row[_HOSP_IDENTICAL_VS_PEER] = 1.0
    row[_HOSP_DUPLICATE_RATE] = p_dup
    row[_HOSP_A_SHARE_VS_PEER] = 0.0
    row[_HOSP_A_SHARE_SHIFT] = 0.0
    row[_HOSP_VOLUME_SPIKE] = 1.0
    row[_HOSP_IMPLAUSIBLE_RATE] = p_impl
    row[_HOSP_QUICK_READMIT_VS_PEER] = 1.0
    row[_HOSP_REPEAT_PATIENTS_VS_PEER] = 1.0
    row[_HOSP_C_SHARE_VS_PEER] = 0.0
    row[_HOSP_PRICE_RATIO] = 1.0
    row[_HOSP_QUANTITY_RATIO] = 1.0


def _volume_spike(hosp: Hospital, week: int) -> float:
    """Claims in the last 4 weeks over the hospital's usual 4-week volume before them."""
    weeks = hosp.weeks
    recent = sum(weeks.get(w, 0) for w in range(week - WEEKS_RECENT + 1, week + 1))
    start = max(hosp.first_week, week - WEEKS_RECENT - WEEKS_BASE + 1)
    base_weeks = week - WEEKS_RECENT + 1 - start
    if base_weeks < WEEKS_RECENT:
        return 1.0  # too little history to call anything a spike
    base = sum(weeks.get(w, 0) for w in range(start, week - WEEKS_RECENT + 1))
    usual = base * WEEKS_RECENT / base_weeks
    return (recent + 2.0) / (usual + 2.0)
