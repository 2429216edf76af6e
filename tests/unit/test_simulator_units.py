"""Unit tests of the simulator's pure pieces: identity numbers, allocation, config, corruption."""

from __future__ import annotations

import datetime as dt
import json
import random

import numpy as np
import pytest

from settlement.engine import Settler
from settlement.idnumber import check_character, identity_number_problem
from settlement.policy_loader import load_policy_dir
from simulator.config import SimConfig, SimConfigError
from simulator.corrupt import KINDS, corrupt, truncate
from simulator.daily import allocate, day_weight
from simulator.days import DayGenerator
from simulator.diagnoses import chronic_weights
from simulator.generate import simulate, simulate_lines
from simulator.population import build_population, id_check_char
from simulator.regions import REGIONS, employee_probabilities
from simulator.world import build_world


def test_check_character_matches_the_settlement_engine() -> None:
    assert id_check_char("11010519491231002") == "X"
    rng = random.Random(5)
    for _ in range(500):
        first17 = "".join(str(rng.randrange(10)) for _ in range(17))
        assert id_check_char(first17) == check_character(first17)


def test_population_identity_numbers_are_valid_unique_and_local() -> None:
    start = dt.date(2026, 1, 1)
    dest = [0.0, 1.0]
    pop = build_population(
        "441800", 20_000, np.random.default_rng(1), start, False, chronic_weights(), dest
    )
    ids = [p.decode() for p in pop.person_id.tolist()]
    assert len(set(ids)) == len(ids)
    districts = set(REGIONS["441800"].districts)
    for pid in ids[:3000]:
        assert identity_number_problem(pid, start) is None
        assert pid[:6] in districts
    # Sex is encoded in the 17th digit: odd for men.
    female = pop.female.tolist()
    assert all((int(pid[16]) % 2 == 0) == f for pid, f in zip(ids, female, strict=True))


def test_employee_probabilities_reproduce_the_scheme_mix() -> None:
    for code, region in REGIONS.items():
        probs = employee_probabilities(region, region.age_shares)
        share = sum(p * s for p, s in zip(probs, region.age_shares, strict=True))
        assert share == pytest.approx(region.employees / region.insured, abs=0.01), code
        assert probs[0] == 0.0  # children are residents


@pytest.mark.parametrize("total", [0, 1, 7, 1000, 99_991])
def test_allocate_is_exact(total: int) -> None:
    weights = [day_weight(dt.date(2026, 1, 1) + dt.timedelta(days=i)) for i in range(365)]
    counts = allocate(total, weights)
    assert sum(counts) == total
    assert min(counts) >= 0


def test_spring_festival_and_sundays_are_quieter() -> None:
    assert day_weight(dt.date(2026, 2, 18)) < 0.6 * day_weight(dt.date(2026, 3, 18))
    assert day_weight(dt.date(2026, 3, 15)) < day_weight(dt.date(2026, 3, 16))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"claims": -1},
        {"seed": -3},
        {"days": 0},
        {"regions": ("999999",)},
        {"regions": ()},
        {"fraud_rate": 0.9},
        {"corrupt_rate": 1.5},
        {"start": dt.date(2016, 1, 1)},
        {"schemes": ("bribery",)},
    ],
)
def test_config_refuses_out_of_range_values(kwargs: dict) -> None:
    with pytest.raises(SimConfigError):
        SimConfig(**kwargs)


def test_exact_claim_count_including_ltc() -> None:
    for n in (0, 1, 37, 2500):
        lines = list(simulate_lines(SimConfig(seed=4, claims=n, days=60)))
        assert len(lines) == n


def test_line_rendering_equals_json_of_the_dict() -> None:
    config = SimConfig(seed=11, claims=3000, days=40)
    dicts = [json.dumps(d, separators=(",", ":")) + "\n" for d in simulate(config)]
    assert dicts == list(simulate_lines(config))


def test_parallel_workers_give_the_same_bytes() -> None:
    config = SimConfig(seed=12, claims=4000, days=30)
    assert list(simulate_lines(config, workers=2)) == list(simulate_lines(config, workers=1))


def _valid_claims(n: int = 400) -> list[dict]:
    return list(simulate(SimConfig(seed=3, claims=n, days=60)))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_corruption_causes_exactly_its_error_code(kind: str) -> None:
    settler = Settler(load_policy_dir(None))
    r = random.Random(kind)
    seen_types = set()
    for claim in _valid_claims():
        # Try the corruption on every claim type.
        if claim["claim_type"] in seen_types and len(seen_types) < 3:
            continue
        seen_types.add(claim["claim_type"])
        broken = corrupt(json.loads(json.dumps(claim)), kind, r)
        text = json.dumps(broken)
        if kind == "unparseable":
            text = truncate(text, r)
        record = settler.settle_json(text, "line:1")
        assert record["status"] == "rejected", (kind, broken)
        assert [e["code"] for e in record["errors"]] == [KINDS[kind]], (kind, record)
        if len(seen_types) == 3:
            break


