"""The claim page's settlement breakdown under a section-8 policy (FastAPI TestClient, SQLite).

A resident's two in-patient stays in 2027 at a level-3 hospital in Qingyuan,
under the bundled 2027 version (marginal bands, a second-admission deductible)
with critical-illness insurance from ``tests/section8_world.py`` and a named
``source``: the page shows each band, the critical-illness layer, the source,
the year totals replayed from the earlier claim, and agrees with the record.
"""

from __future__ import annotations

import copy
import html
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from review.app import create_app
from settlement.engine import Settler
from settlement.policy_loader import load_policy_dir
from testkit.review_data import add_demo_users
from tests.review_client import login as shared_login
from tests.section8_world import write_section8_policies
from yibao.settings import Settings

SOURCE = "Qingyuan medical security bureau notice 2027 No. 8 (test)"
CLAIM: dict[str, Any] = {
    "claim_type": "inpatient",
    "submitted_at": "2027-03-06T09:00:00+08:00",
    "patient": {
        "person_id": "441802198001010012",
        "scheme": "resident",
        "insured_region": "441800",
    },
    "hospital": {"hospital_id": "QY-H03", "region": "441800", "level": 3},
    "admission_date": "2027-03-01",
    "discharge_date": "2027-03-05",
    "diagnosis": "C34.9",
    "items": [{"code": "X1", "category": "A", "amount": "40000.00"}],
}


def claims() -> list[dict[str, Any]]:
    first = {**copy.deepcopy(CLAIM), "claim_id": "S8-1"}
    second = copy.deepcopy(CLAIM)
    second.update(
        claim_id="S8-2",
        submitted_at="2027-05-06T09:00:00+08:00",
        admission_date="2027-05-01",
        discharge_date="2027-05-05",
        items=[{"code": "X1", "category": "A", "amount": "20000.00"}],
    )
    return [first, second]


def policies(root: Path) -> Path:
    folder = write_section8_policies(root / "policies")
    path = folder / "441800.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    for version in document["versions"]:
        version["source"] = SOURCE
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return folder


def make_app(root: Path, folder: Path, claim_objects: list[dict[str, Any]], records: list[Any]):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from review import ingest
    from review.db import make_engine, session_factory, upgrade_head

    url = f"sqlite:///{root / 'review.db'}"
    engine = make_engine(url)
    upgrade_head(engine)
    with session_factory(engine)() as db:
        ingest.load_claim_objects(db, claim_objects)
        ingest.load_settlement_objects(db, records)
        add_demo_users(db, datetime.now(UTC).replace(tzinfo=None))
        db.commit()
    engine.dispose()
    settings = Settings(
        data_dir=root, database_url=url, review_secret_key="s" * 40, policies_dir=folder
    )
    return create_app(settings)


def login(app: Any, name: str = "clara") -> TestClient:
    return shared_login(app, name)


@pytest.fixture(scope="module")
def settled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any], list[Any]]:
    root = tmp_path_factory.mktemp("section8-policies")
    folder = policies(root)
    settler = Settler(load_policy_dir(folder))
    batch = claims()
    records = [settler.settle(claim, claim["claim_id"]) for claim in batch]
    assert [r["status"] for r in records] == ["settled", "settled"]
    return folder, batch, records


def page_text(client: TestClient, claim_id: str) -> str:
    response = client.get(f"/claims/{claim_id}")
    assert response.status_code == 200
    return html.unescape(response.text)


def test_claim_page_shows_bands_critical_illness_and_source(
    settled: tuple[Path, list[Any], list[Any]], tmp_path: Path
) -> None:
    folder, batch, records = settled
    client = login(make_app(tmp_path, folder, batch, records))
    first, second = records
    page = page_text(client, "S8-2")
    assert SOURCE in page
    assert "441800@2027-01-01" in page
    # the bands: 10000.00 at the level-3 ratio of band 1, the rest in band 2
    assert 'data-step="band:1"' in page and 'data-step="band:2"' in page
    assert "resident.inpatient.bands[1].ratio[level 3] = 0.6095" in page
    assert "resident.inpatient.bands[2].ratio[level 3] = 0.6500" in page
    assert "Ratio (effective)" in page and second["ratio"] in page
    # second admission of the year: half the level-3 deductible of 800.00
    assert second["deductible"] == "400.00" and "admission 2 this year" in page
    # the critical-illness layer, with the base replayed from the first claim
    assert second["ci_pay"] != "0.00"
    q_before = f"{float(first['eligible']) - float(first['fund_pay']):.2f}"
    assert f"this year's base before this claim {q_before}" in page
    assert 'data-step="ci_band:1"' in page
    assert "resident.critical_illness.threshold = 3000.00 yuan" in page
    assert f"paid {first['ci_pay']}" in page  # the year totals line
    assert "from 1 earlier settled claim loaded here" in page
    # the breakdown agrees with the record: no check line, the final amounts shown
    assert 'data-k="check"' not in page
    for amount in ("fund_pay", "ci_pay", "ma_pay", "patient_pay"):
        assert f'data-step="{amount}"' in page and second[amount] in page


def test_a_missing_earlier_claim_is_said_on_the_page(
    settled: tuple[Path, list[Any], list[Any]], tmp_path: Path
) -> None:
    folder, batch, records = settled
    client = login(make_app(tmp_path, folder, batch[1:], records[1:]))
    page = page_text(client, "S8-2")
    assert 'data-k="check"' in page
    assert "probably missing from the review database" in page
    assert "from 0 earlier settled claims loaded here" in page
