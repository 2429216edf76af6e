"""Data-quality tests of simulated claims: schema, settlement, distributions, fraud labels.

One 50,000-claim simulation is shared by the module (a few seconds). Each
tolerance is stated next to its assertion; the targets are documented in
``docs/simulator.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import statistics
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from settlement.claim import parse_claim
from settlement.engine import Settler
from settlement.idnumber import identity_number_problem
from settlement.jsonio import decode_claim
from settlement.policy_loader import load_policy_dir
from simulator.config import FRAUD_SCHEMES, SimConfig
from simulator.dip_coding import OPERATION_CODES
from simulator.generate import simulate_lines
from simulator.regions import BAND_60_PLUS, REGIONS
from simulator.world import World, build_world

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "settlement" / "spec" / "claim.schema.json"
CONFIG = SimConfig(seed=7, claims=50_000)


def _total(claim: dict[str, Any]) -> float:
    return sum(float(i["amount"]) for i in claim["items"])


def _los(claim: dict[str, Any]) -> int:
    adm = dt.date.fromisoformat(claim["admission_date"])
    return (dt.date.fromisoformat(claim["discharge_date"]) - adm).days


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _format_checker() -> FormatChecker:
    """jsonschema's checker, with an RFC 3339 date-time check.

    jsonschema checks ``date-time`` only if the optional rfc3339-validator
    package is installed, and silently passes everything otherwise.
    """
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not _RFC3339.fullmatch(value):
            raise ValueError(f"{value!r} is not an RFC 3339 date-time")
        dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        return True

    return checker


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(CONFIG)


@pytest.fixture(scope="module")
def lines(world: World) -> list[str]:
    return list(simulate_lines(CONFIG, world=world))


@pytest.fixture(scope="module")
def claims(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def test_a_sample_validates_against_the_claim_schema(
    claims: list[dict[str, Any]], schema: dict[str, Any]
) -> None:
    validator = Draft202012Validator(schema, format_checker=_format_checker())
    sample = random.Random(1).sample(claims, 3000)
    # Make sure every claim type is in the sample.
    sample += [next(c for c in claims if c["claim_type"] == t) for t in ("ltc", "inpatient")]
    errors = [(c["claim_id"], e.message) for c in sample for e in validator.iter_errors(c)]
    assert errors == []
    # The format checker really checks dates and date-times.
    assert list(validator.iter_errors(dict(sample[0], admission_date="2026-02-30")))
    assert list(validator.iter_errors(dict(sample[0], submitted_at="2026-01-05T25:00:00+08:00")))
    assert list(validator.iter_errors(dict(sample[0], submitted_at="2026-01-05T10:00:00")))


def test_contract_rules_beyond_the_schema(claims: list[dict[str, Any]]) -> None:
    ids = set()
    last = ""
    for c in claims:
        assert c["claim_id"] not in ids
        ids.add(c["claim_id"])
        # Submission-time order (all times are +08:00, so text order is time order).
        assert c["submitted_at"] >= last
        last = c["submitted_at"]
        adm = dt.date.fromisoformat(c["admission_date"])
        assert identity_number_problem(c["patient"]["person_id"], adm) is None
        assert c["patient"]["person_id"][:2] == c["patient"]["insured_region"][:2]
        assert c["patient"]["person_id"][:4] == c["patient"]["insured_region"][:4]
        assert c["submitted_at"][:10] >= c["discharge_date"]
        if c["claim_type"] == "outpatient":
            assert c["admission_date"] == c["discharge_date"]
        elif c["claim_type"] == "ltc":
            assert c["hospital"]["region"] == c["patient"]["insured_region"]
            assert 1 <= c["ltc"]["days"] <= _los(c) + 1
        else:
            assert _los(c) >= 1
        assert (c["fraud_type"] is None) == (not c["is_fraud"])
        for item in c["items"]:
            whole, _, cents = item["amount"].partition(".")
            assert len(cents) == 2 and whole.isdigit()


def test_the_settlement_engine_settles_a_clean_simulation(lines: list[str]) -> None:
    settler = Settler(load_policy_dir(None))
    statuses = Counter(
        settler.settle_json(line, f"line:{i}")["status"] for i, line in enumerate(lines[:20_000], 1)
    )
    assert statuses["settled"] / 20_000 >= 0.99, statuses


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    config = SimConfig(seed=99, claims=3000, days=90)
    a = "".join(simulate_lines(config))
    b = "".join(simulate_lines(config))
    c = "".join(simulate_lines(SimConfig(seed=100, claims=3000, days=90)))
    assert a == b
    assert a != c


def test_age_structure_of_each_region(world: World) -> None:
    for code, pop in world.populations.items():
        shares = REGIONS[code].age_shares
        old = float((pop.band >= BAND_60_PLUS).mean())
        # Sampled share of persons aged 60+ within 1.5 points of the target.
        assert old == pytest.approx(sum(shares[BAND_60_PLUS:]), abs=0.015), code
        children = float((pop.band < 3).mean())
        assert children == pytest.approx(sum(shares[:3]), abs=0.015), code


def test_ageing_option_gives_over_30_percent_aged_60_plus() -> None:
    world = build_world(SimConfig(seed=7, claims=20_000, ageing=True))
    for pop in world.populations.values():
        assert float((pop.band >= BAND_60_PLUS).mean()) > 0.30


def test_qingyuan_scheme_mix_is_one_employee_to_seven_residents(world: World) -> None:
    pop = world.populations["441800"]
    ratio = float((~pop.employee).sum()) / float(pop.employee.sum())
    # 3.5 M residents / 0.5 M employees = 7, within +-1.
    assert 6.0 <= ratio <= 8.0, ratio


def test_claims_are_spread_over_regions_and_schemes(claims: list[dict[str, Any]]) -> None:
    regions = Counter(c["patient"]["insured_region"] for c in claims)
    assert set(regions) == set(CONFIG.regions)
    qy = [c for c in claims if c["patient"]["insured_region"] == "441800"]
    schemes = Counter(c["patient"]["scheme"] for c in qy)
    # Claim shares differ from person shares (residents are older and younger), but
    # residents must dominate Qingyuan's claims.
    assert schemes["resident"] > 4 * schemes["employee"]
    intercity = [c for c in claims if c["patient"]["insured_region"] != c["hospital"]["region"]]
    assert 0.01 < len(intercity) / len(claims) < 0.10
    registered = Counter(c["patient"]["intercity_registered"] for c in intercity)
    assert registered[True] > 0 and registered[False] > 0


def test_claim_type_mix(claims: list[dict[str, Any]]) -> None:
    types = Counter(c["claim_type"] for c in claims)
    n = len(claims)
    assert 0.60 < types["outpatient"] / n < 0.80
    assert 0.18 < types["inpatient"] / n < 0.35
    assert 0.01 < types["ltc"] / n < 0.04


def test_length_of_stay_and_cost_by_level(claims: list[dict[str, Any]]) -> None:
    stays = [c for c in claims if c["claim_type"] == "inpatient" and not c["is_fraud"]]
    by_level: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for c in stays:
        by_level[c["hospital"]["level"]].append(c)
    cost = {lv: statistics.mean(_total(c) for c in cs) for lv, cs in by_level.items()}
    los = {lv: statistics.mean(_los(c) for c in cs) for lv, cs in by_level.items()}
    # Level 3 costlier than level 2 than level 1, by at least 20% each step.
    assert cost[3] > 1.2 * cost[2] > 1.44 * cost[1]
    # Mean stays between 5 and 13 days at every level (China's average is about 9).
    assert all(5 <= v <= 13 for v in los.values()), los
    assert 7 <= statistics.mean(_los(c) for c in stays) <= 11
    visits = [_total(c) for c in claims if c["claim_type"] == "outpatient" and not c["is_fraud"]]
    assert 100 < statistics.mean(visits) < 600
    assert statistics.mean(_total(c) for c in stays) > 10 * statistics.mean(visits)


def test_fraud_share_overall_and_per_scheme(claims: list[dict[str, Any]]) -> None:
    n = len(claims)
    fraud = [c for c in claims if c["is_fraud"]]
    # Target 5% for the seven item-billing schemes plus 5% x 2/7 for the two
    # DIP schemes (6.4%), within +-1.5 points.
    assert 0.049 <= len(fraud) / n <= 0.079
    per_scheme = Counter(c["fraud_type"] for c in fraud)
    assert set(per_scheme) == set(FRAUD_SCHEMES)
    for scheme, k in per_scheme.items():
        # Each scheme gets an equal part (1/9 = 11%) of the fraud: 5.5% to 20%.
        assert 0.055 <= k / len(fraud) <= 0.20, (scheme, k)
        # ... which is the same share of all claims as before the DIP schemes: 0.7%.
        assert 0.004 <= k / n <= 0.012, (scheme, k)


def test_fraud_is_run_by_a_minority_of_hospitals_on_part_of_their_claims(
    claims: list[dict[str, Any]],
) -> None:
    per_hospital: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    schemes: dict[str, set[str]] = defaultdict(set)
    for c in claims:
        h = c["hospital"]["hospital_id"]
        per_hospital[h][0] += 1
        if c["is_fraud"]:
            per_hospital[h][1] += 1
            schemes[h].add(c["fraud_type"])
    fraudulent = {h: f / n for h, (n, f) in per_hospital.items() if f}
    assert sum(1 for share in fraudulent.values() if share >= 0.05) >= 10
    assert len(fraudulent) < 0.25 * len(per_hospital)
    # Part of their claims: every fraudulent hospital also bills honest claims.
    assert max(fraudulent.values()) < 0.9
    # One scheme per hospital.
    assert all(len(s) == 1 for s in schemes.values())
    # Each scheme is run by at least two hospitals.
    by_scheme = Counter(next(iter(s)) for s in schemes.values())
    assert min(by_scheme.values()) >= 2, by_scheme


def test_fraud_uses_no_codes_or_diagnoses_honest_claims_never_have(
    claims: list[dict[str, Any]],
) -> None:
    honest = [c for c in claims if not c["is_fraud"]]
    fraud = [c for c in claims if c["is_fraud"]]
    honest_codes = {(i["code"], i["category"]) for c in honest for i in c["items"]}
    honest_dx = {c["diagnosis"] for c in honest}
    assert {(i["code"], i["category"]) for c in fraud for i in c["items"]} <= honest_codes
    assert {c["diagnosis"] for c in fraud} <= honest_dx

    def round_share(cs: list[dict[str, Any]]) -> float:
        amounts = [i["amount"] for c in cs for i in c["items"]]
        return sum(a.endswith(".00") for a in amounts) / len(amounts)

    # No tell-tale round amounts: fraud's share of whole-yuan lines is not far above honest.
    assert round_share(fraud) < 1.5 * round_share(honest) + 0.05


def test_honest_look_alikes_exist(claims: list[dict[str, Any]]) -> None:
    honest = [c for c in claims if not c["is_fraud"]]
    # Legitimate quick re-admissions: same person and hospital, back within 2 days.
    stays: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for c in honest:
        if c["claim_type"] == "inpatient":
            stays[(c["patient"]["person_id"], c["hospital"]["hospital_id"])].append(c)
    quick = 0
    for cs in stays.values():
        cs.sort(key=lambda c: c["admission_date"])
        for a, b in pairwise(cs):
            gap = (
                dt.date.fromisoformat(b["admission_date"])
                - dt.date.fromisoformat(a["discharge_date"])
            ).days
            quick += 0 <= gap <= 2
    assert quick >= 5
    # Identical bills across different patients (standard packages, dialysis).
    bills: dict[str, set[str]] = defaultdict(set)
    for c in honest:
        key = c["hospital"]["hospital_id"] + json.dumps(c["items"], sort_keys=True)
        bills[key].add(c["patient"]["person_id"])
    assert sum(1 for persons in bills.values() if len(persons) >= 3) >= 10
    # Chronic frequent visitors: honest persons with 6+ claims.
    visits = Counter(c["patient"]["person_id"] for c in honest)
    assert sum(1 for k in visits.values() if k >= 6) >= 50


def test_teaching_hospitals_are_genuinely_costlier(
    claims: list[dict[str, Any]], world: World
) -> None:
    teaching = {h.hospital_id for h in world.network.hospitals if h.teaching}
    level3 = [
        c
        for c in claims
        if c["claim_type"] == "inpatient" and c["hospital"]["level"] == 3 and not c["is_fraud"]
    ]
    t = statistics.mean(_total(c) for c in level3 if c["hospital"]["hospital_id"] in teaching)
    o = statistics.mean(_total(c) for c in level3 if c["hospital"]["hospital_id"] not in teaching)
    assert t > 1.15 * o


def test_no_fraud_when_rate_is_zero() -> None:
    lines = list(simulate_lines(SimConfig(seed=3, claims=5000, fraud_rate=0.0)))
    assert not any('"is_fraud":true' in line for line in lines)
    # The DIP schemes' rate follows --fraud-rate unless given on its own.
    lines = list(
        simulate_lines(SimConfig(seed=3, claims=5000, fraud_rate=0.0, dip_fraud_rate=0.05))
    )
    types = Counter(json.loads(line)["fraud_type"] for line in lines)
    assert set(types) == {None, "high_coding", "low_threshold_admission"}, types


def test_labels_match_the_world_fraud_plan(claims: list[dict[str, Any]], world: World) -> None:
    plan = {
        world.network.hospitals[i].hospital_id: world.network.hospitals[i].scheme
        for i in world.fraud.hospitals
    }
    for c in claims:
        if c["is_fraud"]:
            assert plan[c["hospital"]["hospital_id"]] == c["fraud_type"]
    assert set(world.fraud.schemes(world.network)) == set(FRAUD_SCHEMES)


_PROCEDURE = re.compile(r"[0-9]{2}\.[0-9A-Za-z]{1,8}")


def _dip_fields_of_stays(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    stays = [c for c in claims if c["claim_type"] == "inpatient"]
    for c in claims:
        has = {"diagnoses", "procedures", "discharge_way"} & set(c)
        # Every stay, and only stays, states its DIP fields (dip.md section 1).
        assert bool(has) == (c["claim_type"] == "inpatient"), c["claim_id"]
    return stays


def test_stays_carry_dip_fields_within_the_contract(claims: list[dict[str, Any]]) -> None:
    stays = _dip_fields_of_stays(claims)
    for c in stays:
        assert c["diagnosis"] not in c["diagnoses"]
        assert len(set(c["diagnoses"])) == len(c["diagnoses"]) <= 15
        assert len(set(c["procedures"])) == len(c["procedures"]) <= 15
        assert all(_PROCEDURE.fullmatch(p) for p in c["procedures"])
        assert c["discharge_way"] in (1, 2, 3, 4, 5, 9)
    ways = Counter(c["discharge_way"] for c in stays)
    # Most patients leave on medical advice; every way occurs.
    assert ways[1] / len(stays) >= 0.85, ways
    assert set(ways) == {1, 2, 3, 4, 5, 9}, ways


def test_secondary_diagnoses_rise_with_age(claims: list[dict[str, Any]]) -> None:
    stays = _dip_fields_of_stays(claims)
    by_group: dict[int, list[int]] = defaultdict(list)
    for c in stays:
        born = int(c["patient"]["person_id"][6:10])
        age = int(c["admission_date"][:4]) - born
        by_group[0 if age < 18 else 1 if age < 60 else 2].append(len(c["diagnoses"]))
    means = [statistics.mean(by_group[g]) for g in (0, 1, 2)]
    assert means[0] < means[1] < means[2], means
    assert means[2] >= 1.0, means
    # Sicker patients cost more: honest stays of one diagnosis with 2+ comorbidities.
    honest = [c for c in stays if not c["is_fraud"] and c["diagnosis"] == "J18.9"]
    none = [_total(c) for c in honest if not c["diagnoses"]]
    many = [_total(c) for c in honest if len(c["diagnoses"]) >= 2]
    assert statistics.mean(many) > statistics.mean(none)


def test_honest_procedures_match_the_bill(claims: list[dict[str, Any]]) -> None:
    stays = [c for c in _dip_fields_of_stays(claims) if not c["is_fraud"]]
    item_of = {code: item for item, codes in OPERATION_CODES.items() for code in codes}
    item_of["81.52"], item_of["47.01"] = "331501001000000", "331003001000000"
    operated = 0
    for c in stays:
        billed = {i["code"] for i in c["items"]}
        for p in c["procedures"]:
            assert item_of[p] in billed, (c["claim_id"], p)
        operated += bool(c["procedures"])
    # Surgical and interventional stays are a sizeable minority.
    assert 0.15 <= operated / len(stays) <= 0.5, operated / len(stays)
    # Costs depend on the procedure: operated stays of a diagnosis cost more.
    pci = [_total(c) for c in stays if c["diagnosis"] == "I20.0" and "36.07" in c["procedures"]]
    conservative = [_total(c) for c in stays if c["diagnosis"] == "I20.0" and not c["procedures"]]
    assert statistics.mean(pci) > 1.5 * statistics.mean(conservative)


def test_dip_schemes_look_like_their_descriptions(claims: list[dict[str, Any]]) -> None:
    stays = _dip_fields_of_stays(claims)
    honest = [c for c in stays if not c["is_fraud"]]
    honest_procedures = {p for c in honest for p in c["procedures"]}
    honest_secondary = {d for c in honest for d in c["diagnoses"]}
    high = [c for c in stays if c["fraud_type"] == "high_coding"]
    low = [c for c in stays if c["fraud_type"] == "low_threshold_admission"]
    assert high and low
    # High coding uses only codes honest stays carry too.
    assert {p for c in high for p in c["procedures"]} <= honest_procedures
    assert {d for c in high for d in c["diagnoses"]} <= honest_secondary | {
        c["diagnosis"] for c in honest
    }

    # ... and codes more: more procedures or secondary diagnoses than honest stays.
    def codes(cs: list[dict[str, Any]]) -> float:
        return statistics.mean(len(c["procedures"]) + len(c["diagnoses"]) for c in cs)

    assert codes(high) > codes(honest)
    # Low-threshold admissions: short, cheap stays.
    assert statistics.mean(_los(c) for c in low) <= 3.0
    assert statistics.mean(_total(c) for c in low) < 0.5 * statistics.mean(
        _total(c) for c in honest
    )


def test_dip_schemes_write_valid_claims_at_a_high_rate() -> None:
    book = load_policy_dir(None)
    config = SimConfig(seed=11, claims=20_000, fraud_rate=0.0, dip_fraud_rate=0.3)
    kinds: Counter[str | None] = Counter()
    for line in simulate_lines(config):
        check = parse_claim(decode_claim(line), book)
        assert check.claim is not None, (line[:200], check.issues)
        kinds[check.claim.fraud_type] += 1
    assert kinds["high_coding"] > 1000 and kinds["low_threshold_admission"] > 1000, kinds
