"""Red flags fire on hand-made cases and say why in plain words."""

from __future__ import annotations

import json

from detection.facts import ClaimFacts, facts_from_claim
from detection.features import batch_features
from detection.rules import RULES, evaluate_rules, rules_score
from settlement.claim import parse_claim
from settlement.idnumber import check_character
from settlement.jsonio import decode_claim
from settlement.policy_loader import load_policy_dir

BOOK = load_policy_dir(None)


def pid(born: str = "19600101", male: bool = True) -> str:
    first17 = f"441802{born}12{1 if male else 2}"
    return first17 + check_character(first17)


def claim(
    cid: str,
    adm: str,
    dis: str,
    *,
    dx: str = "J18.9",
    person: str | None = None,
    hospital: str = "H1",
    items: list[dict] | None = None,
    kind: str = "inpatient",
) -> dict:
    return {
        "claim_id": cid,
        "claim_type": kind,
        "submitted_at": f"{dis}T12:00:00+08:00",
        "patient": {"person_id": person or pid(), "scheme": "employee", "insured_region": "441800"},
        "hospital": {"hospital_id": hospital, "region": "441800", "level": 2},
        "admission_date": adm,
        "discharge_date": dis,
        "diagnosis": dx,
        "items": items or [{"code": "X1", "category": "A", "amount": "1000.00"}],
    }


def facts(objs: list[dict]) -> list[ClaimFacts]:
    out = []
    for obj in objs:
        check = parse_claim(decode_claim(json.dumps(obj)), BOOK)
        assert check.claim is not None, check.issues
        out.append(facts_from_claim(check.claim))
    return out


def test_readmission_same_diagnosis_reason() -> None:
    feats = batch_features(
        facts(
            [
                claim("a", "2025-03-01", "2025-03-05"),
                claim("b", "2025-03-06", "2025-03-09"),
            ]
        )
    )
    hits = {h.code: h.reason for h in evaluate_rules(feats[1])}
    assert hits["READMIT_SAME_DX"] == "re-admitted 1 day after discharge, same diagnosis"
    assert "READMIT_SAME_DX" not in {h.code for h in evaluate_rules(feats[0])}


def test_duplicate_bill() -> None:
    first = claim("a", "2025-03-01", "2025-03-05")
    second = {**first, "claim_id": "b", "submitted_at": "2025-03-06T09:00:00+08:00"}
    feats = batch_features(facts([first, second]))
    assert [h.code for h in evaluate_rules(feats[1])][:1] == ["DUPLICATE_BILL"]
    assert evaluate_rules(feats[0]) == []


def test_implausible_diagnosis_for_sex() -> None:
    feats = batch_features(facts([claim("a", "2025-03-01", "2025-03-03", dx="O80")]))
    hits = {h.code: h.reason for h in evaluate_rules(feats[0])}
    assert "pregnancy and childbirth for a man" in hits["IMPLAUSIBLE_DIAGNOSIS"]


def test_cost_outlier_against_peers() -> None:
    rows = [
        claim(f"c{i}", "2025-02-01", "2025-02-05", person=pid(f"1970{(i % 12) + 1:02d}10"))
        for i in range(30)
    ]
    rows.append(
        claim(
            "big",
            "2025-03-01",
            "2025-03-05",
            person=pid("19500505"),
            items=[{"code": "X1", "category": "A", "amount": "5000.00"}],
        )
    )
    feats = batch_features(facts(rows))
    hits = {h.code: h.reason for h in evaluate_rules(feats[-1])}
    assert hits["COST_OUTLIER"].startswith("total cost 4.")
    assert "level-2 hospitals for J18.9" in hits["COST_OUTLIER"]


def test_rules_score_in_unit_interval() -> None:
    assert all(0 < r.weight < 1 for r in RULES)
    feats = batch_features(facts([claim("a", "2025-03-01", "2025-03-05")]))
    assert rules_score(feats[0]) == 0.0


def test_every_feature_has_a_text_and_a_label() -> None:
    from detection.features import FEATURE_NAMES
    from detection.reasons import FEATURE_LABELS, feature_text

    feats = batch_features(facts([claim("a", "2025-03-01", "2025-03-05")]))
    assert set(FEATURE_LABELS) == set(FEATURE_NAMES)
    for name in FEATURE_NAMES:
        assert feature_text(name, feats[0])
