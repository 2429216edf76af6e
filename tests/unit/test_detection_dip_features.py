"""DIP features: hand-made cases of high coding and ultra-low admissions, and the
stream = batch, causality and pickling guarantees on simulated stays with DIP fields."""

from __future__ import annotations

import json
import pickle

import pytest

from detection.facts import ClaimFacts, facts_from_claim
from detection.features import FeatureState, batch_features
from detection.reasons import feature_text
from detection.rules import evaluate_rules
from settlement.claim import parse_claim
from settlement.idnumber import check_character
from settlement.jsonio import decode_claim
from settlement.policy_loader import load_policy_dir
from simulator.config import SimConfig
from simulator.generate import simulate

BOOK = load_policy_dir(None)


def pid(born: str) -> str:
    first17 = f"441802{born}121"
    return first17 + check_character(first17)


def claim(
    cid: str,
    adm: str,
    dis: str,
    *,
    dx: str,
    person: str,
    items: list[dict],
    hospital: str = "H1",
    kind: str = "inpatient",
) -> dict:
    return {
        "claim_id": cid,
        "claim_type": kind,
        "submitted_at": f"{dis}T12:00:00+08:00",
        "patient": {"person_id": person, "scheme": "employee", "insured_region": "441800"},
        "hospital": {"hospital_id": hospital, "region": "441800", "level": 2},
        "admission_date": adm,
        "discharge_date": dis,
        "diagnosis": dx,
        "items": items,
    }


def facts(objs: list[dict]) -> list[ClaimFacts]:
    out = []
    for obj in objs:
        check = parse_claim(decode_claim(json.dumps(obj)), BOOK)
        assert check.claim is not None, check.issues
        out.append(facts_from_claim(check.claim))
    return out


PCI = [
    {"code": "BED", "category": "A", "amount": "400.00"},
    {"code": "PCI", "category": "A", "amount": "25000.00"},
    {"code": "STENT", "category": "B", "amount": "7000.00"},
]
CONSERVATIVE = [
    {"code": "BED", "category": "A", "amount": "400.00"},
    {"code": "DRUG", "category": "A", "amount": "3600.00"},
]


def stay(cid: str, day: int, items: list[dict], procedures: list[str], hospital: str) -> dict:
    c = claim(
        cid,
        f"2025-03-{day:02d}",
        f"2025-03-{day + 4:02d}",
        dx="I20.0",
        person=pid(f"1950{(day % 12) + 1:02d}{(len(cid) % 27) + 1:02d}"),
        items=items,
        hospital=hospital,
    )
    c["procedures"] = procedures
    c["diagnoses"] = []
    return c


def history() -> list[dict]:
    """Honest I20.0 stays at two hospitals: PCI with its items, or conservative care."""
    rows = []
    for i in range(60):
        hospital = "H1" if i % 2 else "H2"
        if i % 5 == 0:
            rows.append(stay(f"p{i}", 1 + i % 20, PCI, ["36.07", "00.66"], hospital=hospital))
        else:
            rows.append(stay(f"c{i}", 1 + i % 20, CONSERVATIVE, [], hospital=hospital))
    return rows


def test_a_procedure_coded_without_its_items_is_seen_and_explained() -> None:
    rows = history()
    rows.append(stay("phantom", 25, CONSERVATIVE, ["36.07"], hospital="H1"))
    rows.append(stay("real", 25, PCI, ["36.07", "00.66"], hospital="H1"))
    feats = {f.claim_id: f for f in batch_features(facts(rows))}
    phantom, real = feats["phantom"], feats["real"]
    assert phantom["procedure_items_missing"] >= 0.9
    assert real["procedure_items_missing"] == 0.0
    # Coded into the PCI group, it costs a fraction of that group's typical case.
    assert phantom["dip_group_vs_dx"] > 2.0
    assert phantom["dip_cost_ratio"] < 0.3
    assert 0.8 < real["dip_cost_ratio"] < 2.0  # the group has learnt the phantom case too
    text = feature_text("procedure_items_missing", phantom)
    assert text.startswith("procedure 36.07 coded, but an item billed with 100% of other cases")
    assert "I20.0+36.07" in feature_text("dip_cost_ratio", phantom)
    assert "ultra-low" in feature_text("dip_cost_ratio", phantom)
    assert "PROCEDURE_NOT_BILLED" in {h.code for h in evaluate_rules(phantom)}
    assert "PROCEDURE_NOT_BILLED" not in {h.code for h in evaluate_rules(real)}


