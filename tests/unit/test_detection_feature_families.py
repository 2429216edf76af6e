"""Feature families: every name is computed by exactly one family, and perturbing one
input of a claim changes exactly the named features that read it.

Each perturbation lists, by name, the features expected to move; a value written
into another feature's slot, or a family reading an input it should not, shows
up as a difference between the sets.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from detection.facts import ClaimFacts, facts_from_claim
from detection.feature_names import (
    CLAIM_FEATURE_NAMES,
    FEATURE_NAMES,
    PERIOD_BASES,
    PERIOD_NAMES,
    PERIOD_PREFIX,
    claimed_by,
)
from detection.features import FeatureState, batch_features, sort_claims
from settlement.claim import parse_claim
from settlement.jsonio import decode_claim
from settlement.policy_loader import load_policy_dir
from tests.claimgen import generate

BOOK = load_policy_dir(None)
DETECTION = Path(__file__).resolve().parents[2] / "detection"


def to_facts(obj: dict) -> ClaimFacts:
    check = parse_claim(decode_claim(json.dumps(obj)), BOOK)
    assert check.claim is not None, check.issues
    return facts_from_claim(check.claim)


def test_every_feature_is_computed_by_exactly_one_family() -> None:
    claims = claimed_by()
    assert set(claims) == set(FEATURE_NAMES)
    assert {name: fams for name, fams in claims.items() if len(fams) != 1} == {}


def test_slot_constants_are_named_after_their_feature() -> None:
    # `_COST_VS_PEER_RATIO: Final = slot("cost_vs_peer_ratio", ...)`: the constant a family
    # writes through says which feature it is, so a slot cannot quietly point elsewhere.
    pattern = re.compile(r'^(_[A-Z0-9_]+): Final = slot\("([a-z0-9_]+)", _FAMILY\)$', re.M)
    seen = []
    for path in sorted(DETECTION.glob("*.py")):
        for constant, name in pattern.findall(path.read_text(encoding="utf-8")):
            assert constant == "_" + name.upper(), (path.name, constant, name)
            seen.append(name)
    assert sorted(seen) == sorted(CLAIM_FEATURE_NAMES)
    # The period means are claimed in one loop, one per averaged claim feature.
    period = [name for name, fams in claimed_by().items() if fams == ["period"]]
    assert sorted(period) == sorted(PERIOD_NAMES)
    assert [n for n in FEATURE_NAMES if n not in CLAIM_FEATURE_NAMES] == list(PERIOD_NAMES)


class World:
    """A history of claims, and a new in-patient stay of a patient seen before."""

    def __init__(self) -> None:
        history = generate(seed=11, claims=1500, hospitals=25, fraud_hospitals=6)
        facts = sort_claims(to_facts(c) for c in history)
        by_id = {c["claim_id"]: c for c in history}
        # the latest honest stay with lines of all three categories at a hospital without fraud
        prev = next(
            by_id[f.claim_id]
            for f in reversed(facts)
            if f.claim_type == "inpatient"
            and f.a_fen > 0
            and f.b_fen > 0
            and f.c_fen > 0
            and int(f.hospital_id.rsplit("-", 1)[1]) >= 6
        )
        self.state = FeatureState()
        batch_features(facts, self.state)
        # The same patient, hospital and diagnosis, back 20 days after discharge; one line
        # dearer by 1 yuan so that the bill repeats none before it.
        stay = to_facts(prev)
        target = copy.deepcopy(prev)
        target["claim_id"] = "TARGET"
        target["admission_date"] = _day(stay.discharge + 20)
        target["discharge_date"] = _day(stay.discharge + 20 + stay.length_of_stay)
        target["submitted_at"] = "2026-06-01T09:00:00+08:00"
        _add_yuan(target["items"][0], 1)
        self.claim = target
        # a bill at the same hospital from another patient
        self.other_bill = next(
            f.bill_hash
            for f in facts
            if f.hospital_id == stay.hospital_id and f.person_key != stay.person_key
        )

    def features(self, claim: ClaimFacts) -> dict[str, float]:
        values = self.state.peek_features(claim).as_dict()
        assert not any(math.isnan(v) for v in values.values())
        return values


def _day(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def _add_yuan(item: dict, yuan: int) -> None:
    fen = round(float(item["amount"]) * 100) + 100 * yuan
    item["amount"] = f"{fen // 100}.{fen % 100:02d}"


def _times(item: dict, factor: int) -> None:
    fen = round(float(item["amount"]) * 100) * factor
    item["amount"] = f"{fen // 100}.{fen % 100:02d}"


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def _edit(change: Callable[[dict], None]) -> Callable[[World], ClaimFacts]:
    """A perturbation of the claim's JSON (then reduced to facts again)."""

    def make(world: World) -> ClaimFacts:
        claim = copy.deepcopy(world.claim)
        change(claim)
        return to_facts(claim)

    return make


def _price_of_a_b_line(claim: dict) -> None:
    _times(next(i for i in claim["items"] if i["category"] == "B"), 3)


def _admitted_two_days_earlier(claim: dict) -> None:
    facts = to_facts(claim)
    claim["admission_date"] = _day(facts.admission - 2)


def _level(claim: dict) -> None:
    assert claim["hospital"]["level"] == 2
    claim["hospital"]["level"] = 1


def _diagnosis_code(claim: dict) -> None:
    claim["diagnosis"] = claim["diagnosis"][:3] + ".8"  # another code, same category


def _older(world: World) -> ClaimFacts:
    facts = to_facts(world.claim)
    return dataclasses.replace(facts, birth_ordinal=facts.birth_ordinal - 3653)


