"""Claim and hospital-behaviour features as one incremental state machine.

:class:`FeatureState` reads claims one at a time in event order (submission
instant, then discharge date, then claim id) and returns each claim's feature
vector computed from *past* claims only; then it learns from the claim. Batch
training and scoring fold the same function over the sorted claims
(:func:`batch_features`), so the stream, batch scoring and training see
identical values. Identifiers are only keys of the state, never features.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from detection.dip_features import (
    ITEMS_MISSING,
    NOT_A_CASE,
    ULTRA_LOW_RATIO,
    DipCase,
    DipState,
)
from detection.facts import ClaimFacts
from detection.knowledge import category, implausibility
from detection.peers import Moments, PeerStats, shrunk_mean, shrunk_sd

FEATURE_NAMES: tuple[str, ...] = (
    "is_inpatient",
    "is_outpatient",
    "is_ltc",
    "hospital_level",
    "cost_vs_peer_ratio",
    "cost_peer_z",
    "los_vs_peer_ratio",
    "items_vs_peer_ratio",
    "share_a",
    "share_c",
    "a_share_vs_peer",
    "readmit_gap_days",
    "readmit_same_dx_gap_days",
    "overlapping_stays",
    "person_claims_30d",
    "person_claims_365d",
    "person_hospital_claims_30d",
    "duplicate_bills",
    "identical_bill",
    "identical_bill_peer_rate",
    "age_years",
    "age_dx_z",
    "age_dx_implausible",
    "hosp_cost_ratio",
    "hosp_los_ratio",
    "hosp_readmit_vs_peer",
    "hosp_identical_vs_peer",
    "hosp_duplicate_rate",
    "hosp_a_share_vs_peer",
    "hosp_a_share_shift",
    "hosp_volume_spike",
    "hosp_implausible_rate",
    "price_vs_code_max",
    "price_vs_code_mean",
    "quantity_vs_code",
    "bill_lines",
    "identical_bill_share",
    "person_hospital_claims_365d",
    "dx_share_vs_peer",
    "cost_vs_own_hospital",
    "los_vs_own_hospital",
    "readmit_same_hospital_gap_days",
    "hosp_quick_readmit_vs_peer",
    "identical_other_patient",
    "hosp_dx_template_vs_peer",
    "same_day_admissions_vs_usual",
    "hosp_repeat_patients_vs_peer",
    "price_vs_own_hospital_max",
    "hosp_c_share_vs_peer",
    "hosp_price_ratio",
    "hosp_quantity_ratio",
    "dx_code_share_vs_peer",
    "items_unusual_for_dx",
    "dip_cost_ratio",
    "dip_group_vs_dx",
    "secondary_dx_count",
    "secondary_dx_vs_peer",
    "procedures_vs_peer",
    "procedure_items_missing",
    "dx_outpatient_share",
    "hosp_cmi_vs_peer",
    "hosp_top_group_vs_peer",
    "hosp_ultra_low_vs_peer",
    "hosp_secondary_dx_vs_peer",
    "hosp_procedures_vs_peer",
    "hosp_items_missing_vs_peer",
    "hosp_mild_admission_vs_peer",
)
FEATURE_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}
# Bumped whenever a feature's meaning changes; stored with every model.
FEATURE_VERSION = "5"

NO_EVENT_DAYS = 999.0  # "never": larger than any window the features look at
READMIT_DAYS = 15
QUICK_READMIT_DAYS = 3  # back at the same hospital this soon: a split stay?
REPEAT_STAYS = 2  # earlier claims at the hospital in a year that make a "repeat patient"
UNUSUAL_CODE_SHARE = 0.05  # a code on fewer of a diagnosis's claims is unusual for it
MIN_DX_CLAIMS = 20  # claims of a diagnosis before its usual items are known
PERSON_HISTORY = 64  # past claims kept per person
HOSPITAL_SHRINK = 20.0  # pseudo-claims of the peer rate in a hospital's rates
FAST, SLOW = 0.1, 0.01  # EWMA weights for the category-mix shift
WEEKS_RECENT, WEEKS_BASE = 4, 26


@dataclass(frozen=True, slots=True)
class Features:
    """One claim's feature vector plus the context its reasons are written from."""

    claim_id: str
    values: tuple[float, ...]
    level: int
    diagnosis: str
    claim_type: str
    peer_cost_fen: float
    peer_los_days: float
    implausible: str | None
    principal_procedure: str = ""
    dip_group_cost_fen: float = 0.0

    def __getitem__(self, name: str) -> float:
        return self.values[FEATURE_INDEX[name]]

    def as_dict(self) -> dict[str, float]:
        return dict(zip(FEATURE_NAMES, self.values, strict=True))