def test_outpatient_conditions_admitted_and_hospital_rates() -> None:
    rows = [
        claim(
            f"v{i}",
            "2025-02-03",
            "2025-02-03",
            dx="J06.9",
            kind="outpatient",
            person=pid(f"1990{(i % 12) + 1:02d}05"),
            items=[{"code": "VISIT", "category": "A", "amount": "30.00"}],
        )
        for i in range(80)
    ]
    rows += history()
    # Other hospitals admit the odd severe cold for a few days.
    for i in range(10):
        c = claim(
            f"s{i}",
            "2025-03-10",
            "2025-03-14",
            dx="J06.9",
            hospital="H1",
            person=pid(f"1940{(i % 12) + 1:02d}11"),
            items=[{"code": "BED", "category": "A", "amount": "1500.00"}],
        )
        c["procedures"], c["diagnoses"] = [], []
        rows.append(c)
    # H3 admits colds for a day, cheaply.
    for i in range(12):
        c = claim(
            f"a{i}",
            f"2025-04-{i + 1:02d}",
            f"2025-04-{i + 2:02d}",
            dx="J06.9",
            hospital="H3",
            person=pid(f"1980{(i % 12) + 1:02d}11"),
            items=[{"code": "BED", "category": "A", "amount": "120.00"}],
        )
        c["procedures"], c["diagnoses"] = [], []
        rows.append(c)
    # Then an ordinary stay at H3, for a diagnosis admitted everywhere, at its usual cost.
    ordinary = claim(
        "ordinary",
        "2025-04-20",
        "2025-04-24",
        dx="I20.0",
        hospital="H3",
        person=pid("19550511"),
        items=CONSERVATIVE,
    )
    ordinary["procedures"], ordinary["diagnoses"] = [], []
    rows.append(ordinary)
    feats = batch_features(facts(rows))
    last = next(f for f in feats if f.claim_id == "a11")
    assert last["dx_outpatient_share"] > 0.6
    assert last["hosp_mild_admission_vs_peer"] > 1.5
    # H3's rates are for its cases that show what they count, not for this one.
    usual = feats[-1]
    assert usual.claim_id == "ordinary" and usual["dx_outpatient_share"] < 0.5
    assert usual["dip_cost_ratio"] > 0.5
    assert usual["hosp_mild_admission_vs_peer"] == 1.0
    assert usual["hosp_ultra_low_vs_peer"] == 1.0
    assert "OUTPATIENT_CASE_ADMITTED" in {h.code for h in evaluate_rules(last)}
    assert "outpatient visits, yet this patient was admitted" in feature_text(
        "dx_outpatient_share", last
    )
    # A visit gets the neutral DIP values.
    visit = next(f for f in feats if f.claim_id == "v5")
    assert visit["dip_cost_ratio"] == 1.0 and visit["dx_outpatient_share"] == 0.0


def test_secondary_diagnoses_against_peers() -> None:
    rows = history()
    padded = stay("padded", 26, CONSERVATIVE, [], hospital="H1")
    padded["diagnoses"] = ["I10", "E11.9", "E78.5", "N18.9", "I48.9"]
    rows.append(padded)
    f = batch_features(facts(rows))[-1]
    assert f["secondary_dx_count"] == 5.0
    assert f["secondary_dx_vs_peer"] > 4.0


@pytest.fixture(scope="module")
def simulated() -> list[ClaimFacts]:
    out = []
    for obj in simulate(SimConfig(seed=5, claims=4000)):
        check = parse_claim(decode_claim(json.dumps(obj)), BOOK)
        assert check.claim is not None
        out.append(facts_from_claim(check.claim))
    return sorted(out, key=lambda c: c.sort_key)


def test_simulated_stays_carry_dip_fields_into_the_facts(simulated: list[ClaimFacts]) -> None:
    stays = [c for c in simulated if c.claim_type == "inpatient"]
    assert any(c.procedures for c in stays) and any(c.diagnoses for c in stays)
    assert all(c.principal_procedure == (c.procedures[0] if c.procedures else "") for c in stays)


def test_dip_state_is_causal_and_survives_pickling(simulated: list[ClaimFacts]) -> None:
    full = batch_features(simulated)
    assert [f.values for f in batch_features(simulated[:1500])] == [f.values for f in full[:1500]]
    state = FeatureState()
    batch_features(simulated[:2000], state)
    restored = pickle.loads(pickle.dumps(state))
    assert [f.values for f in batch_features(simulated[2000:], restored)] == [
        f.values for f in full[2000:]
    ]
