"""Correct claim states in the review app (issue 17): resubmissions kept as versions,
rejected claims not decidable, the month axis and threshold shown sensibly.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from review.app import create_app
from review.errors import InvalidInput
from review.ingest import load_claim_objects, load_score_objects, load_settlement_objects
from review.models import Claim, ClaimVersion, Settlement, User
from review.services import decisions
from testkit.review_data import build_demo_db
from tests.review_client import CSRF, login
from yibao.settings import Settings


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("review-states")
    url = f"sqlite:///{root / 'review.db'}"
    data = build_demo_db(url, 120)
    settings = Settings(data_dir=root, database_url=url, review_secret_key="s" * 40)
    data.update(root=root, url=url, settings=settings, app=create_app(settings))
    return data


def settled_pair(world) -> tuple[dict, dict]:
    for claim, record in zip(world["claims"], world["records"], strict=True):
        if record["status"] == "settled":
            return claim, record
    raise AssertionError("no settled claim")


def test_a_resubmission_is_kept_beside_the_paid_claim_never_replacing_it(world):
    claim, record = settled_pair(world)
    claim_id = claim["claim_id"]
    resubmitted = copy.deepcopy(claim)
    resubmitted["items"] = resubmitted["items"][:1]
    resubmitted["items"][0]["amount"] = "99999.00"
    answer = {"claim_id": claim_id, "status": "rejected", "errors": [{"code": "E_DUP_ID"}]}
    with world["app"].state.sessions() as db:
        before = db.get(Claim, claim_id).claim_json
        for _ in range(2):  # loading the same messages again changes nothing
            load_claim_objects(db, [resubmitted])
            load_settlement_objects(db, [answer])
            db.commit()
        assert db.get(Claim, claim_id).claim_json == before
        assert db.get(Settlement, claim_id).status == "settled"
        versions = db.scalars(select(ClaimVersion).where(ClaimVersion.claim_id == claim_id)).all()
        assert [(v.version, v.settlement_status) for v in versions] == [(2, "rejected")]
        assert json.loads(versions[0].claim_json)["items"][0]["amount"] == "99999.00"
        load_claim_objects(db, [claim])  # the original again: still no new version
        load_settlement_objects(db, [record])
        db.commit()
        assert db.scalar(select(ClaimVersion.version).where(ClaimVersion.claim_id == claim_id)) == 2
    page = login(world["app"], "sam").get(f"/claims/{claim_id}").text
    assert 'data-k="versions"' in page and "E_DUP_ID" in page and "99999.00" in page


def test_an_answer_arriving_before_the_resubmission_fills_the_same_version(world):
    claim, _record = [
        (c, r)
        for c, r in zip(world["claims"], world["records"], strict=True)
        if r["status"] == "settled"
    ][1]
    resubmitted = {**claim, "diagnosis": "J18.9"}
    with world["app"].state.sessions() as db:
        load_settlement_objects(db, [{"claim_id": claim["claim_id"], "status": "rejected"}])
        load_claim_objects(db, [resubmitted])
        db.commit()
        versions = db.scalars(
            select(ClaimVersion).where(ClaimVersion.claim_id == claim["claim_id"])
        ).all()
    assert len(versions) == 1 and versions[0].claim_json and versions[0].settlement_status


def test_a_rejected_claim_is_not_decidable_and_says_why(world):
    claim_id = "REJECTED-1"
    with world["app"].state.sessions() as db:
        load_claim_objects(
            db,
            [{"claim_id": claim_id, "claim_type": "inpatient", "patient": {}, "items": []}],
        )
        load_score_objects(
            db, [{"claim_id": claim_id, "flagged": True, "fraud_score": 0.91, "threshold": 0.5}]
        )
        load_settlement_objects(
            db,
            [
                {
                    "claim_id": claim_id,
                    "status": "rejected",
                    "errors": [{"code": "E_DATES", "message": "no dates"}],
                }
            ],
        )
        db.commit()
        sam = db.scalar(select(User).where(User.name == "sam"))
        with pytest.raises(InvalidInput, match="rejected"):
            decisions.decide(db, sam, claim_id, "clear", "fine")
    client = login(world["app"], "sam")
    page = client.get(f"/claims/{claim_id}").text
    assert 'data-k="undecidable"' in page and "Settlement rejected this claim" in page
    assert 'class="decide"' not in page and "None" not in page
    token = CSRF.search(page).group(1)
    refused = client.post(
        f"/claims/{claim_id}/decisions",
        data={"action": "clear", "note": "x", "csrf_token": token},
    )
    assert refused.status_code == 400


def test_threshold_is_rounded_on_the_claim_page(world):
    with world["app"].state.sessions() as db:
        claim = db.scalars(select(Claim).where(Claim.flagged.is_(True)).limit(1)).one()
        claim.threshold = 0.2702366574862589
        claim_id = claim.claim_id
        db.commit()
    page = login(world["app"], "sam").get(f"/claims/{claim_id}").text
    assert "flagged at 0.270;" in page and "0.2702366574862589" not in page


def test_corrupt_dates_do_not_stretch_the_month_axis(world):
    with world["app"].state.sessions() as db:
        claim = db.scalars(select(Claim).where(Claim.hospital_id.is_not(None)).limit(1)).one()
        hospital_id = claim.hospital_id
        db.add(
            Claim(
                claim_id="CORRUPT-2016",
                hospital_id=hospital_id,
                hospital_level=claim.hospital_level,
                discharge_date=date(2016, 1, 1),
                scored=True,
                flagged=False,
                fraud_score=0.1,
            )
        )
        db.commit()
    client = login(world["app"], "sam")

    def charts(path: str) -> str:
        svgs = re.findall(r"<svg.*?</svg>", client.get(path).text, flags=re.S)
        assert svgs, path
        return "".join(svgs)

    assert "2016-01" not in charts("/indicators?fresh=1")
    assert "2016-01" not in charts(f"/hospitals/{hospital_id}")
    assert "2016-01" in client.get("/indicators/flags.csv").text  # the data keeps it


def test_region_names_and_beijing_time_in_the_interface(world):
    from datetime import datetime

    from review.templating import beijing

    assert beijing(datetime(2026, 3, 1, 17, 30)) == "2026-03-02 01:30"  # UTC+8
    # an exported UTC time (the labels page shows label rows) in Beijing time too
    assert beijing("2026-03-01T17:30:00Z") == "2026-03-02 01:30"
    assert beijing("") == "–" and beijing("not a time") == "not a time"
    client = login(world["app"], "sam")
    queue = client.get("/queue").text
    assert "Guangzhou" in queue or "Shenzhen" in queue
    assert re.search(r'<td class="region" data-code="(\d{6})">\1 [A-Z][a-z]+</td>', queue)
    audit = client.get("/audit").text
    assert "When (Beijing time)" in audit
    # Exports stay UTC.
    assert "submitted_at_utc" in client.get("/queue.csv").text.splitlines()[0]
