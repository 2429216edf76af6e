"""Claim and hospital-behaviour features as one incremental state machine.

:class:`FeatureState` reads claims one at a time in event order (submission
instant, then discharge date, then claim id) and returns each claim's feature
vector computed from *past* claims only; then it learns from the claim. Batch
training and scoring fold the same function over the sorted claims
(:func:`batch_features`), so the stream, batch scoring and training see
identical values. Identifiers are only keys of the state, never features.

The features come in families, one module each, every family with its own
state: peer cost and stay (:mod:`detection.features_peer`), case mix
(:mod:`detection.features_casemix`), the patient's history and age
(:mod:`detection.features_person`), repeated and template bills
(:mod:`detection.features_bills`), line prices (:mod:`detection.features_lines`),
hospital rates (:mod:`detection.features_hospital`), DIP coding
(:mod:`detection.dip_features`) and the hospital's period means of the
claim-level features (:mod:`detection.features_period`; over a whole review
period in batch, :func:`whole_period`). Each writes its values into the vector by
name (:mod:`detection.feature_names`, checked below when this module loads).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from detection.dip_features import DipCase, DipState
from detection.facts import ClaimFacts
from detection.feature_names import FEATURE_INDEX, FEATURE_NAMES, FEATURE_VERSION, check_claims
from detection.features_bills import BillCase, BillFeatures
from detection.features_casemix import CaseMixFeatures
from detection.features_hospital import HospitalFeatures
from detection.features_lines import LineCase, LineFeatures
from detection.features_peer import PeerCase, PeerFeatures
from detection.features_period import PeriodFeatures, mean_slots
from detection.features_person import (
    FEATURE_READMISSION_WINDOW_DAYS,
    NO_EVENT_DAYS,
    PersonCase,
    PersonFeatures,
)

__all__ = [
    "FEATURE_INDEX",
    "FEATURE_NAMES",
    "FEATURE_READMISSION_WINDOW_DAYS",
    "FEATURE_VERSION",
    "NO_EVENT_DAYS",
    "FeatureState",
    "Features",
    "batch_features",
    "sort_claims",
    "whole_period",
]

# Every name in FEATURE_NAMES is computed by exactly one of the families imported above.
check_claims()

_N_FEATURES: Final = len(FEATURE_NAMES)


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


class _Memo:
    """What each family found for a claim, which the families then learn from."""

    def __init__(
        self,
        *,
        peer: PeerCase,
        person: PersonCase,
        bill: BillCase,
        lines: LineCase,
        dip: DipCase,
        period: list[float],
    ) -> None:
        self.period = period
        self.peer = peer
        self.person = person
        self.bill = bill
        self.lines = lines
        self.dip = dip


class FeatureState:
    """Everything the features remember about past claims, one object per family.

    Plain dicts and small objects: it can be pickled, and a stream keeps one
    per feature partition. Memory grows with persons, hospitals, peer groups
    and distinct bills.
    """

    def __init__(self) -> None:
        self.peer = PeerFeatures()
        self.casemix = CaseMixFeatures()
        self.person = PersonFeatures()
        self.bills = BillFeatures()
        self.lines = LineFeatures()
        self.hospital = HospitalFeatures()
        self.dip = DipState()
        self.period = PeriodFeatures()
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

    def _compute(self, claim: ClaimFacts) -> tuple[Features, _Memo]:
        # Every family fills its own slots; NaN would mark a slot left unfilled.
        row = [math.nan] * _N_FEATURES
        peer = self.peer.compute(claim, row)
        dx = peer.dx
        hospital_dx_claims = self.casemix.compute(claim, dx, row)
        person = self.person.compute(claim, dx, peer.inpatient, row)
        bill = self.bills.compute(claim, dx, peer.chain, hospital_dx_claims, row)
        lines = self.lines.compute(claim, dx, row)
        self.hospital.compute(claim, peer.inpatient, row)
        dip = self.dip.compute(claim, dx, peer.log_cost, peer.chain, row)
        period = self.period.compute(claim, row)  # last: it averages the others
        features = Features(
            claim_id=claim.claim_id,
            values=tuple(row),
            level=claim.hospital_level,
            diagnosis=claim.diagnosis,
            claim_type=claim.claim_type,
            peer_cost_fen=math.exp(peer.peer_log_cost),
            peer_los_days=math.expm1(peer.peer_log_los),
            implausible=person.implausible,
            principal_procedure=claim.principal_procedure,
            dip_group_cost_fen=math.exp(dip.group_log_cost) if peer.inpatient else 0.0,
        )
        memo = _Memo(peer=peer, person=person, bill=bill, lines=lines, dip=dip, period=period)
        return features, memo

    def _learn(self, claim: ClaimFacts, memo: _Memo) -> None:
        self.claims_seen += 1
        dx = memo.peer.dx
        self.peer.learn(claim, memo.peer, memo.bill.identical)
        self.casemix.learn(claim, dx)
        self.person.learn(claim, dx, memo.peer.inpatient)
        self.bills.learn(claim, dx, memo.bill)
        self.lines.learn(claim, dx, memo.lines)
        self.hospital.learn(claim, memo.peer, memo.person, memo.bill, memo.lines)
        self.dip.learn(claim, dx, memo.peer.log_cost, memo.dip)
        self.period.learn(claim, memo.period)


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


def whole_period(
    claims: Sequence[ClaimFacts], features: Sequence[Features], state: FeatureState
) -> list[Features]:
    """The features of a review period: each claim's period means over the whole period.

    Args:
        claims: the period's claims, in the order of ``features``.
        features: their features from the fold (period means so far).
        state: the state that folded them (its means include every claim learned).

    Returns:
        The features with each ``period_*`` value replaced by the hospital's mean
        over every claim ``state`` has learned, as in :mod:`detection.features_period`.
    """
    means = state.period.means()
    slots = mean_slots()
    out = []
    for claim, feat in zip(claims, features, strict=True):
        found = means.get(claim.hospital_id)
        if found is None:  # not learned (peek_features): keep the fold's value
            out.append(feat)
            continue
        values = list(feat.values)
        for k, at in enumerate(slots):
            values[at] = found[k]
        out.append(dataclasses.replace(feat, values=tuple(values)))
    return out
