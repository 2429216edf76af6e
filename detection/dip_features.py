"""What an in-patient case's DIP coding says, against past cases: the part of the
feature state that sees DIP gaming (coding into a higher-score group, ultra-low
admissions).

A DIP group is keyed by the principal diagnosis and the principal procedure
(``shared/spec/dip.md`` section 4); its score is its average cost relative to
the area's. The typical cost of each group, per hospital level, is learnt here
from past settled in-patient cases, the way a catalogue is built from history
(section 8), so detection needs no catalogue file and works for every area.
This is the DIP family of features: :class:`~detection.features.FeatureState`
calls :meth:`DipState.compute` before it learns a claim and
:meth:`DipState.learn` after; each hospital's coding rates are kept here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from detection.facts import ClaimFacts
from detection.feature_names import slot
from detection.peers import HOSPITAL_SHRINK, Moments, PeerStats, rate_vs_peer, shrunk_mean

ULTRA_LOW_RATIO = 0.5  # dip.md's low_ratio: cheaper than half the group's typical cost
ITEMS_MISSING = 0.5  # a signature item of at least half the procedure's cases is missing
# Pseudo-cases of the diagnosis' cost in a group's typical cost: few, because a
# procedure changes the cost of a case far more than chance does.
GROUP_SHRINK = 3.0
TOP_GROUP_MIN_CASES = 5  # cases before a group can be its diagnosis' highest-cost one
TOP_GROUP_MIN_GROUPS = 2  # a diagnosis needs this many such groups to have a "top" one
PROCEDURE_MIN_CASES = 10  # cases of a procedure before its usual items are known
SIGNATURE_SHARE = 0.3  # an item on at least this share of a procedure's cases ...
SIGNATURE_LIFT = 2.0  # ... and this many times likelier than on stays of the case's diagnosis

_FAMILY: Final = "dip"
_DIP_COST_RATIO: Final = slot("dip_cost_ratio", _FAMILY)
_DIP_GROUP_VS_DX: Final = slot("dip_group_vs_dx", _FAMILY)
_SECONDARY_DX_COUNT: Final = slot("secondary_dx_count", _FAMILY)
_SECONDARY_DX_VS_PEER: Final = slot("secondary_dx_vs_peer", _FAMILY)
_PROCEDURES_VS_PEER: Final = slot("procedures_vs_peer", _FAMILY)
_PROCEDURE_ITEMS_MISSING: Final = slot("procedure_items_missing", _FAMILY)
_DX_OUTPATIENT_SHARE: Final = slot("dx_outpatient_share", _FAMILY)
_HOSP_CMI_VS_PEER: Final = slot("hosp_cmi_vs_peer", _FAMILY)
_HOSP_TOP_GROUP_VS_PEER: Final = slot("hosp_top_group_vs_peer", _FAMILY)
_HOSP_ULTRA_LOW_VS_PEER: Final = slot("hosp_ultra_low_vs_peer", _FAMILY)
_HOSP_SECONDARY_DX_VS_PEER: Final = slot("hosp_secondary_dx_vs_peer", _FAMILY)
_HOSP_PROCEDURES_VS_PEER: Final = slot("hosp_procedures_vs_peer", _FAMILY)
_HOSP_ITEMS_MISSING_VS_PEER: Final = slot("hosp_items_missing_vs_peer", _FAMILY)
_HOSP_MILD_ADMISSION_VS_PEER: Final = slot("hosp_mild_admission_vs_peer", _FAMILY)
_HOSPITAL_RATES: Final = (
    _HOSP_CMI_VS_PEER,
    _HOSP_TOP_GROUP_VS_PEER,
    _HOSP_ULTRA_LOW_VS_PEER,
    _HOSP_SECONDARY_DX_VS_PEER,
    _HOSP_PROCEDURES_VS_PEER,
    _HOSP_ITEMS_MISSING_VS_PEER,
    _HOSP_MILD_ADMISSION_VS_PEER,
)


@dataclass(frozen=True, slots=True)
class DipCase:
    """One in-patient case's DIP values, computed from past cases."""

    cost_ratio: float  # total / the group's typical cost at the level
    group_vs_dx: float  # the group's typical cost / the diagnosis' typical cost
    group_log_cost: float
    secondary_vs_peer: float  # (secondary diagnoses + 1) / (peers' + 1)
    procedures_vs_peer: float
    items_missing: float  # share of the procedure's cases billing an item this one lacks
    outpatient_share: float  # share of the diagnosis' past claims that were visits
    top: bool  # in its diagnosis' highest-cost group


