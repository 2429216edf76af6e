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
)
FEATURE_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}
# Bumped whenever a feature's meaning changes; stored with every model.
FEATURE_VERSION = "3"

NO_EVENT_DAYS = 999.0  # "never": larger than any window the features look at
READMIT_DAYS = 15
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
        "readmit",
        "weeks",
    )

    def __init__(self, week: int) -> None:
        self.n = 0
        self.inpatient = 0
        self.log_cost_ratio = 0.0
        self.log_los_ratio = 0.0
        self.readmit = 0
        self.identical = 0
        self.dup = 0
        self.implausible = 0
        self.a_diff = 0.0
        self.ewma_fast = 0.0
        self.ewma_slow = 0.0
        self.first_week = week
        self.weeks: dict[int, int] = {}


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
        self.bills: dict[tuple[str, str], int] = {}
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
                elif ep.admission < claim.discharge:
                    overlaps += 1

        bill_key = (claim.hospital_id, claim.bill_hash)
        repeats = self.bills.get(bill_key, 0)
        identical = 1.0 if repeats > 0 else 0.0
        identical_peer = shrunk_mean([p.identical if p else None for p in chain], 0.0)

        age = claim.age_years
        dx_age = self.age_by_dx.get(dx)
        age_mean = shrunk_mean([dx_age, self.age_all], age)
        age_sd = shrunk_sd([dx_age, self.age_all], 20.0, 2.0)
        age_z = (age - age_mean) / age_sd
        why_implausible = implausibility(claim.diagnosis, age, claim.sex)

        level = claim.hospital_level
        price_max, price_mean, qty_dev = self._price_deviation(claim)
        h_type = self.hospital_type.get((claim.hospital_id, claim.claim_type), 0)
        h_dx = self.hospital_dx.get((claim.hospital_id, dx, claim.claim_type), 0)
        p_dx = self.peer_dx.get((level, dx, claim.claim_type), 0)
        p_type = self.peer_type.get((level, claim.claim_type), 0)
        peer_share = (p_dx + 1.0) / (p_type + 20.0)
        dx_share = (h_dx + 10.0 * peer_share) / (h_type + 10.0) / peer_share
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
        if hosp is None or hosp.n == 0:
            h_cost = h_los = 1.0
            h_readmit = h_ident = 1.0
            h_dup, h_a, h_shift, h_spike, h_impl = p_dup, 0.0, 0.0, 1.0, p_impl
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
            readmit=readmit_gap <= READMIT_DAYS,
            identical=identical > 0,
            duplicate=duplicates > 0,
            implausible=why_implausible is not None,
            week=week,
        )
        return features, memo

    def _price_deviation(self, claim: ClaimFacts) -> tuple[float, float, float]:
        """Log unit price and quantity of each line against the same code elsewhere.

        Returns the largest price deviation and the amount-weighted mean price
        and quantity deviations (0 = typical; unseen codes count as typical).
        """
        level = claim.hospital_level
        worst = 0.0
        price_sum = qty_sum = weight = 0.0
        for code, amount, qty in claim.lines:
            log_price = math.log(max(amount, 1) / qty)
            log_qty = math.log(qty)
            fine = self.codes_by_level.get((code, level))
            coarse = self.codes.get(code)
            chain_p = [fine.price if fine else None, coarse.price if coarse else None]
            chain_q = [fine.quantity if fine else None, coarse.quantity if coarse else None]
            dev = log_price - shrunk_mean(chain_p, log_price)
            worst = max(worst, dev)
            w = float(max(amount, 1))
            price_sum += w * dev
            qty_sum += w * (log_qty - shrunk_mean(chain_q, log_qty))
            weight += w
        if weight == 0:
            return 0.0, 0.0, 0.0
        return worst, price_sum / weight, qty_sum / weight

    def _learn(self, claim: ClaimFacts, memo: _Memo) -> None:
        self.claims_seen += 1
        for code, amount, qty in claim.lines:
            log_price = math.log(max(amount, 1) / qty)
            log_qty = math.log(qty)
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
        dx_key = (claim.hospital_id, memo.dx, claim.claim_type)
        self.hospital_dx[dx_key] = self.hospital_dx.get(dx_key, 0) + 1
        peer_key = (claim.hospital_level, memo.dx, claim.claim_type)
        self.peer_dx[peer_key] = self.peer_dx.get(peer_key, 0) + 1
        peer_type = (claim.hospital_level, claim.claim_type)
        self.peer_type[peer_type] = self.peer_type.get(peer_type, 0) + 1
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
        self.bills[bill_key] = self.bills.get(bill_key, 0) + 1

        hosp = self.hospitals.get(claim.hospital_id)
        if hosp is None:
            hosp = self.hospitals[claim.hospital_id] = _Hospital(memo.week)
        hosp.n += 1
        hosp.log_cost_ratio += memo.log_cost_ratio
        hosp.a_diff += memo.a_diff
        hosp.ewma_fast += FAST * (memo.a_diff - hosp.ewma_fast)
        hosp.ewma_slow += SLOW * (memo.a_diff - hosp.ewma_slow)
        hosp.identical += memo.identical
        hosp.dup += memo.duplicate
        hosp.implausible += memo.implausible
        hosp.weeks[memo.week] = hosp.weeks.get(memo.week, 0) + 1
        hosp.first_week = min(hosp.first_week, memo.week)
        if inpatient:
            hosp.inpatient += 1
            hosp.log_los_ratio += memo.log_los_ratio
            hosp.readmit += memo.readmit
            self.level_readmit.setdefault(level, Moments()).add(float(memo.readmit))
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
    readmit: bool
    identical: bool
    duplicate: bool
    implausible: bool
    week: int


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
