"""The DIP core agrees with the simple reference (dip_reference.py) on generated data."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dip.policy import BudgetYear, DipBook, DipPolicy, DipVersion, Group

from .dip_helpers import run_core, version
from .dip_reference import reference

DIAGNOSES = ("K35.8", "K35.2", "K35", "K35.", "J18.9", "J18", "A01.0", "B20", "k12.1", "Z99.9")
PROCEDURES = ((), ("47.01",), ("47.09", "99.1"), ("47.01", "47.09"), ("36.0A",))
KEYS = (
    ("K35.8", "47.01"),
    ("K35", "47.01"),
    ("K35", None),
    ("J18", None),
    ("J18.9", None),
    ("A01.0", "36.0A"),
    ("K35.2", "47.09"),
)


def random_version(rng: random.Random, region: str, start: date) -> DipVersion:
    groups: list[Group] = []
    for diagnosis, procedure in rng.sample(KEYS, rng.randint(1, len(KEYS))):
        groups.append(
            Group(
                f"{diagnosis}+{procedure}",
                "core",
                rng.randint(1, 30_000_000),
                {lv: rng.randint(1, 3_000_000) for lv in (1, 2, 3)},
                diagnosis=diagnosis,
                procedure=procedure,
            )
        )
    for chapter in rng.sample("ABJKZ", rng.randint(0, 5)):
        for treatment in rng.sample(("operative", "conservative"), rng.randint(1, 2)):
            groups.append(
                Group(
                    f"{chapter}-{treatment}",
                    "comprehensive",
                    rng.randint(1, 30_000_000),
                    {lv: rng.randint(1, 3_000_000) for lv in (1, 2, 3)},
                    chapter=chapter,
                    treatment=treatment,
                )
            )
    low = rng.randint(1, 10_000)
    high = rng.randint(10_000, 40_000)
    return version(
        groups,
        region=region,
        low=low,
        high=high,
        review=rng.randint(high, 80_000),
        coefficients={lv: rng.randint(1, 30_000) for lv in (1, 2, 3)},
        overrides={"H1": rng.randint(1, 30_000)} if rng.random() < 0.5 else {},
        at_most=rng.randint(0, 2),
        at_least=rng.randint(3, 60),
        effective_from=start,
    )


def random_budget(rng: random.Random) -> BudgetYear:
    return BudgetYear(
        rng.choice((rng.randint(1, 10**6), rng.randint(1, 10**9), rng.randint(1, 10**14))),
        rng.randint(0, 10_000),
        rng.randint(0, 10_000),
        rng.randint(0, 10_000),
        rng.randint(0, 10_000),
    )


def random_book(rng: random.Random) -> DipBook:
    qy = DipPolicy(
        "441800",
        "t",
        [
            random_version(rng, "441800", date(2020, 1, 1)),
            random_version(rng, "441800", date(2026, 7, 1)),
        ],
        {2026: random_budget(rng)},
    )
    gz = DipPolicy(
        "440100",
        "t",
        [random_version(rng, "440100", date(2026, 2, 1))],
        {2026: random_budget(rng)} if rng.random() < 0.8 else {},
    )
    return DipBook({"441800": qy, "440100": gz})


def random_files(rng: random.Random, count: int) -> tuple[list[Any], list[Any]]:
    claims, records = [], []
    settled: dict[str, dict[str, Any]] = {}
    for n in range(count):
        region = rng.choice(("441800", "441800", "440100", "440600"))
        discharge = date(2025, 12, 1) + timedelta(days=rng.randint(0, 430))
        claim_id = f"C{n}" if rng.random() > 0.1 or not settled else rng.choice(list(settled))
        claim = {
            "claim_id": claim_id,
            "claim_type": rng.choice(("inpatient",) * 5 + ("outpatient",)),
            "hospital": {
                "hospital_id": f"H{rng.randint(1, 6)}",
                "region": region,
                "level": rng.randint(1, 3),
            },
            "admission_date": (discharge - timedelta(days=rng.randint(0, 70))).isoformat(),
            "discharge_date": discharge.isoformat(),
            "diagnosis": rng.choice(DIAGNOSES),
        }
        procedures = rng.choice(PROCEDURES)
        if procedures or rng.random() < 0.5:
            claim["procedures"] = list(procedures)
        claims.append(claim)
        if claim_id in settled:
            records.append({**settled[claim_id], "status": "duplicate"})
            continue
        if rng.random() < 0.1:
            records.append({"claim_id": claim_id, "status": "rejected", "errors": []})
            continue
        total = rng.choice((0, rng.randint(0, 500), rng.randint(0, 5_000_000)))
        fund = rng.randint(0, total)
        record = {
            "claim_id": claim_id,
            "status": "settled",
            "claim_type": claim["claim_type"],
            "discharge_date": claim["discharge_date"],
            "total": f"{total // 100}.{total % 100:02d}",
            "fund_pay": f"{fund // 100}.{fund % 100:02d}",
        }
        settled[claim_id] = record
        records.append(record)
    return claims, records


def lines(values: list[Any], spaced: bool) -> bytes:
    separators = (", ", ": ") if spaced else (",", ":")
    return "".join(json.dumps(v, separators=separators) + "\n" for v in values).encode()


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    count=st.integers(0, 300),
    spaced=st.booleans(),
    month=st.integers(1, 12),
)
def test_core_agrees_with_the_reference(seed: int, count: int, spaced: bool, month: int) -> None:
    rng = random.Random(seed)
    book = random_book(rng)
    claims, records = random_files(rng, count)
    period = f"2026-{month:02d}"
    got = run_core(lines(claims, False), lines(records, spaced), book, 2026, period)
    want = reference(claims, records, book, 2026, period)
    assert got[0] == want[0]
    assert got[1] == want[1]
    assert got[2] == want[2]