@dataclass(slots=True)
class _Episode:
    admission: int
    discharge: int
    dx: str
    hospital_id: str
    inpatient: bool
    total_fen: int


class _Hospital:
    __slots__ = (
        "a_diff",
        "c_diff",
        "dip_cmi",
        "dip_mild",
        "dip_missing",
        "dip_procedures",
        "dip_secondary",
        "dip_top",
        "dip_ultra_low",
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
        # DIP coding, over in-patient cases: sums of logs or of 0/1 flags.
        self.dip_cmi = 0.0
        self.dip_secondary = 0.0
        self.dip_procedures = 0.0
        self.dip_top = 0
        self.dip_ultra_low = 0
        self.dip_missing = 0
        self.dip_mild = 0.0


def _rate(hits: float, n: int, prior: float) -> float:
    return (hits + HOSPITAL_SHRINK * prior) / (n + HOSPITAL_SHRINK)


class FeatureState:
    """Everything the features remember about past claims.

    Plain dicts and small objects: it can be pickled, and a stream keeps one
    per feature partition. Memory grows with persons, hospitals, peer groups
    and distinct bills.
    """

    def __init__(self) -> None:
        self.peers: dict[tuple[object, ...], PeerStats] = {}
        self.age_by_dx: dict[str, Moments] = {}
        self.age_all = Moments()
        self.persons: dict[str, list[_Episode]] = {}
        self.hospitals: dict[str, _Hospital] = {}
        # (hospital, bill hash) -> (earlier bills, their one person's key or "" for several)
        self.bills: dict[tuple[str, str], tuple[int, str]] = {}
        self.level_readmit: dict[int, Moments] = {}
        self.level_identical: dict[tuple[int, str], Moments] = {}
        self.level_dup: dict[int, Moments] = {}
        self.level_implausible: dict[int, Moments] = {}
        self.codes: dict[str, _CodeStats] = {}
        self.codes_by_level: dict[tuple[str, int], _CodeStats] = {}
        self.hospital_dx: dict[tuple[str, str, str], int] = {}
        self.hospital_type: dict[tuple[str, str], int] = {}
        self.peer_dx: dict[tuple[int, str, str], int] = {}
        self.peer_type: dict[tuple[int, str], int] = {}
        self.hospital_cases: dict[tuple[str, str, str], PeerStats] = {}
        self.level_quick_readmit: dict[int, Moments] = {}
        self.level_repeat: dict[int, Moments] = {}
        # template bills: identical to another patient's bill, per hospital and diagnosis
        self.hospital_dx_template: dict[tuple[str, str, str], int] = {}
        self.dx_template: dict[tuple[str, str], Moments] = {}
        self.admissions: dict[tuple[str, int], int] = {}  # (hospital, day) -> in-patient stays
        self.hospital_codes: dict[tuple[str, str], Moments] = {}  # log unit price
        self.codes_by_dx: dict[tuple[str, str], Moments] = {}  # log quantity
        self.dx_codes: dict[tuple[str, str, str], int] = {}  # claims of a diagnosis with a code
        self.dx_claims: dict[tuple[str, str], int] = {}
        self.hospital_dx_code: dict[tuple[str, str, str], int] = {}
        self.peer_dx_code: dict[tuple[int, str, str], int] = {}
        self.dip = DipState()
        self.claims_seen = 0

    # -- public API -------------------------------------------------------

    def update_and_features(self, claim: ClaimFacts) -> Features:
        """The claim's features from past claims, then remember the claim.

        Args:
            claim: the next claim in event order.

        Returns:
            Its features (computed before the claim itself was learned).
        """
        features, memo = self._compute(claim)
        self._learn(claim, memo)
        return features

    def peek_features(self, claim: ClaimFacts) -> Features:
        """The claim's features without remembering it (what-if scoring)."""
        return self._compute(claim)[0]

    # -- computation ------------------------------------------------------

    def _chain(self, claim: ClaimFacts, dx: str) -> list[PeerStats | None]:
        get = self.peers.get
        return [
            get((claim.hospital_level, dx, claim.claim_type)),
            get((claim.hospital_level, claim.claim_type)),
            get((claim.claim_type,)),
        ]

    def _compute(self, claim: ClaimFacts) -> tuple[Features, _Memo]:
        dx = category(claim.diagnosis)
        inpatient = claim.claim_type == "inpatient"
        chain = self._chain(claim, dx)
        cost_chain = [p.log_cost if p else None for p in chain]
        total = max(claim.total_fen, 1)
        log_cost = math.log(total)
        peer_log_cost = shrunk_mean(cost_chain, log_cost)
        peer_sd = shrunk_sd(cost_chain, 1.0, 0.05)
        cost_ratio = math.exp(log_cost - peer_log_cost)
        cost_z = (log_cost - peer_log_cost) / peer_sd

        log_los = math.log1p(claim.length_of_stay)
        peer_log_los = shrunk_mean([p.log_los if p else None for p in chain], log_los)
        los_ratio = math.exp(log_los - peer_log_los)
        log_items = math.log(max(claim.n_items, 1))
        peer_items = shrunk_mean([p.log_items if p else None for p in chain], log_items)
        items_ratio = math.exp(log_items - peer_items)

        share_a = claim.a_fen / total
        share_c = claim.c_fen / total
        peer_a = shrunk_mean([p.a_share if p else None for p in chain], share_a)
        a_diff = share_a - peer_a

        # Person history: re-admissions, overlapping stays, duplicates, frequency.
        readmit_gap = NO_EVENT_DAYS
        readmit_dx_gap = NO_EVENT_DAYS
        readmit_here_gap = NO_EVENT_DAYS
        overlaps = 0
        duplicates = 0
        n30 = n365 = n_hosp30 = n_hosp365 = 0
        for ep in self.persons.get(claim.person_key, ()):
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

        bill_key = (claim.hospital_id, claim.bill_hash)
        repeats, bill_person = self.bills.get(bill_key, (0, ""))
        identical = 1.0 if repeats > 0 else 0.0
        # Another patient's bill, item for item: a template, unless the diagnosis is a package.
        other_patient = repeats > 0 and bill_person != claim.person_key
        identical_peer = shrunk_mean([p.identical if p else None for p in chain], 0.0)

        age = claim.age_years
        dx_age = self.age_by_dx.get(dx)
        age_mean = shrunk_mean([dx_age, self.age_all], age)
        age_sd = shrunk_sd([dx_age, self.age_all], 20.0, 2.0)
        age_z = (age - age_mean) / age_sd
        why_implausible = implausibility(claim.diagnosis, age, claim.sex)

        level = claim.hospital_level
        price_max, price_mean, qty_dev, own_price_max, unusual = self._line_deviations(claim, dx)
        h_type = self.hospital_type.get((claim.hospital_id, claim.claim_type), 0)
        h_dx = self.hospital_dx.get((claim.hospital_id, dx, claim.claim_type), 0)
        p_dx = self.peer_dx.get((level, dx, claim.claim_type), 0)
        p_type = self.peer_type.get((level, claim.claim_type), 0)
        peer_share = (p_dx + 1.0) / (p_type + 20.0)
        dx_share = (h_dx + 10.0 * peer_share) / (h_type + 10.0) / peer_share
        code_key = (claim.hospital_id, claim.diagnosis, claim.claim_type)
        h_code = self.hospital_dx_code.get(code_key, 0)
        p_code = self.peer_dx_code.get((level, claim.diagnosis, claim.claim_type), 0)
        peer_code_share = (p_code + 1.0) / (p_type + 20.0)
        dx_code_share = (h_code + 10.0 * peer_code_share) / (h_type + 10.0) / peer_code_share
        dx_template = self.dx_template.get((dx, claim.claim_type))
        p_template = dx_template.mean if dx_template else 0.0
        h_template = self.hospital_dx_template.get((claim.hospital_id, dx, claim.claim_type), 0)
        template_vs_peer = ((h_template + 10.0 * p_template) / (h_dx + 10.0) + 0.01) / (
            p_template + 0.01
        )
        own = self.hospital_cases.get((claim.hospital_id, dx, claim.claim_type))
        own_cost = shrunk_mean([own.log_cost if own else None], peer_log_cost)
        own_los = shrunk_mean([own.log_los if own else None], peer_log_los)
        week = claim.discharge // 7
        hosp = self.hospitals.get(claim.hospital_id)
        lvl_readmit = self.level_readmit.get(level)
        lvl_ident = self.level_identical.get((level, claim.claim_type))
        lvl_dup = self.level_dup.get(level)
        lvl_impl = self.level_implausible.get(level)
        p_readmit = lvl_readmit.mean if lvl_readmit else 0.0
        p_ident = lvl_ident.mean if lvl_ident else 0.0
        p_dup = lvl_dup.mean if lvl_dup else 0.0
        p_impl = lvl_impl.mean if lvl_impl else 0.0
        lvl_quick = self.level_quick_readmit.get(level)
        lvl_repeat = self.level_repeat.get(level)
        p_quick = lvl_quick.mean if lvl_quick else 0.0
        p_repeat = lvl_repeat.mean if lvl_repeat else 0.0
        same_day = 0
        if inpatient:
            same_day = self.admissions.get((claim.hospital_id, claim.admission), 0)
        if hosp is None or hosp.n == 0:
            h_cost = h_los = 1.0
            h_readmit = h_ident = 1.0
            h_dup, h_a, h_shift, h_spike, h_impl = p_dup, 0.0, 0.0, 1.0, p_impl
            h_quick = h_repeat = h_price = h_qty = 1.0
            h_c = 0.0
            usual_per_day = 0.0
        else:
            h_cost = math.exp(hosp.log_cost_ratio / (hosp.n + HOSPITAL_SHRINK))
            h_los = math.exp(hosp.log_los_ratio / (hosp.inpatient + HOSPITAL_SHRINK))
            h_readmit = (_rate(hosp.readmit, hosp.inpatient, p_readmit) + 0.01) / (p_readmit + 0.01)
            h_ident = (_rate(hosp.identical, hosp.n, p_ident) + 0.01) / (p_ident + 0.01)
            h_dup = _rate(hosp.dup, hosp.n, p_dup)
            h_a = hosp.a_diff / (hosp.n + HOSPITAL_SHRINK)
            h_shift = hosp.ewma_fast - hosp.ewma_slow
            h_spike = _volume_spike(hosp, week)
            h_impl = _rate(hosp.implausible, hosp.n, p_impl)
            h_quick = (_rate(hosp.quick_readmit, hosp.inpatient, p_quick) + 0.01) / (p_quick + 0.01)
            h_repeat = (_rate(hosp.repeat_patients, hosp.inpatient, p_repeat) + 0.01) / (
                p_repeat + 0.01
            )
            h_c = hosp.c_diff / (hosp.n + HOSPITAL_SHRINK)
            h_price = math.exp(hosp.price_dev / (hosp.n + HOSPITAL_SHRINK))
            h_qty = math.exp(hosp.qty_dev / (hosp.n + HOSPITAL_SHRINK))
            active_days = max(claim.admission - hosp.first_week * 7, 7)
            usual_per_day = hosp.inpatient / active_days

        case = NOT_A_CASE
        if inpatient:
            case = self.dip.case(claim, dx, log_cost, chain)
        p_top, p_ultra, p_missing, p_mild = self.dip.level_rates(level)
        if hosp is None or hosp.inpatient == 0:
            h_cmi = h_top = h_ultra = h_sec = h_proc = h_missing = h_mild = 1.0
        else:
            n_in = hosp.inpatient + HOSPITAL_SHRINK
            h_cmi = math.exp(hosp.dip_cmi / n_in)
            h_top = (_rate(hosp.dip_top, hosp.inpatient, p_top) + 0.01) / (p_top + 0.01)
            h_ultra = (_rate(hosp.dip_ultra_low, hosp.inpatient, p_ultra) + 0.01) / (p_ultra + 0.01)
            h_sec = math.exp(hosp.dip_secondary / n_in)
            h_proc = math.exp(hosp.dip_procedures / n_in)
            h_missing = (_rate(hosp.dip_missing, hosp.inpatient, p_missing) + 0.01) / (
                p_missing + 0.01
            )
            h_mild = (_rate(hosp.dip_mild, hosp.inpatient, p_mild) + 0.01) / (p_mild + 0.01)

        values = (
            1.0 if inpatient else 0.0,
            1.0 if claim.claim_type == "outpatient" else 0.0,
            1.0 if claim.claim_type == "ltc" else 0.0,
            float(level),
            cost_ratio,
            cost_z,
            los_ratio,
            items_ratio,
            share_a,
            share_c,
            a_diff,
            readmit_gap,
            readmit_dx_gap,
            float(overlaps),
            float(n30),
            float(n365),
            float(n_hosp30),
            float(duplicates),
            identical,
            identical_peer,
            age,
            age_z,
            1.0 if why_implausible else 0.0,
            h_cost,
            h_los,
            h_readmit,
            h_ident,
            h_dup,
            h_a,
            h_shift,
            h_spike,
            h_impl,
            math.exp(price_max),
            math.exp(price_mean),
            math.exp(qty_dev),
            float(claim.n_items),
            repeats / (h_dx + 1.0),
            float(n_hosp365),
            dx_share,
            math.exp(log_cost - own_cost),
            math.exp(log_los - own_los),
            readmit_here_gap,
            h_quick,
            1.0 if other_patient else 0.0,
            template_vs_peer,
            (same_day + 1.0) / (usual_per_day + 1.0) if inpatient else 0.0,
            h_repeat,
            math.exp(own_price_max),
            h_c,
            h_price,
            h_qty,
            dx_code_share,
            unusual,
            case.cost_ratio,
            case.group_vs_dx,
            float(len(claim.diagnoses)),
            case.secondary_vs_peer,
            case.procedures_vs_peer,
            case.items_missing,
            case.outpatient_share if inpatient else 0.0,
            h_cmi,
            h_top,
            h_ultra,
            h_sec,
            h_proc,
            h_missing,
            h_mild,
        )
        features = Features(
            claim_id=claim.claim_id,
            values=values,
            level=level,
            diagnosis=claim.diagnosis,
            claim_type=claim.claim_type,
            peer_cost_fen=math.exp(peer_log_cost),
            peer_los_days=math.expm1(peer_log_los),
            implausible=why_implausible,
            principal_procedure=claim.principal_procedure,
            dip_group_cost_fen=math.exp(case.group_log_cost) if inpatient else 0.0,
        )
        memo = _Memo(
            dx=dx,
            log_cost=log_cost,
            log_cost_ratio=log_cost - peer_log_cost,
            log_los=log_los,
            log_los_ratio=log_los - peer_log_los,
            log_items=log_items,
            share_a=share_a,
            a_diff=a_diff,
            share_c=share_c,
            c_diff=share_c - shrunk_mean([p.c_share if p else None for p in chain], share_c),
            price_dev=price_mean,
            qty_dev=qty_dev,
            quick_readmit=readmit_here_gap <= QUICK_READMIT_DAYS,
            repeat_patient=n_hosp365 >= REPEAT_STAYS,
            other_patient=other_patient,
            readmit=readmit_gap <= READMIT_DAYS,
            identical=identical > 0,
            duplicate=duplicates > 0,
            implausible=why_implausible is not None,
            week=week,
            dip=case,
        )
        return features, memo

    def _line_deviations(
        self, claim: ClaimFacts, dx: str
    ) -> tuple[float, float, float, float, float]:
        """How the bill's lines compare with the same item codes elsewhere.

        Returns, in logs where a ratio (0 = typical; unseen codes count as
        typical): the largest unit-price deviation from other hospitals of the
        level, the amount-weighted mean price and quantity deviations (quantity
        against the same code for the same diagnosis where known), the largest
        price deviation from this hospital's own usual price for the code, and
        the amount share of lines whose code is unusual for the diagnosis.
        """
        level = claim.hospital_level
        hospital = claim.hospital_id
        dx_key = (dx, claim.claim_type)
        dx_claims = self.dx_claims.get(dx_key, 0)
        worst = own_worst = 0.0
        price_sum = qty_sum = weight = unusual = 0.0
        for code, amount, qty in claim.lines:
            log_price = math.log(max(amount, 1) / qty)
            log_qty = math.log(qty)
            fine = self.codes_by_level.get((code, level))
            coarse = self.codes.get(code)
            by_dx = self.codes_by_dx.get((code, dx))
            coarse_p = coarse.price if coarse else None
            fine_p = fine.price if fine else None
            chain_q = [
                by_dx,
                fine.quantity if fine else None,
                coarse.quantity if coarse else None,
            ]
            typical = shrunk_mean([fine_p, coarse_p], log_price)
            dev = log_price - typical
            worst = max(worst, dev)
            own = self.hospital_codes.get((hospital, code))
            own_worst = max(own_worst, log_price - shrunk_mean([own, fine_p, coarse_p], log_price))
            w = float(max(amount, 1))
            price_sum += w * dev
            qty_sum += w * (log_qty - shrunk_mean(chain_q, log_qty))
            weight += w
            if dx_claims >= MIN_DX_CLAIMS:
                seen = self.dx_codes.get((dx, claim.claim_type, code), 0)
                if seen < UNUSUAL_CODE_SHARE * dx_claims:
                    unusual += w
        if weight == 0:
            return 0.0, 0.0, 0.0, 0.0, 0.0
        return worst, price_sum / weight, qty_sum / weight, own_worst, unusual / weight

    def _learn(self, claim: ClaimFacts, memo: _Memo) -> None:
        self.claims_seen += 1
        hospital = claim.hospital_id
        dx_key = (memo.dx, claim.claim_type)
        self.dx_claims[dx_key] = self.dx_claims.get(dx_key, 0) + 1
        for code in {line[0] for line in claim.lines}:
            code_key = (memo.dx, claim.claim_type, code)
            self.dx_codes[code_key] = self.dx_codes.get(code_key, 0) + 1
        for code, amount, qty in claim.lines:
            log_price = math.log(max(amount, 1) / qty)
            log_qty = math.log(qty)
            own = self.hospital_codes.get((hospital, code))
            if own is None:
                own = self.hospital_codes[(hospital, code)] = Moments()
            own.add(log_price)
            by_dx = self.codes_by_dx.get((code, memo.dx))
            if by_dx is None:
                by_dx = self.codes_by_dx[(code, memo.dx)] = Moments()
            by_dx.add(log_qty)
            for code_stats in (
                self.codes.get(code) or self.codes.setdefault(code, _CodeStats()),
                self.codes_by_level.get((code, claim.hospital_level))
                or self.codes_by_level.setdefault((code, claim.hospital_level), _CodeStats()),
            ):
                code_stats.price.add(log_price)
                code_stats.quantity.add(log_qty)
        case_key = (claim.hospital_id, memo.dx, claim.claim_type)
        case = self.hospital_cases.get(case_key)
        if case is None:
            case = self.hospital_cases[case_key] = PeerStats()
        case.log_cost.add(memo.log_cost)
        case.log_los.add(memo.log_los)
        type_key = (claim.hospital_id, claim.claim_type)
        self.hospital_type[type_key] = self.hospital_type.get(type_key, 0) + 1
        dx_key_h = (claim.hospital_id, memo.dx, claim.claim_type)
        self.hospital_dx[dx_key_h] = self.hospital_dx.get(dx_key_h, 0) + 1
        peer_key = (claim.hospital_level, memo.dx, claim.claim_type)
        self.peer_dx[peer_key] = self.peer_dx.get(peer_key, 0) + 1
        peer_type = (claim.hospital_level, claim.claim_type)
        self.peer_type[peer_type] = self.peer_type.get(peer_type, 0) + 1
        code_key = (hospital, claim.diagnosis, claim.claim_type)
        self.hospital_dx_code[code_key] = self.hospital_dx_code.get(code_key, 0) + 1
        peer_code = (claim.hospital_level, claim.diagnosis, claim.claim_type)
        self.peer_dx_code[peer_code] = self.peer_dx_code.get(peer_code, 0) + 1
        self.dx_template.setdefault(dx_key, Moments()).add(1.0 if memo.other_patient else 0.0)
        if memo.other_patient:
            self.hospital_dx_template[dx_key_h] = self.hospital_dx_template.get(dx_key_h, 0) + 1
        inpatient = claim.claim_type == "inpatient"
        level = claim.hospital_level
        keys: tuple[tuple[object, ...], ...] = (
            (level, memo.dx, claim.claim_type),
            (level, claim.claim_type),
            (claim.claim_type,),
        )
        for key in keys:
            stats = self.peers.get(key)
            if stats is None:
                stats = self.peers[key] = PeerStats()
            stats.log_cost.add(memo.log_cost)
            stats.log_los.add(memo.log_los)
            stats.log_items.add(memo.log_items)
            stats.a_share.add(memo.share_a)
            stats.identical.add(1.0 if memo.identical else 0.0)
            stats.c_share.add(memo.share_c)

        age = claim.age_years
        self.age_all.add(age)
        self.age_by_dx.setdefault(memo.dx, Moments()).add(age)

        episodes = self.persons.setdefault(claim.person_key, [])
        episodes.append(
            _Episode(
                claim.admission,
                claim.discharge,
                memo.dx,
                claim.hospital_id,
                inpatient,
                claim.total_fen,
            )
        )
        if len(episodes) > PERSON_HISTORY:
            del episodes[0]

        bill_key = (claim.hospital_id, claim.bill_hash)
        repeats, bill_person = self.bills.get(bill_key, (0, claim.person_key))
        if bill_person != claim.person_key:
            bill_person = ""  # several patients
        self.bills[bill_key] = (repeats + 1, bill_person)

        hosp = self.hospitals.get(claim.hospital_id)
        if hosp is None:
            hosp = self.hospitals[claim.hospital_id] = _Hospital(memo.week)
        hosp.n += 1
        hosp.log_cost_ratio += memo.log_cost_ratio
        hosp.a_diff += memo.a_diff
        hosp.c_diff += memo.c_diff
        hosp.price_dev += memo.price_dev
        hosp.qty_dev += memo.qty_dev
        hosp.ewma_fast += FAST * (memo.a_diff - hosp.ewma_fast)
        hosp.ewma_slow += SLOW * (memo.a_diff - hosp.ewma_slow)
        hosp.identical += memo.identical
        hosp.dup += memo.duplicate
        hosp.implausible += memo.implausible
        hosp.weeks[memo.week] = hosp.weeks.get(memo.week, 0) + 1
        hosp.first_week = min(hosp.first_week, memo.week)
        self.dip.learn(claim, memo.dx, memo.log_cost, memo.dip)
        if inpatient:
            dip_case = memo.dip
            hosp.dip_cmi += math.log(dip_case.group_vs_dx)
            hosp.dip_secondary += math.log(dip_case.secondary_vs_peer)
            hosp.dip_procedures += math.log(dip_case.procedures_vs_peer)
            hosp.dip_top += dip_case.top
            hosp.dip_ultra_low += dip_case.cost_ratio < ULTRA_LOW_RATIO
            hosp.dip_missing += dip_case.items_missing >= ITEMS_MISSING
            hosp.dip_mild += dip_case.outpatient_share
            hosp.inpatient += 1
            hosp.log_los_ratio += memo.log_los_ratio
            hosp.readmit += memo.readmit
            hosp.quick_readmit += memo.quick_readmit
            hosp.repeat_patients += memo.repeat_patient
            self.level_readmit.setdefault(level, Moments()).add(float(memo.readmit))
            self.level_quick_readmit.setdefault(level, Moments()).add(float(memo.quick_readmit))
            self.level_repeat.setdefault(level, Moments()).add(float(memo.repeat_patient))
            day_key = (hospital, claim.admission)
            self.admissions[day_key] = self.admissions.get(day_key, 0) + 1
        self.level_identical.setdefault((level, claim.claim_type), Moments()).add(
            float(memo.identical)
        )
        self.level_dup.setdefault(level, Moments()).add(float(memo.duplicate))
        self.level_implausible.setdefault(level, Moments()).add(float(memo.implausible))


class _CodeStats:
    """Log unit price and log quantity of one item code."""

    __slots__ = ("price", "quantity")

    def __init__(self) -> None:
        self.price = Moments()
        self.quantity = Moments()


@dataclass(frozen=True, slots=True)
class _Memo:
    """Values computed for a claim's features that the state then learns from."""

    dx: str
    log_cost: float
    log_cost_ratio: float
    log_los: float
    log_los_ratio: float
    log_items: float
    share_a: float
    a_diff: float
    share_c: float
    c_diff: float
    price_dev: float
    qty_dev: float
    quick_readmit: bool
    repeat_patient: bool
    other_patient: bool
    readmit: bool
    identical: bool
    duplicate: bool
    implausible: bool
    week: int
    dip: DipCase


def _volume_spike(hosp: _Hospital, week: int) -> float:
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


def sort_claims(claims: Iterable[ClaimFacts]) -> list[ClaimFacts]:
    """Claims in event order, the order the stream sees them."""
    return sorted(claims, key=lambda c: c.sort_key)


def batch_features(
    claims: Iterable[ClaimFacts], state: FeatureState | None = None
) -> list[Features]:
    """Fold :meth:`FeatureState.update_and_features` over the claims in event order.

    Args:
        claims: claims in any order; they are sorted by event time first.
        state: state to continue from (new when None); it is updated in place.

    Returns:
        One :class:`Features` per claim, in event order.
    """
    state = state if state is not None else FeatureState()
    return [state.update_and_features(c) for c in sort_claims(claims)]
