"""Audit-rule hits in the review app (issue 16) and names beside codes (issue 17).

The hits are the real rule engine's on hand-made claims (testkit.rule_hit_claims),
loaded as ``yibao score`` and the stream's flags carry them; the pages are read
over HTTP from a real SQLite file.
"""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from review import ingest
from review.app import create_app
from review.db import make_engine, session_factory
from review.models import AuditHit, Claim
from testkit.review_data import build_demo_db
from testkit.rule_hit_claims import HOSPITAL, MAN, load_rule_hit_claims
from tests.review_client import login as shared_login
from yibao.settings import Settings

ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
ROW_ID = re.compile(r'<td><a href="/claims/([^"]+)">')


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("review-rule-hits")
    url = f"sqlite:///{root / 'review.db'}"
    build_demo_db(url, 60)
    hits = load_rule_hit_claims(url)
    settings = Settings(data_dir=root, database_url=url, review_secret_key="s" * 40)
    return {"app": create_app(settings), "hits": hits, "url": url}


def login(app, name: str = "sam") -> TestClient:
    return shared_login(app, name)


def test_the_engine_gives_the_hits_these_tests_expect(world):
    hits = world["hits"]
    assert sorted(
        (h["rule_code"], h["result"], h["amount_at_stake"]) for h in hits["RH-CERTAIN"]
    ) == [
        ("YB-BZ-001", "certain", "3.00"),
        ("YB-XB-002", "certain", "20.00"),
    ]
    assert [(h["rule_code"], h["result"]) for h in hits["RH-SUSPICIOUS"]] == [
        ("YB-PC-002", "suspicious")
    ]
    assert hits["RH-CLEAN"] == []


def test_hits_are_stored_in_fen_with_their_line_and_evidence(world):
    with world["app"].state.sessions() as db:
        rows = db.scalars(select(AuditHit).order_by(AuditHit.claim_id, AuditHit.seq)).all()
        got = {(r.claim_id, r.rule_code): r for r in rows}
        assert set(got) == {
            ("RH-CERTAIN", "YB-XB-002"),
            ("RH-CERTAIN", "YB-BZ-001"),
            ("RH-SUSPICIOUS", "YB-PC-002"),
        }
        gyn = got[("RH-CERTAIN", "YB-XB-002")]
        assert (gyn.result, gyn.item_index, gyn.item_code) == ("certain", 0, "311201001000000")
        assert gyn.amount_at_stake_fen == 2000
        assert json.loads(gyn.evidence_json)["observed"] == {"sex": "M"}
        assert MAN not in gyn.evidence_json
        # A certain hit puts the claim in the queue though the model gave no score.
        flagged = db.get(Claim, "RH-CERTAIN")
        assert flagged is not None and flagged.flagged and not flagged.scored
        assert set((flagged.rule_codes or "").split(",")) == {"YB-XB-002", "YB-BZ-001"}
        assert flagged.audit_results == "certain"
        both = db.get(Claim, "RH-SUSPICIOUS")
        assert both is not None and both.audit_results == "suspicious"


def test_a_newer_record_replaces_the_claims_hits(world, tmp_path):
    url = f"sqlite:///{tmp_path / 'replace.db'}"
    build_demo_db(url, 5)
    engine = make_engine(url)
    record = {"claim_id": "RH-SUSPICIOUS", "fraud_score": 0.9, "flagged": True}
    with session_factory(engine)() as db:
        ingest.load_score_objects(db, [{**record, "audit_hits": world["hits"]["RH-CERTAIN"]}])
        ingest.load_score_objects(db, [{**record, "audit_hits": world["hits"]["RH-SUSPICIOUS"]}])
        db.commit()
        assert db.scalars(select(AuditHit.rule_code)).all() == ["YB-PC-002"]
    engine.dispose()


def queue_ids(client: TestClient, query: str) -> set[str]:
    response = client.get(f"/queue?status=all&{query}")
    assert response.status_code == 200, response.text[:300]
    return set(ROW_ID.findall(response.text))


def test_queue_filters_by_rule_code_and_result(world):
    client = login(world["app"])
    assert queue_ids(client, "result=certain") == {"RH-CERTAIN"}
    assert queue_ids(client, "result=suspicious") == {"RH-SUSPICIOUS"}
    assert queue_ids(client, "rule=YB-XB-002") == {"RH-CERTAIN"}
    assert queue_ids(client, "rule=YB-PC-002&result=suspicious") == {"RH-SUSPICIOUS"}
    assert queue_ids(client, "rule=YB-PC-002&result=certain") == set()
    assert queue_ids(client, "rule=YB-XB-002&result=certain&region=440100") == {"RH-CERTAIN"}
    # The red flags stay in the same filter.
    assert "RH-SUSPICIOUS" in queue_ids(client, "rule=COST_OUTLIER")
    page = client.get("/queue?status=all&result=certain").text
    assert '<option value="certain" selected>' in page
    assert "YB-XB-002" in page and "诊疗项目限定性别" in page  # the rule's name beside its code
    # The export keeps the filter.
    export = client.get("/queue.csv?status=all&result=certain").text
    assert [line.split(",")[0] for line in export.splitlines()[1:]] == ["RH-CERTAIN"]


