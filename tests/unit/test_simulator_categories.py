"""The simulator's section-8 patient fields and its generated catalogues.

Person categories follow age, sex and scheme; assistance categories are a
small share of residents; filing categories fit ``intercity_registered``; a
generated catalogue prices every honest line under its ceiling and catches
over-priced substitutions; claims dated 2027 settle under the bundled
section-8 policies with a generated catalogue, end to end.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from settlement.catalogue_loader import load_catalogue_file
from settlement.engine import Settler
from settlement.policy_loader import bundled_policy_dir, load_policy_dir
from simulator.categories import catalogue_rows, write_catalogues
from simulator.config import SimConfig
from simulator.generate import simulate, simulate_lines
from simulator.world import build_world

CONFIG = SimConfig(seed=7, claims=10_000, start=dt.date(2027, 1, 1))
FILINGS_REGISTERED = {"long_term", "referral"}
FILINGS_UNREGISTERED = {"emergency", "temporary", None}


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return list(simulate_lines(CONFIG, workers=1))


@pytest.fixture(scope="module")
def claims(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def _age(person_id: str, on: str) -> int:
    born = dt.date(int(person_id[6:10]), int(person_id[10:12]), int(person_id[12:14]))
    day = dt.date.fromisoformat(on)
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def test_person_categories_follow_scheme_age_and_sex(claims: list[dict[str, Any]]) -> None:
    seen = Counter()
    for c in claims:
        p = c["patient"]
        age = _age(p["person_id"], c["admission_date"])
        female = int(p["person_id"][16]) % 2 == 0
        retired = p["scheme"] == "employee" and age >= (55 if female else 60)
        child = p["scheme"] == "resident" and age < 18
        expected = "retired" if retired else "child" if child else None
        assert p.get("category") == expected, (c["claim_id"], age, female, p)
        seen[expected] += 1
    assert 0.10 < seen["retired"] / len(claims) < 0.40, seen
    assert 0.05 < seen["child"] / len(claims) < 0.25, seen


def test_assistance_is_a_small_share_of_residents_and_per_person(
    claims: list[dict[str, Any]],
) -> None:
    by_person: dict[str, set[str | None]] = {}
    shares = Counter()
    for c in claims:
        p = c["patient"]
        value = p.get("assistance")
        assert value in (None, "dibao", "tekun")
        if value is not None:
            assert p["scheme"] == "resident"
        by_person.setdefault(p["person_id"], set()).add(value)
        shares[value] += 1
    assert all(len(v) == 1 for v in by_person.values())
    assert 0.003 < shares["dibao"] / len(claims) < 0.04, shares
    assert 0 < shares["tekun"] < shares["dibao"], shares


def test_filing_categories_fit_intercity_registration(claims: list[dict[str, Any]]) -> None:
    seen = Counter()
    for c in claims:
        p = c["patient"]
        filing = p.get("intercity_filing")
        if c["hospital"]["region"] == p["insured_region"]:
            assert filing is None
            continue
        allowed = FILINGS_REGISTERED if p["intercity_registered"] else FILINGS_UNREGISTERED
        assert filing in allowed, (c["claim_id"], p)
        seen[(p["intercity_registered"], filing)] += 1
    # registered patients mostly long_term (at the city they filed for) or referral
    assert seen[(True, "long_term")] > seen[(True, "referral")] > 0, seen
    for filing in FILINGS_UNREGISTERED:
        assert seen[(False, filing)] > 0, seen


def test_fields_are_deterministic_and_the_dict_form_matches_the_text() -> None:
    small = SimConfig(seed=7, claims=2_000, start=dt.date(2027, 1, 1))
    text = list(simulate_lines(small, workers=2))
    assert text == list(simulate_lines(small, workers=1))
    dicts = [json.dumps(c, separators=(",", ":"), ensure_ascii=False) for c in simulate(small)]
    assert [d + "\n" for d in dicts] == text
    assert any('"intercity_filing"' in line for line in text)


def test_generated_catalogue_loads_and_prices_honest_lines_under_the_ceiling(
    tmp_path: Path, claims: list[dict[str, Any]]
) -> None:
    world = build_world(CONFIG)
    files = write_catalogues(world, tmp_path, "2027-01-01")
    assert [f.name for f in files] == [f"{r}.catalogue.csv" for r in CONFIG.regions]
    for f in files:
        load_catalogue_file(f)  # strict loader: raises on a broken file
    ceilings = {
        (region, code): float(ceiling)
        for region in CONFIG.regions
        for code, _cat, _sp, ceiling in catalogue_rows(world, region)
        if ceiling
    }
    over = Counter()
    for c in claims:
        for item in c["items"]:
            ceiling = ceilings.get((c["hospital"]["region"], item["code"]))
            if ceiling is not None and float(item["amount"]) > ceiling * item["quantity"] + 1e-9:
                over[c["fraud_type"]] += 1
    assert set(over) == {"item_substitution"}, over


def test_simulated_2027_claims_settle_under_section_8_with_a_catalogue(
    tmp_path: Path, lines: list[str], claims: list[dict[str, Any]]
) -> None:
    for source in bundled_policy_dir().glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    write_catalogues(build_world(CONFIG), tmp_path)
    settler = Settler(load_policy_dir(tmp_path))
    records = [settler.settle_json(line, f"line:{i}") for i, line in enumerate(lines, 1)]
    assert Counter(r["status"] for r in records) == {"settled": len(lines)}
    nonzero = Counter(
        f for r in records for f in ("over_price", "ci_pay", "ma_pay") if r[f] != "0.00"
    )
    assert nonzero["over_price"] > 0 and nonzero["ci_pay"] > 0 and nonzero["ma_pay"] > 0, nonzero
    for r, c in zip(records, claims, strict=True):
        if r["over_price"] != "0.00":
            assert c["fraud_type"] == "item_substitution"
        if r["ma_pay"] != "0.00":
            assert c["patient"]["assistance"] in ("dibao", "tekun")


def test_cli_writes_catalogues_that_yibao_settle_uses(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    for source in bundled_policy_dir().glob("*.yaml"):
        shutil.copy(source, policies / source.name)
    claims_file = tmp_path / "claims.jsonl"
    records_file = tmp_path / "records.jsonl"
    run = [sys.executable, "-m", "yibao.cli"]
    simulate_cmd = [
        *run,
        "simulate",
        "--seed=7",
        "--claims=3000",
        "--start=2027-01-01",
        "--workers=1",
        f"--catalogue-dir={policies}",
        f"--output={claims_file}",
    ]
    done = subprocess.run(simulate_cmd, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(list(policies.glob("*.catalogue.csv"))) == len(CONFIG.regions)
    settle_cmd = [
        *run,
        "settle",
        f"--policies={policies}",
        str(claims_file),
        "-o",
        str(records_file),
    ]
    done = subprocess.run(settle_cmd, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in records_file.read_text().splitlines()]
    assert len(records) == 3000
    assert all(r["status"] == "settled" for r in records)
    assert any(r["over_price"] != "0.00" for r in records)
    bad = subprocess.run(
        [*run, "simulate", "--claims=1", f"--catalogue-dir={tmp_path}", "--catalogue-from=2027"],
        capture_output=True,
        timeout=60,
    )
    assert bad.returncode == 2