def _another_patients_bill(world: World) -> ClaimFacts:
    # the facts of a bill that repeats, line for line, another patient's earlier bill
    return dataclasses.replace(to_facts(world.claim), bill_hash=world.other_bill)


PEER_LEVEL = {
    "hospital_level",
    "cost_vs_peer_ratio",
    "cost_peer_z",
    "los_vs_peer_ratio",
    "items_vs_peer_ratio",
    "a_share_vs_peer",
    "cost_vs_own_hospital",
    "los_vs_own_hospital",
}
PERTURBATIONS: dict[str, tuple[Callable[[World], ClaimFacts], set[str]]] = {
    # peer cost and shares, line prices, the DIP cost ratio
    "one line's price x3": (
        _edit(_price_of_a_b_line),
        {
            "cost_vs_peer_ratio",
            "cost_peer_z",
            "share_a",
            "share_c",
            "a_share_vs_peer",
            "cost_vs_own_hospital",
            "price_vs_code_max",
            "price_vs_code_mean",
            "price_vs_own_hospital_max",
            "items_unusual_for_dx",  # an amount-weighted share: the line weighs more
            "dip_cost_ratio",
            # the claim's own cost is the prior atop the diagnosis' cost chain
            "dip_group_vs_dx",
            # not quantity_vs_code: every line of this world has quantity 1
        },
    ),
    # length of stay, age at admission, re-admission gaps, admissions that day
    "admitted 2 days earlier": (
        _edit(_admitted_two_days_earlier),
        {
            "los_vs_peer_ratio",
            "los_vs_own_hospital",
            "age_years",
            "age_dx_z",
            "readmit_gap_days",
            "readmit_same_dx_gap_days",
            "readmit_same_hospital_gap_days",
            "same_day_admissions_vs_usual",
        },
    ),
    # the person family's age against the diagnosis, nothing else
    "patient 10 years older": (_older, {"age_years", "age_dx_z"}),
    # bills: a template (another patient's bill, item for item)
    "bill of another patient": (
        _another_patients_bill,
        {"identical_bill", "identical_bill_share", "identical_other_patient"},
    ),
    # case mix by exact code and the DIP group, which is keyed by the exact code; the
    # hospital's DIP rates are given to a case that shows what they count, so the
    # code's group and visit share also decide which of them the claim gets
    "another code of the category": (
        _edit(_diagnosis_code),
        {"dx_code_share_vs_peer", "dip_cost_ratio", "dip_group_vs_dx", "dx_outpatient_share"}
        | {"hosp_cmi_vs_peer", "hosp_mild_admission_vs_peer"},
    ),
    # every comparison with the hospital's level: peers, case mix, hospital rates, prices, DIP
    "hospital level": (
        _edit(_level),
        PEER_LEVEL
        | {"identical_bill_peer_rate", "dx_share_vs_peer", "dx_code_share_vs_peer"}
        | {
            "hosp_readmit_vs_peer",
            "hosp_identical_vs_peer",
            "hosp_duplicate_rate",
            # not hosp_implausible_rate: no level of this world has an implausible claim
            "hosp_quick_readmit_vs_peer",
            "hosp_repeat_patients_vs_peer",
        }
        | {"price_vs_code_max", "price_vs_code_mean"}
        | {"price_vs_own_hospital_max"}
        | {"dip_cost_ratio", "dip_group_vs_dx"},
        # not the hospital's DIP rates: this stay shows none of the coding they count,
        # so it gets the neutral 1 at either level
    ),
}


@pytest.mark.parametrize("perturbation", sorted(PERTURBATIONS))
def test_a_perturbation_changes_exactly_the_features_that_read_it(
    world: World, perturbation: str
) -> None:
    make, expected = PERTURBATIONS[perturbation]
    # A claim's period means count the claim itself: each moved base moves its mean.
    expected = expected | {PERIOD_PREFIX + n for n in expected if n in PERIOD_BASES}
    base = world.features(to_facts(world.claim))
    changed = world.features(make(world))
    moved = {name for name in FEATURE_NAMES if changed[name] != base[name]}
    assert moved == expected, (
        f"unexpectedly changed: {sorted(moved - expected)}; "
        f"unexpectedly unchanged: {sorted(expected - moved)}"
    )


def test_a_code_billed_on_several_lines_is_learned_once_per_line(world: World) -> None:
    """The line family updates the statistics its computation found; a code not seen
    before is made by the bill's first line and must then take the others too."""
    base = to_facts(world.claim)
    code = "YB-NEW-CODE-1"
    lines = ((code, 1_000, 1), (code, 3_000, 2), (base.lines[0][0], 500, 1), (code, 2_000, 1))
    claim = dataclasses.replace(base, claim_id="REPEATED-CODE", lines=lines, bill_hash="x")
    state = copy.deepcopy(world.state)
    family = state.lines
    known = base.lines[0][0]
    before = family.codes[known].price.n
    state.update_and_features(claim)
    prices = [math.log(1_000), math.log(1_500), math.log(2_000)]
    own = family.hospital_codes[(claim.hospital_id, code)]
    assert own.n == 3 and own.mean == pytest.approx(sum(prices) / 3)
    assert family.codes[code].price.n == family.codes[code].quantity.n == 3
    assert family.codes_by_level[(code, claim.hospital_level)].price.n == 3
    assert sum(m.n for (c, _), m in family.codes_by_dx.items() if c == code) == 3
    assert family.codes[known].price.n == before + 1  # a code seen before: found, updated