def test_corrupt_rate_reports_every_broken_line() -> None:
    log: list[tuple[int, str, str]] = []
    config = SimConfig(seed=8, claims=2000, days=30, corrupt_rate=0.2)
    lines = list(simulate_lines(config, on_corrupt=lambda i, k, c: log.append((i, k, c))))
    settler = Settler(load_policy_dir(None))
    broken = {i: code for i, _k, code in log}
    assert 300 < len(broken) < 500
    for i, line in enumerate(lines):
        record = settler.settle_json(line, f"line:{i + 1}")
        codes = [e["code"] for e in record.get("errors", [])]
        assert codes == ([broken[i]] if i in broken else []), (i, line)


def test_world_is_deterministic_and_seed_dependent() -> None:
    a = build_world(SimConfig(seed=21, claims=5000))
    b = build_world(SimConfig(seed=21, claims=5000))
    c = build_world(SimConfig(seed=22, claims=5000))
    ids = lambda w: [h.hospital_id for h in w.network.hospitals]  # noqa: E731
    assert ids(a) == ids(b)
    assert [h.scheme for h in a.network.hospitals] == [h.scheme for h in b.network.hospitals]
    assert [h.scheme for h in a.network.hospitals] != [h.scheme for h in c.network.hospitals]
    assert a.day_budgets == b.day_budgets


def test_day_generation_does_not_depend_on_order() -> None:
    world = build_world(SimConfig(seed=5, claims=3000, days=20))
    forward = DayGenerator(world)
    backward = DayGenerator(world)
    a = [forward.day_block(i) for i in range(20)]
    b = [backward.day_block(i) for i in reversed(range(20))][::-1]
    assert a == b


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_time_order_and_submission_after_discharge(seed: int) -> None:
    last = ""
    for claim in simulate(SimConfig(seed=seed, claims=3000, days=45)):
        assert claim["submitted_at"] >= last
        assert claim["submitted_at"][:10] >= claim["discharge_date"]
        last = claim["submitted_at"]


def test_a_single_region_has_no_inter_city_claims() -> None:
    claims = list(simulate(SimConfig(seed=2, claims=2000, days=60, regions=("441800",))))
    assert len(claims) == 2000
    assert {c["hospital"]["region"] for c in claims} == {"441800"}
    assert {c["patient"]["insured_region"] for c in claims} == {"441800"}


def test_cli_writes_a_file_and_stdout(tmp_path) -> None:
    from typer.testing import CliRunner

    from yibao.cli import app

    out = tmp_path / "claims.jsonl"
    args = ["simulate", "--seed", "3", "--claims", "500", "--days", "20", "--workers", "1"]
    result = CliRunner().invoke(app, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert len(text.splitlines()) == 500
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0
    assert result.stdout == text
    bad = CliRunner().invoke(app, ["simulate", "--regions", "110000", "--claims", "5"])
    assert bad.exit_code != 0


def test_output_does_not_depend_on_the_hash_seed(tmp_path) -> None:
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from simulator.config import SimConfig\n"
        "from simulator.generate import simulate_lines\n"
        "sys.stdout.writelines(simulate_lines(SimConfig(seed=9, claims=1500, days=30)))\n"
    )
    outputs = set()
    for hash_seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_no_spill_keeps_every_claim_inside_the_window() -> None:
    config = SimConfig(seed=6, claims=4000, start=dt.date(2026, 11, 27), days=1, spill=False)
    claims = list(simulate(config))
    assert len(claims) == 4000
    assert {c["submitted_at"][:10] for c in claims} == {"2026-11-27"}
    spilled = list(simulate(SimConfig(seed=6, claims=4000, start=dt.date(2026, 11, 27), days=1)))
    assert len({c["submitted_at"][:10] for c in spilled}) > 1
    # Fraud is still drawn inside the window (schemes whose follow-up would fall
    # outside it are billed honestly instead).
    assert any(c["is_fraud"] for c in claims)


def test_claim_ids_never_look_like_identity_numbers() -> None:
    import re

    id_number = re.compile(r"[0-9]{17}[0-9X]")
    ids = [c["claim_id"] for c in simulate(SimConfig(seed=13, claims=5000, days=30))]
    assert len(set(ids)) == len(ids)
    assert not any(id_number.search(i) for i in ids)
