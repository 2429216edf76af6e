"""Section 8 on generated policies and claims (hypothesis): the engine against the reference.

Each example writes a policy directory using a random mix of every section-8
feature (level ratios, bands, categories, catalogues, 8.5 deductibles, filing
categories, ltc co-payment, critical illness, assistance), loads it with the
strict loader and settles random claims; the independent reference in
``reference_settlement.py`` must agree on every record, and the invariants of
section 6 and 8 must hold.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from settlement.batch import settle_lines
from settlement.engine import Settler
from settlement.idnumber import check_character
from settlement.money import parse_fen_text
from settlement.policy_loader import load_policy_dir
from settlement.state import CompactMemoryState, SpillingState

from .reference_settlement import reference_settle, version_on

AMOUNTS = (
    "total",
    "category_self_pay",
    "eligible",
    "deductible",
    "fund_pay",
    "over_cap",
    "over_price",
    "ci_pay",
    "ma_pay",
    "patient_pay",
)
CATALOGUE_HEADER = "code,category,self_pay,price_ceiling,effective_from"


def person(n: int) -> str:
    first = f"4418021980{(n % 12) + 1:02d}{(n % 28) + 1:02d}{n % 1000:03d}"
    return first + check_character(first)


def yuan_value(cents: int) -> float | int:
    """A YAML number whose text is the exact amount (float repr is the shortest round trip)."""
    return cents // 100 if cents % 100 == 0 else float(f"{cents // 100}.{cents % 100:02d}")


ratios = st.integers(0, 10_000).map(lambda r: float(f"{r // 10_000}.{r % 10_000:04d}"))
yuan = st.integers(0, 3_000_000).map(yuan_value)
small_yuan = st.integers(0, 200_000).map(yuan_value)
level_map = st.fixed_dictionaries({1: ratios, 2: ratios, 3: ratios})
ratio_or_levels = st.one_of(ratios, level_map)


@st.composite
def bands(draw: st.DrawFn, levels: bool) -> list[dict[str, Any]]:
    tops = sorted(set(draw(st.lists(st.integers(1, 5_000_000), max_size=3))))
    ratio = ratio_or_levels if levels else ratios
    out = [{"up_to": yuan_value(top), "ratio": draw(ratio)} for top in tops]
    return [*out, {"up_to": None, "ratio": draw(ratio)}]


@st.composite
def blocks(draw: st.DrawFn, inpatient: bool) -> dict[str, Any]:
    block: dict[str, Any] = {
        "deductible": draw(st.fixed_dictionaries({1: small_yuan, 2: small_yuan, 3: small_yuan}))
    }
    if draw(st.booleans()):
        block["bands"] = draw(bands(levels=True))
    else:
        block["ratio"] = draw(ratio_or_levels)
    if inpatient:
        if draw(st.booleans()):
            block["deductible_repeat_factor"] = draw(ratios)
        if draw(st.booleans()):
            block["deductible_year_max"] = draw(small_yuan)
    return block


@st.composite
def schemes(draw: st.DrawFn) -> dict[str, Any]:
    scheme: dict[str, Any] = {
        "annual_cap": draw(yuan),
        "inpatient": draw(blocks(inpatient=True)),
        "outpatient": draw(blocks(inpatient=False)),
    }
    if draw(st.booleans()):
        retired: dict[str, Any] = {}
        if draw(st.booleans()):
            retired["inpatient"] = draw(blocks(inpatient=True))
        if draw(st.booleans()):
            retired["outpatient"] = draw(blocks(inpatient=False))
        if draw(st.booleans()):
            retired["annual_cap"] = draw(yuan)
        scheme["categories"] = {"retired": retired}
    if draw(st.booleans()):
        scheme["critical_illness"] = {
            "threshold": draw(small_yuan),
            "bands": draw(bands(levels=False)),
            "annual_cap": draw(yuan),
        }
    return scheme


@st.composite
def versions(draw: st.DrawFn) -> dict[str, Any]:
    per_diem = st.one_of(
        small_yuan, st.fixed_dictionaries({"per_diem": small_yuan, "ratio": ratios})
    )
    version: dict[str, Any] = {
        "effective_from": "2020-01-01",
        "category_b_self_pay": draw(ratios),
        "intercity_unregistered_reduction": draw(ratios),
        "ltc_per_diem": {"institutional": draw(per_diem), "home": draw(per_diem)},
        "schemes": {"employee": draw(schemes()), "resident": draw(schemes())},
    }
    if draw(st.booleans()):
        names = draw(
            st.lists(
                st.sampled_from(["long_term", "referral", "emergency", "temporary", "none"]),
                unique=True,
            )
        )
        version["intercity_filing"] = {
            name: draw(
                st.one_of(
                    st.fixed_dictionaries({"subtract": ratios}),
                    st.fixed_dictionaries({"multiply": ratios}),
                )
            )
            for name in names
        }
    if draw(st.booleans()):
        version["assistance"] = {
            "dibao": {
                "threshold": draw(small_yuan),
                "ratio": draw(ratios),
                "annual_cap": draw(yuan),
            }
        }
    return version


@st.composite
def catalogue_rows(draw: st.DrawFn) -> list[dict[str, str]]:
    rows = []
    for code in ("K1", "K2", "K3"):
        for day in draw(
            st.lists(
                st.sampled_from(["2020-01-01", "2026-06-01", "2027-01-01"]), unique=True, max_size=2
            )
        ):
            ceiling = draw(
                st.one_of(
                    st.just(""), st.integers(0, 500_000).map(lambda c: f"{c // 100}.{c % 100:02d}")
                )
            )
            share = draw(
                st.one_of(st.just(""), st.integers(0, 10_000).map(lambda r: f"{r / 10_000:.4f}"))
            )
            rows.append(
                {
                    "code": code,
                    "category": draw(st.sampled_from("ABC")),
                    "self_pay": share,
                    "price_ceiling": ceiling,
                    "effective_from": day,
                }
            )
    return rows


amount_text = st.integers(0, 5_000_000).map(lambda c: f"{c // 100}.{c % 100:02d}")


@st.composite
def claims(draw: st.DrawFn, claim_id: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["inpatient", "inpatient", "outpatient", "ltc"]))
    insured = draw(st.sampled_from(["441800", "440100"]))
    region = insured if kind == "ltc" else draw(st.sampled_from(["441800", "440100", "440300"]))
    month = draw(st.integers(1, 12))
    stay = 0 if kind == "outpatient" else draw(st.integers(0, 20))
    items = []
    for _ in range(draw(st.integers(1, 5))):
        item: dict[str, Any] = {
            "code": draw(st.sampled_from(["K1", "K2", "K3", "X"])),
            "category": draw(st.sampled_from("ABC")),
            "amount": draw(amount_text),
        }
        if draw(st.booleans()):
            item["quantity"] = draw(st.integers(1, 20))
        items.append(item)
    patient: dict[str, Any] = {
        "person_id": person(draw(st.integers(0, 2))),
        "scheme": draw(st.sampled_from(["employee", "resident"])),
        "insured_region": insured,
        "intercity_registered": draw(st.booleans()),
    }
    for key, names in (
        ("category", ["retired", "student"]),
        ("assistance", ["dibao", "tekun"]),
        ("intercity_filing", ["long_term", "referral", "emergency", "temporary"]),
    ):
        name = draw(st.one_of(st.none(), st.sampled_from(names)))
        if name is not None:
            patient[key] = name
    claim: dict[str, Any] = {
        "claim_id": claim_id,
        "claim_type": kind,
        "submitted_at": "2026-12-31T09:00:00+08:00",
        "patient": patient,
        "hospital": {"hospital_id": "H1", "region": region, "level": draw(st.integers(1, 3))},
        "admission_date": f"2026-{month:02d}-01",
        "discharge_date": f"2026-{month:02d}-{1 + stay:02d}",
        "diagnosis": "J18.9",
        "items": items,
    }
    if kind == "ltc":
        claim["ltc"] = {
            "setting": draw(st.sampled_from(["institutional", "home"])),
            "days": draw(st.integers(1, stay + 1)),
        }
    return claim


@st.composite
def worlds(
    draw: st.DrawFn,
) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]], list[dict[str, Any]]]:
    # one or two dated versions per region: 8.5 counts admissions across versions
    policy = {}
    for region in ("441800", "440100"):
        dated = [draw(versions())]
        if draw(st.booleans()):
            dated.append({**draw(versions()), "effective_from": "2026-07-01"})
        policy[region] = dated
    catalogues = {
        region: draw(catalogue_rows())
        for region in ("441800", "440100", "440300")
        if draw(st.booleans())
    }
    count = draw(st.integers(1, 12))
    batch = [draw(claims(f"C{n}")) for n in range(count)]
    for n in draw(st.lists(st.integers(0, count - 1), max_size=3)):
        batch.append(draw(claims(f"C{n}")))
    return policy, catalogues, batch


def load(policy: dict[str, Any], catalogues: dict[str, list[dict[str, str]]], folder: Path):  # type: ignore[no-untyped-def]
    for region, dated in policy.items():
        document = {"region": region, "versions": dated}
        (folder / f"{region}.yaml").write_text(
            yaml.safe_dump(document, sort_keys=False), encoding="utf-8"
        )
    for region, rows in catalogues.items():
        lines = [CATALOGUE_HEADER] + [
            ",".join(row[k] for k in CATALOGUE_HEADER.split(",")) for row in rows
        ]
        (folder / f"{region}.catalogue.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_policy_dir(folder)


def settle_all(settler: Settler, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = "\n".join(json.dumps(claim) for claim in batch).encode("utf-8")
    return list(settle_lines(settler, io.BytesIO(lines)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_engine_agrees_with_the_reference_on_section_8(world: Any) -> None:
    policy, catalogues, batch = world
    with tempfile.TemporaryDirectory() as folder:
        book = load(policy, catalogues, Path(folder))
    state = CompactMemoryState()
    settler = Settler(book, state)
    records = settle_all(settler, batch)
    expected = reference_settle(batch, policy, catalogues)
    for record, want in zip(records, expected, strict=True):
        for key, value in want.items():
            assert record[key] == value, (key, record, want)
    for record in records:  # shown by pytest --hypothesis-show-statistics
        for key in ("over_price", "ci_pay", "ma_pay"):
            if record.get(key, "0.00") != "0.00":
                event(f"{key} paid")
    # section 6 and 8 invariants
    for record in records:
        fen = {key: parse_fen_text(record[key]) for key in AMOUNTS}
        assert all(value >= 0 for value in fen.values()), record
        assert fen["category_self_pay"] + fen["eligible"] == fen["total"]
        assert fen["patient_pay"] == fen["total"] - fen["fund_pay"] - fen["ci_pay"] - fen["ma_pay"]
        assert fen["over_price"] <= fen["category_self_pay"]
    # no accumulator over its cap: each layer's year total within every cap that applied
    by_id = {claim["claim_id"]: claim for claim in reversed(batch)}
    totals: dict[tuple[str, str], int] = {}
    for record in records:
        if record["status"] != "settled":
            continue
        claim = by_id[record["claim_id"]]
        patient = claim["patient"]
        version = version_on(policy[patient["insured_region"]], claim["discharge_date"])
        scheme = version["schemes"][patient["scheme"]]
        pid = patient["person_id"]
        if claim["claim_type"] != "ltc":
            totals[(pid, "fund")] = totals.get((pid, "fund"), 0) + parse_fen_text(
                record["fund_pay"]
            )
            cap = (
                scheme.get("categories", {})
                .get(patient.get("category"), {})
                .get("annual_cap", scheme["annual_cap"])
            )
            if parse_fen_text(record["fund_pay"]):
                assert totals[(pid, "fund")] <= round(cap * 100)
        ci = parse_fen_text(record["ci_pay"])
        if ci:
            totals[(pid, "ci")] = totals.get((pid, "ci"), 0) + ci
            assert totals[(pid, "ci")] <= round(scheme["critical_illness"]["annual_cap"] * 100)
        ma = parse_fen_text(record["ma_pay"])
        if ma:
            totals[(pid, "ma")] = totals.get((pid, "ma"), 0) + ma
            assert totals[(pid, "ma")] <= round(version["assistance"]["dibao"]["annual_cap"] * 100)
    # settling twice never pays twice, and changes no accumulator
    before = (dict(state._fund_paid), {k: list(v) for k, v in state._totals.items()})
    again = settle_all(settler, batch)
    assert all(record["status"] == "duplicate" for record in again)
    first = {r["claim_id"]: r for r in records if r["status"] == "settled"}
    for record in again:
        assert {**record, "status": "settled"} == first[record["claim_id"]]
    assert (state._fund_paid, state._totals) == before
    # the batch's spilling state (what `yibao settle` uses) answers the same
    spilling = SpillingState(flush_every=2, filter_bits=1 << 6)
    try:
        assert settle_all(Settler(book, spilling), batch + batch) == records + again
    finally:
        spilling.close()
