"""The rule evaluators on hand-made claims: precision, recall, look-alikes, dates, windows.

The labelled claims come from :mod:`tests.rulegen`; every ``certain`` rule must
find all of its injected violations and nothing else, and no look-alike may
raise any rule. Dated rules and rows, regional rows, a rule added as data only
and the batch/stream equality of the windows are checked on small catalogues
written to a temporary folder.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from detection.rule_engine import RuleEngine, RuleHit
from detection.rule_state import RuleState
from detection.rulebook_loader import BUNDLED_DIR, load_rule_dir
from settlement.claim import Claim, parse_claim
from settlement.policy import PolicyBook
from settlement.policy_loader import load_policy_dir
from tests import rulegen
from tests.rulegen import claim, person_id

POLICIES: PolicyBook = load_policy_dir(None)


def parsed(record: dict[str, Any]) -> Claim:
    check = parse_claim(record, POLICIES)
    assert check.claim is not None, check.issues
    return check.claim


def run(engine: RuleEngine, records: list[dict[str, Any]], state: RuleState) -> list[list[RuleHit]]:
    return [engine.check(parsed(r), state) for r in records]


@pytest.fixture(scope="module")
def outcome() -> list[tuple[rulegen.Case, dict[str, Any], list[RuleHit]]]:
    engine = RuleEngine(load_rule_dir())
    state = RuleState()
    rows = []
    for case in rulegen.cases():
        for record in case.claims:
            rows.append((case, record, engine.check(parsed(record), state)))
    return rows


def test_every_certain_rule_has_precision_and_recall_one(outcome: list[Any]) -> None:
    book = load_rule_dir()
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for _, record, hits in outcome:
        fired = {h.rule_code for h in hits}
        labels = set(record["labels"])
        for code in fired & labels:
            tp[code] += 1
        for code in fired - labels:
            fp[code] += 1
        for code in labels - fired:
            fn[code] += 1
    certain = [r.rule_code for r in book.rules.values() if r.result == "certain"]
    for code in certain:
        assert tp[code] >= 1, f"{code} has no injected violation"
        assert fp[code] == 0 and fn[code] == 0, (code, tp[code], fp[code], fn[code])
    # Suspicious rules are measured too: on these hand-made claims they are exact as well.
    assert not fp and not fn
    assert set(tp) == set(book.rules), "every rule, certain or not, has a violation"


def test_no_lookalike_raises_any_rule(outcome: list[Any]) -> None:
    lookalikes = [(case.name, hits) for case, _, hits in outcome if case.lookalike]
    assert len(lookalikes) >= 20
    assert [name for name, hits in lookalikes if hits] == []


def test_hits_name_line_evidence_and_amount(outcome: list[Any]) -> None:
    by_name = {case.name: hits for case, _, hits in outcome}
    (ceiling,) = by_name["albumin at 360.00 in 2026 (ceiling 350.00)"]
    assert ceiling.amount_at_stake_fen == 1000  # the excess over 350.00, not the line
    assert ceiling.evidence["knowledge"]["ceiling_yuan"] == "350.00"
    assert ceiling.evidence["observed"] == {"amount": "360.00", "quantity": 1, "allowed": "350.00"}
    (duplicate,) = by_name["local anaesthesia billed with general"]
    assert (duplicate.item_index, duplicate.item_code) == (1, rulegen.LOCAL_ANAESTHESIA)
    assert duplicate.amount_at_stake_fen == 6000
    assert duplicate.evidence["observed"] == {"billed_with_line": 0}
    (over,) = by_name["13 tramadol in 3 days"]
    assert over.amount_at_stake_fen == 100  # one tablet of 13 at 1.00
    assert over.evidence["observed"] == {"quantity": 13, "days": 3, "allowed": 12}
    (split,) = by_name["liver panel billed as 3 parts"]
    assert split.amount_at_stake_fen == 3 * 1800 - 4000
    (sex,) = by_name["man billed progesterone"]
    assert sex.as_dict() == {
        "rule_code": "YB-XB-001",
        "result": "certain",
        "item_index": 0,
        "item_code": rulegen.PROGESTERONE,
        "evidence": sex.evidence,
        "amount_at_stake": "30.00",
    }
    assert sex.evidence["knowledge"]["row"] == "restriction.csv:2"
    assert sex.evidence["observed"] == {"sex": "M"}


def _catalogue(tmp_path: Path, rules: str, tables: dict[str, str]) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    header = (
        "rule_code,name,logic,result,window,scenario,stage,schemes,"
        "effective_from,effective_to,source\n"
    )
    (folder / "rules.csv").write_text(header + rules, encoding="utf-8")
    for name, text in tables.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


_RESTRICTION = (
    "rule_code,item_code,item_name,region,effective_from,effective_to,source,"
    "sex,age_min,age_max,indications,settings,levels,schemes\n"
)


def test_a_rule_ending_2025_never_fires_in_2026_and_a_2026_row_never_in_2025(
    tmp_path: Path,
) -> None:
    folder = _catalogue(
        tmp_path,
        "T-OLD,ends 2025,restriction,certain,claim,inpatient;outpatient,after,,"
        "2024-01-01,2025-12-31,test\n"
        "T-NEW,rows from 2026,restriction,certain,claim,inpatient;outpatient,after,,"
        "2024-01-01,,test\n",
        {
            "restriction": _RESTRICTION
            + "T-OLD,OLDDRUG,old,,2024-01-01,,test,F,,,,,,\n"
            + "T-NEW,NEWDRUG,new,,2026-01-01,,test,F,,,,,,\n"
        },
    )
    engine = RuleEngine(load_rule_dir(folder))
    man = person_id(rulegen.MALE, date(1980, 5, 1))
    fired = {}
    for day in ("2025-12-31", "2026-01-01"):
        record = claim(man, [("OLDDRUG", "10.00", 1), ("NEWDRUG", "10.00", 1)], admitted=day)
        fired[day] = {h.rule_code for h in engine.check(parsed(record), RuleState())}
    assert fired == {"2025-12-31": {"T-OLD"}, "2026-01-01": {"T-NEW"}}


def test_a_new_rule_of_an_existing_kind_is_a_data_change_only(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(BUNDLED_DIR, folder)
    with (folder / "rules.csv").open("a", encoding="utf-8") as f:
        f.write(
            "YB-GS-001,限工伤保险 drug restricted to one scheme,restriction,certain,claim,"
            "inpatient;outpatient;intercity,before;after,,2024-07-30,,test\n"
        )
    with (folder / "restriction.csv").open("a", encoding="utf-8") as f:
        f.write("YB-GS-001,XD03AXB001A0,test ointment,,2024-07-30,,test,,,,,,,resident\n")
    engine = RuleEngine(load_rule_dir(folder))
    pid = person_id(rulegen.FEMALE, date(1980, 5, 1))
    record = claim(pid, [("XD03AXB001A0", "50.00", 1)], claim_type="outpatient")
    (hit,) = engine.check(parsed(record), RuleState())  # the patient is an employee
    assert (hit.rule_code, hit.evidence["observed"]) == ("YB-GS-001", {"scheme": "employee"})
    assert RuleEngine(load_rule_dir()).check(parsed(record), RuleState()) == []


def test_regional_row_replaces_the_national_one_only_in_its_region() -> None:
    engine = RuleEngine(load_rule_dir())
    pid = person_id(rulegen.MALE, date(1980, 5, 1))
    items = [(rulegen.CONSULTATION, "28.00", 1)]
    fired = {}
    for region in ("441800", "440100"):
        record = claim(pid, items, claim_type="outpatient", level=3, hospital_region=region)
        fired[region] = [h.amount_at_stake_fen for h in engine.check(parsed(record), RuleState())]
    assert fired == {"441800": [], "440100": [300]}


def test_scenario_and_scheme_select_the_claims_a_rule_runs_on(tmp_path: Path) -> None:
    folder = _catalogue(
        tmp_path,
        "T-IN,inpatient only,restriction,certain,claim,inpatient,after,resident,2024-01-01,,test\n",
        {"restriction": _RESTRICTION + "T-IN,DRUG,d,,2024-01-01,,test,F,,,,,,\n"},
    )
    engine = RuleEngine(load_rule_dir(folder))
    man = person_id(rulegen.MALE, date(1980, 5, 1))
    record = claim(man, [("DRUG", "10.00", 1)])
    assert engine.check(parsed(record), RuleState()) == []  # an employee
    record["patient"]["scheme"] = "resident"
    assert len(engine.check(parsed(record), RuleState())) == 1
    record["hospital"]["region"] = "440100"  # inter-city: not in the rule's scenario
    assert engine.check(parsed(record), RuleState()) == []
    record["patient"]["insured_region"] = "440100"
    record["claim_type"] = "outpatient"
    assert engine.check(parsed(record), RuleState()) == []


def test_batch_equals_stream_through_a_json_snapshot(outcome: list[Any]) -> None:
    records = [record for _, record, _ in outcome]
    engine = RuleEngine(load_rule_dir())
    batch = [[h.as_dict() for h in hits] for _, _, hits in outcome]
    for cut in (1, len(records) // 3, len(records) // 2, len(records) - 1):
        state = RuleState()
        first = run(engine, records[:cut], state)
        snapshot = json.loads(json.dumps(state.to_dict()))
        resumed = RuleState.from_dict(snapshot)
        rest = run(engine, records[cut:], resumed)
        assert [[h.as_dict() for h in hits] for hits in first + rest] == batch
        assert resumed.to_dict() == _fold_all(engine, records).to_dict()


def _fold_all(engine: RuleEngine, records: list[dict[str, Any]]) -> RuleState:
    state = RuleState()
    run(engine, records, state)
    return state


def test_state_keeps_no_identity_number_and_forgets_beyond_the_horizon() -> None:
    engine = RuleEngine(load_rule_dir())
    pid = person_id(rulegen.MALE, date(1980, 5, 1))
    state = RuleState()
    for day in ("2026-01-05", "2026-03-02", "2026-09-01"):
        engine.check(parsed(claim(pid, [(rulegen.BLOOD_COUNT, "20.00", 1)], admitted=day)), state)
    text = json.dumps(state.to_dict())
    assert pid not in text
    (window,) = state.persons.values()
    assert window.uses == {rulegen.BLOOD_COUNT: (date(2026, 9, 1).toordinal(), 1)}