@pytest.mark.parametrize(
    "query",
    [
        "result=bogus",
        "result=CERTAIN",
        "rule=YB XB",
        "rule=%3Cscript%3E",
        "rule=-x",
        f"result={MAN}",
    ],
)
def test_bad_rule_and_result_values_answer_400(world, query):
    response = login(world["app"]).get(f"/queue?{query}")
    assert response.status_code == 400
    assert 'href="/queue"' in response.text and "Log out" in response.text
    assert "Content-Security-Policy" in response.headers
    assert not ID_NUMBER.search(response.text)


def test_the_claim_page_lists_each_hit_with_evidence_and_amount(world):
    client = login(world["app"], "clara")
    page = client.get("/claims/RH-CERTAIN").text
    section = page[page.index('data-k="audit-hits"') :]
    section = section[: section.index("</section>")]
    rows = re.findall(r'<tr data-rule="([^"]+)" data-result="([^"]+)">(.*?)</tr>', section, re.S)
    assert [(code, result) for code, result, _ in rows] == [
        (h["rule_code"], h["result"]) for h in world["hits"]["RH-CERTAIN"]
    ]
    gyn = next(body for code, _, body in rows if code == "YB-XB-002")
    assert "诊疗项目限定性别 service restricted to one sex" in gyn  # rule name
    assert "311201001000000" in gyn and "妇科检查 gynaecological examination" in gyn  # the line
    assert "restriction.csv:" in gyn and "<b>sex</b> F" in gyn  # the knowledge row
    assert "<b>sex</b> M" in gyn  # what the claim showed
    assert re.search(r'class="num at-stake">20\.00<', gyn)
    ceiling = next(body for code, _, body in rows if code == "YB-BZ-001")
    assert re.search(r'class="num at-stake">3\.00<', ceiling)
    assert "<b>ceiling_yuan</b> 15.00" in ceiling
    # Lines 1 and 2 each once: 20.00 + 3.00.
    assert re.search(r'data-k="at-stake-total">23\.00<', section)
    assert 'data-k="flagged-by-rule"' in page
    assert not ID_NUMBER.search(page)


def test_a_claim_without_hits_has_no_hit_section(world):
    page = login(world["app"]).get("/claims/RH-CLEAN").text
    assert 'data-k="audit-hits"' not in page


def test_the_hospital_page_sums_amounts_at_stake_by_rule(world):
    page = login(world["app"]).get(f"/hospitals/{HOSPITAL}").text
    section = page[page.index('data-k="rule-sums"') :]
    section = section[: section.index("</section>")]
    rows = {
        code: body
        for code, body in re.findall(r'<tr data-rule="([^"]+)">(.*?)</tr>', section, re.S)
    }
    pc = world["hits"]["RH-SUSPICIOUS"][0]["amount_at_stake"]
    assert pc == "55.00"  # the unit beyond the month's one
    assert list(rows) == ["YB-PC-002", "YB-XB-002", "YB-BZ-001"]  # the largest amount first
    for code, amount in (("YB-XB-002", "20.00"), ("YB-BZ-001", "3.00"), ("YB-PC-002", pc)):
        assert 'class="num claims">1<' in rows[code]
        assert re.search(rf'class="num at-stake">{re.escape(amount)}<', rows[code])
    assert "超频次(自然月)" in rows["YB-PC-002"] and "result-suspicious" in rows["YB-PC-002"]


def test_names_beside_codes(world):
    client = login(world["app"])
    claim_page = client.get("/claims/RH-CERTAIN").text
    assert re.search(r'data-k="diagnosis">E11\.9 2型糖尿病不伴有并发症 type 2 diabetes', claim_page)
    assert 'data-k="hospital-area">天河区 Tianhe District<' in claim_page
    line = re.search(r'<tr data-item="1">(.*?)</tr>', claim_page, re.S)
    assert line is not None
    assert "110200001000000" in line.group(1)
    assert "普通门诊诊查费 outpatient consultation" in line.group(1)
    assert 'class="num unit-price">10.00<' in line.group(1)
    secondary = client.get("/claims/RH-SUSPICIOUS").text
    assert (
        'data-k="diagnoses">I10 特发性(原发性)高血压 essential (primary) hypertension, Q99.9<'
        in secondary
    )
    # Unknown codes are shown alone.
    clean = client.get("/claims/RH-CLEAN").text
    assert 'data-k="diagnosis">Q99.9</dd>' in clean
    unknown = re.search(r'<tr data-item="1">(.*?)</tr>', clean, re.S)
    assert unknown is not None
    assert '<td>ZZ9999</td><td class="name"></td>' in unknown.group(1)
    assert 'class="num unit-price"><' in unknown.group(1)
    queue = client.get("/queue?status=all&result=certain").text
    assert '<small class="name">天河区 Tianhe District</small>' in queue
    hospitals = client.get("/hospitals").text
    assert '<small class="name">天河区 Tianhe District</small>' in hospitals
    hospital = client.get(f"/hospitals/{HOSPITAL}").text
    assert 'data-k="hospital-area">天河区 Tianhe District<' in hospital
    # the patient's other claims, with their hospital's area and diagnosis names
    other = claim_page[claim_page.index("The patient's other claims") :]
    assert '<small class="name">天河区 Tianhe District</small>' in other
    assert "E11.9 2型糖尿病不伴有并发症" in other