NOT_A_CASE = DipCase(1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, False)


class _Counts:
    __slots__ = ("procedures", "secondary")

    def __init__(self) -> None:
        self.secondary = Moments()
        self.procedures = Moments()


class HospitalDip:
    """One hospital's in-patient cases and their DIP values: sums of logs or of 0/1 flags."""

    __slots__ = ("cases", "cmi", "mild", "missing", "procedures", "secondary", "top", "ultra_low")

    def __init__(self) -> None:
        self.cases = 0
        self.cmi = 0.0
        self.secondary = 0.0
        self.procedures = 0.0
        self.top = 0
        self.ultra_low = 0
        self.missing = 0
        self.mild = 0.0


class DipState:
    """Past in-patient cases by DIP group, procedure and diagnosis; plain dicts (pickles)."""

    def __init__(self) -> None:
        self.groups: dict[tuple[int, str, str], Moments] = {}  # (level, dx, procedure) -> log cost
        self.dx_cost: dict[tuple[int, str], Moments] = {}  # (level, dx) -> log cost
        self.dx_groups: dict[tuple[int, str], list[str]] = {}  # (level, dx) -> procedures seen
        self.counts: dict[tuple[int, str], _Counts] = {}  # (level, dx category)
        self.counts_level: dict[int, _Counts] = {}
        self.procedure_cases: dict[str, int] = {}
        self.procedure_items: dict[str, dict[str, int]] = {}  # cases of a procedure with an item
        # in-patient cases of a diagnosis category, and those with an item
        self.category_cases: dict[str, int] = {}
        self.category_items: dict[tuple[str, str], int] = {}
        self.dx_type: dict[tuple[str, str], int] = {}  # (diagnosis, claim type) -> claims
        self.level_top: dict[int, Moments] = {}
        self.level_ultra_low: dict[int, Moments] = {}
        self.level_missing: dict[int, Moments] = {}
        self.level_mild: dict[int, Moments] = {}
        self.hospitals: dict[str, HospitalDip] = {}

    def compute(
        self,
        claim: ClaimFacts,
        category: str,
        log_cost: float,
        peers: list[PeerStats | None],
        row: list[float],
    ) -> DipCase:
        """Write the family's features into ``row``; return the case's DIP values.

        Args:
            claim: the claim (DIP values of its own only if an in-patient case).
            category: its diagnosis' 3-character category.
            log_cost: log of its total in fen.
            peers: its peer chain (see :meth:`case`).
            row: the feature vector being filled.
        """
        inpatient = claim.claim_type == "inpatient"
        case = self.case(claim, category, log_cost, peers) if inpatient else NOT_A_CASE
        row[_DIP_COST_RATIO] = case.cost_ratio
        row[_DIP_GROUP_VS_DX] = case.group_vs_dx
        row[_SECONDARY_DX_COUNT] = float(len(claim.diagnoses))
        row[_SECONDARY_DX_VS_PEER] = case.secondary_vs_peer
        row[_PROCEDURES_VS_PEER] = case.procedures_vs_peer
        row[_PROCEDURE_ITEMS_MISSING] = case.items_missing
        row[_DX_OUTPATIENT_SHARE] = case.outpatient_share if inpatient else 0.0
        self._hospital_rates(claim, case, inpatient, row)
        return case

    def _hospital_rates(
        self, claim: ClaimFacts, case: DipCase, inpatient: bool, row: list[float]
    ) -> None:
        """The hospital's DIP coding against its level's (1 = like its peers), each rate
        for a case that shows the coding it counts.

        A top-group case gets the hospital's top-group rate, an ultra-low one its
        ultra-low rate, a case coded above its diagnosis' typical group its case-mix
        index, and so on; other cases and every visit get the neutral 1. Given to
        every claim, the rates raised all of a gaming hospital's claims, and split
        stays, whose halves are cheap for their group, raised a hospital's
        ultra-low rate: the model read them as DIP gaming and ranked split stays
        lower (``docs/data-scientist-guide.md``, issue 14).
        """
        for index in _HOSPITAL_RATES:
            row[index] = 1.0
        hosp = self.hospitals.get(claim.hospital_id)
        if not inpatient or hosp is None or hosp.cases == 0:
            return
        p_top, p_ultra, p_missing, p_mild = self.level_rates(claim.hospital_level)
        n_in = hosp.cases + HOSPITAL_SHRINK
        if case.group_vs_dx > 1.0:
            row[_HOSP_CMI_VS_PEER] = math.exp(hosp.cmi / n_in)
        if case.top:
            row[_HOSP_TOP_GROUP_VS_PEER] = rate_vs_peer(hosp.top, hosp.cases, p_top)
        if case.cost_ratio < ULTRA_LOW_RATIO:
            row[_HOSP_ULTRA_LOW_VS_PEER] = rate_vs_peer(hosp.ultra_low, hosp.cases, p_ultra)
        if case.secondary_vs_peer > 1.0:
            row[_HOSP_SECONDARY_DX_VS_PEER] = math.exp(hosp.secondary / n_in)
        if case.procedures_vs_peer > 1.0:
            row[_HOSP_PROCEDURES_VS_PEER] = math.exp(hosp.procedures / n_in)
        if case.items_missing >= ITEMS_MISSING:
            row[_HOSP_ITEMS_MISSING_VS_PEER] = rate_vs_peer(hosp.missing, hosp.cases, p_missing)
        if case.outpatient_share > p_mild:
            row[_HOSP_MILD_ADMISSION_VS_PEER] = rate_vs_peer(hosp.mild, hosp.cases, p_mild)

    def outpatient_share(self, diagnosis: str) -> float:
        """Share of past claims with this diagnosis code that were visits (prior 1/2)."""
        visits = self.dx_type.get((diagnosis, "outpatient"), 0)
        stays = self.dx_type.get((diagnosis, "inpatient"), 0)
        return (visits + 1.0) / (visits + stays + 2.0)

    def case(
        self, claim: ClaimFacts, category: str, log_cost: float, peers: list[PeerStats | None]
    ) -> DipCase:
        """The DIP values of an in-patient case from past cases.

        Args:
            claim: the case.
            category: its diagnosis' 3-character category.
            log_cost: log of its total in fen.
            peers: the claim's peer chain (level + category + type, level + type,
                type), the fallback for a diagnosis not seen before.
        """
        level = claim.hospital_level
        procedure = claim.principal_procedure
        parents = [p.log_cost if p else None for p in peers]
        dx_key = (level, claim.diagnosis)
        dx_cost = self.dx_cost.get(dx_key)
        group = self.groups.get((level, claim.diagnosis, procedure))
        dx_log = shrunk_mean([dx_cost, *parents], log_cost)
        group_log = dx_log
        if group is not None and group.n > 0:
            group_log = (group.n * group.mean + GROUP_SHRINK * dx_log) / (group.n + GROUP_SHRINK)
        top = False
        best, best_mean, eligible = "", -math.inf, 0
        for proc in self.dx_groups.get(dx_key, ()):
            g = self.groups[(level, claim.diagnosis, proc)]
            if g.n >= TOP_GROUP_MIN_CASES:
                eligible += 1
                if g.mean > best_mean:
                    best, best_mean = proc, g.mean
        if eligible >= TOP_GROUP_MIN_GROUPS:
            top = best == procedure
        counts = self.counts.get((level, category))
        at_level = self.counts_level.get(level)
        n_sec = float(len(claim.diagnoses))
        n_proc = float(len(claim.procedures))
        peer_sec = shrunk_mean(
            [counts.secondary if counts else None, at_level.secondary if at_level else None], n_sec
        )
        peer_proc = shrunk_mean(
            [counts.procedures if counts else None, at_level.procedures if at_level else None],
            n_proc,
        )
        return DipCase(
            cost_ratio=math.exp(log_cost - group_log),
            group_vs_dx=math.exp(group_log - dx_log),
            group_log_cost=group_log,
            secondary_vs_peer=(n_sec + 1.0) / (peer_sec + 1.0),
            procedures_vs_peer=(n_proc + 1.0) / (peer_proc + 1.0),
            items_missing=self._items_missing(claim, category, procedure),
            outpatient_share=self.outpatient_share(claim.diagnosis),
            top=top,
        )

    def _items_missing(self, claim: ClaimFacts, category: str, procedure: str) -> float:
        """The largest share of the procedure's past cases that billed a signature item
        this bill lacks (0 when none is missing or the procedure is new).

        A signature item is one billed on at least ``SIGNATURE_SHARE`` of the
        procedure's cases and ``SIGNATURE_LIFT`` times as often as on stays of
        the case's own diagnosis category: the stent of a PCI, the ventilator
        days of a ventilation, not the drugs every stay of the diagnosis gets.
        """
        if not procedure:
            return 0.0
        n = self.procedure_cases.get(procedure, 0)
        if n < PROCEDURE_MIN_CASES:
            return 0.0
        billed = {line[0] for line in claim.lines}
        worst = 0.0
        base = self.category_cases.get(category, 0) + 1.0
        for item, k in self.procedure_items.get(procedure, {}).items():
            share = k / n
            if share < SIGNATURE_SHARE or item in billed or share <= worst:
                continue
            usual = (self.category_items.get((category, item), 0) + 1.0) / base
            if share >= SIGNATURE_LIFT * usual:
                worst = share
        return worst

    def learn(self, claim: ClaimFacts, category: str, log_cost: float, case: DipCase) -> None:
        """Remember a claim (every claim type counts toward the visit share of diagnoses)."""
        type_key = (claim.diagnosis, claim.claim_type)
        self.dx_type[type_key] = self.dx_type.get(type_key, 0) + 1
        if claim.claim_type != "inpatient":
            return
        level = claim.hospital_level
        procedure = claim.principal_procedure
        dx_key = (level, claim.diagnosis)
        key = (level, claim.diagnosis, procedure)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Moments()
            self.dx_groups.setdefault(dx_key, []).append(procedure)
        group.add(log_cost)
        self.dx_cost.setdefault(dx_key, Moments()).add(log_cost)
        for counts in (
            self.counts.get((level, category))
            or self.counts.setdefault((level, category), _Counts()),
            self.counts_level.get(level) or self.counts_level.setdefault(level, _Counts()),
        ):
            counts.secondary.add(float(len(claim.diagnoses)))
            counts.procedures.add(float(len(claim.procedures)))
        items = {line[0] for line in claim.lines}
        self.category_cases[category] = self.category_cases.get(category, 0) + 1
        for item in items:
            item_key = (category, item)
            self.category_items[item_key] = self.category_items.get(item_key, 0) + 1
        if procedure:
            self.procedure_cases[procedure] = self.procedure_cases.get(procedure, 0) + 1
            with_items = self.procedure_items.setdefault(procedure, {})
            for item in items:
                with_items[item] = with_items.get(item, 0) + 1
        self.level_top.setdefault(level, Moments()).add(1.0 if case.top else 0.0)
        self.level_ultra_low.setdefault(level, Moments()).add(
            1.0 if case.cost_ratio < ULTRA_LOW_RATIO else 0.0
        )
        self.level_missing.setdefault(level, Moments()).add(
            1.0 if case.items_missing >= ITEMS_MISSING else 0.0
        )
        self.level_mild.setdefault(level, Moments()).add(case.outpatient_share)
        hosp = self.hospitals.get(claim.hospital_id)
        if hosp is None:
            hosp = self.hospitals[claim.hospital_id] = HospitalDip()
        hosp.cmi += math.log(case.group_vs_dx)
        hosp.secondary += math.log(case.secondary_vs_peer)
        hosp.procedures += math.log(case.procedures_vs_peer)
        hosp.top += case.top
        hosp.ultra_low += case.cost_ratio < ULTRA_LOW_RATIO
        hosp.missing += case.items_missing >= ITEMS_MISSING
        hosp.mild += case.outpatient_share
        hosp.cases += 1

    def level_rates(self, level: int) -> tuple[float, float, float, float]:
        """The level's shares of top-group, ultra-low and items-missing cases and its
        mean visit share of admitted diagnoses."""
        out = []
        for table in (self.level_top, self.level_ultra_low, self.level_missing, self.level_mild):
            m = table.get(level)
            out.append(m.mean if m else 0.0)
        return out[0], out[1], out[2], out[3]
