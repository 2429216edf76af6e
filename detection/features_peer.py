"""Peer features: a claim's cost, stay and bill shape against claims like it.

Peers share hospital level, diagnosis category and claim type (small groups
borrow from coarser ones, :mod:`detection.peers`); the hospital's own usual
cost and stay for the diagnosis are a second yardstick. The :class:`PeerCase`
this family computes first is the context the other families read.
"""

from __future__ import annotations

import math
from typing import Final

from detection.facts import ClaimFacts
from detection.feature_names import slot
from detection.knowledge import category
from detection.peers import PeerStats, shrunk_mean, shrunk_sd

_FAMILY: Final = "peer"
_IS_INPATIENT: Final = slot("is_inpatient", _FAMILY)
_IS_OUTPATIENT: Final = slot("is_outpatient", _FAMILY)
_IS_LTC: Final = slot("is_ltc", _FAMILY)
_HOSPITAL_LEVEL: Final = slot("hospital_level", _FAMILY)
_COST_VS_PEER_RATIO: Final = slot("cost_vs_peer_ratio", _FAMILY)
_COST_PEER_Z: Final = slot("cost_peer_z", _FAMILY)
_LOS_VS_PEER_RATIO: Final = slot("los_vs_peer_ratio", _FAMILY)
_ITEMS_VS_PEER_RATIO: Final = slot("items_vs_peer_ratio", _FAMILY)
_SHARE_A: Final = slot("share_a", _FAMILY)
_SHARE_C: Final = slot("share_c", _FAMILY)
_A_SHARE_VS_PEER: Final = slot("a_share_vs_peer", _FAMILY)
_BILL_LINES: Final = slot("bill_lines", _FAMILY)
_COST_VS_OWN_HOSPITAL: Final = slot("cost_vs_own_hospital", _FAMILY)
_LOS_VS_OWN_HOSPITAL: Final = slot("los_vs_own_hospital", _FAMILY)


class PeerCase:
    """What the peer family found for one claim; the other families read it too.

    A plain class, not a dataclass: compiled, its constructor stays native (a
    dataclass's generated ``__init__`` runs interpreted, once per claim).
    """

    def __init__(
        self,
        *,
        dx: str,
        inpatient: bool,
        chain: list[PeerStats | None],
        log_cost: float,
        peer_log_cost: float,
        log_los: float,
        peer_log_los: float,
        log_items: float,
        share_a: float,
        a_diff: float,
        share_c: float,
        c_diff: float,
    ) -> None:
        self.dx = dx  # the diagnosis' 3-character category
        self.inpatient = inpatient
        self.chain = chain  # level + category + type, level + type, type
        self.log_cost = log_cost
        self.peer_log_cost = peer_log_cost
        self.log_los = log_los
        self.peer_log_los = peer_log_los
        self.log_items = log_items
        self.share_a = share_a
        self.a_diff = a_diff  # share of category A against the peers'
        self.share_c = share_c
        self.c_diff = c_diff


class PeerFeatures:
    """Peer groups' and hospitals' own running statistics of cost, stay and bill shape."""

    def __init__(self) -> None:
        # (level, category, type), (level, type) or (type,) -> statistics
        self.peers: dict[tuple[object, ...], PeerStats] = {}
        self.hospital_cases: dict[tuple[str, str, str], PeerStats] = {}  # (hospital, dx, type)

    def chain(self, claim: ClaimFacts, dx: str) -> list[PeerStats | None]:
        """The claim's peer groups, finest first."""
        get = self.peers.get
        return [
            get((claim.hospital_level, dx, claim.claim_type)),
            get((claim.hospital_level, claim.claim_type)),
            get((claim.claim_type,)),
        ]

    def compute(self, claim: ClaimFacts, row: list[float]) -> PeerCase:
        """Write the family's features into ``row``; return the claim's peer context."""
        dx = category(claim.diagnosis)
        inpatient = claim.claim_type == "inpatient"
        chain = self.chain(claim, dx)
        cost_chain = [p.log_cost if p else None for p in chain]
        total = max(claim.total_fen, 1)
        log_cost = math.log(total)
        peer_log_cost = shrunk_mean(cost_chain, log_cost)
        peer_sd = shrunk_sd(cost_chain, 1.0, 0.05)
        log_los = math.log1p(claim.length_of_stay)
        peer_log_los = shrunk_mean([p.log_los if p else None for p in chain], log_los)
        log_items = math.log(max(claim.n_items, 1))
        peer_items = shrunk_mean([p.log_items if p else None for p in chain], log_items)
        share_a = claim.a_fen / total
        share_c = claim.c_fen / total
        peer_a = shrunk_mean([p.a_share if p else None for p in chain], share_a)
        a_diff = share_a - peer_a
        own = self.hospital_cases.get((claim.hospital_id, dx, claim.claim_type))
        own_cost = shrunk_mean([own.log_cost if own else None], peer_log_cost)
        own_los = shrunk_mean([own.log_los if own else None], peer_log_los)

        row[_IS_INPATIENT] = 1.0 if inpatient else 0.0
        row[_IS_OUTPATIENT] = 1.0 if claim.claim_type == "outpatient" else 0.0
        row[_IS_LTC] = 1.0 if claim.claim_type == "ltc" else 0.0
        row[_HOSPITAL_LEVEL] = float(claim.hospital_level)
        row[_COST_VS_PEER_RATIO] = math.exp(log_cost - peer_log_cost)
        row[_COST_PEER_Z] = (log_cost - peer_log_cost) / peer_sd
        row[_LOS_VS_PEER_RATIO] = math.exp(log_los - peer_log_los)
        row[_ITEMS_VS_PEER_RATIO] = math.exp(log_items - peer_items)
        row[_SHARE_A] = share_a
        row[_SHARE_C] = share_c
        row[_A_SHARE_VS_PEER] = a_diff
        row[_BILL_LINES] = float(claim.n_items)
        row[_COST_VS_OWN_HOSPITAL] = math.exp(log_cost - own_cost)
        row[_LOS_VS_OWN_HOSPITAL] = math.exp(log_los - own_los)
        return PeerCase(
            dx=dx,
            inpatient=inpatient,
            chain=chain,
            log_cost=log_cost,
            peer_log_cost=peer_log_cost,
            log_los=log_los,
            peer_log_los=peer_log_los,
            log_items=log_items,
            share_a=share_a,
            a_diff=a_diff,
            share_c=share_c,
            c_diff=share_c - shrunk_mean([p.c_share if p else None for p in chain], share_c),
        )

    def learn(self, claim: ClaimFacts, case: PeerCase, identical: bool) -> None:
        """Remember the claim; ``identical``: its bill repeats an earlier one (the bills family)."""
        case_key = (claim.hospital_id, case.dx, claim.claim_type)
        own = self.hospital_cases.get(case_key)
        if own is None:
            own = self.hospital_cases[case_key] = PeerStats()
        own.log_cost.add(case.log_cost)
        own.log_los.add(case.log_los)
        level = claim.hospital_level
        keys: tuple[tuple[object, ...], ...] = (
            (level, case.dx, claim.claim_type),
            (level, claim.claim_type),
            (claim.claim_type,),
        )
        for key in keys:
            stats = self.peers.get(key)
            if stats is None:
                stats = self.peers[key] = PeerStats()
            stats.log_cost.add(case.log_cost)
            stats.log_los.add(case.log_los)
            stats.log_items.add(case.log_items)
            stats.a_share.add(case.share_a)
            stats.identical.add(1.0 if identical else 0.0)
            stats.c_share.add(case.share_c)
