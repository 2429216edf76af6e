"""The review app's DIP pages over HTTP on a real SQLite database, against the commands.

Simulated claims and their `yibao settle` records are loaded with `yibao review load`;
the hospital DIP page and the supervisors' area summary must show what `yibao dip year`
and `yibao dip month` print for the same two files, to the ten-thousandth and the fen.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from review.app import create_app
from review.db import make_engine, session_factory
from testkit.review_data import add_demo_users
from tests.review_client import login
from yibao.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
CLI = [sys.executable, "-m", "yibao.cli"]
# an 18-character identity number; national material codes (C + 19 digits) are not one
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")


def yibao(*args: str | Path, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        [*CLI, *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    ).stdout


def records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


MARKED_PROCEDURES = ["47.01", "96.0800x005"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("review-dip")
    simulated = root / "simulated.jsonl"
    yibao("simulate", "--seed", "6", "--claims", "2500", "-o", simulated)
    lines = []
    for i, line in enumerate(simulated.read_text().splitlines()):
        obj = json.loads(line)
        if obj["claim_type"] == "inpatient" and i % 7 == 0:
            obj["procedures"] = MARKED_PROCEDURES
            # a secondary diagnosis other than the principal (dip.md section 1)
            obj["diagnoses"] = ["I10"] if obj["diagnosis"] != "I10" else ["E11.9"]
            obj["discharge_way"] = 4
        lines.append(json.dumps(obj, ensure_ascii=False))
    claims, settlements = root / "claims.jsonl", root / "settlements.jsonl"
    claims.write_text("\n".join(lines) + "\n")
    yibao("settle", claims, "-o", settlements)
    url = f"sqlite:///{root / 'review.db'}"
    env = {"DATABASE_URL": url, "DATA_DIR": str(root)}
    yibao("review", "load", "--claims", claims, "--settlements", settlements, env=env)
    engine = make_engine(url)
    with session_factory(engine)() as db:
        add_demo_users(db, datetime.now(UTC).replace(tzinfo=None))
        db.commit()
    engine.dispose()
    settings = Settings(data_dir=root, database_url=url, review_secret_key="s" * 40)
    year = records(yibao("dip", "year", "--year", "2026", claims, settlements))
    months = {
        f"2026-{m:02d}": records(
            yibao("dip", "month", "--period", f"2026-{m:02d}", claims, settlements)
        )
        for m in range(1, 13)
    }
    return {
        "app": create_app(settings),
        "claims": [json.loads(line) for line in lines],
        "year": year,
        "months": months,
        "url": url,
    }


def field(page: str, key: str) -> str:
    """The text of the element marked ``data-k="key"`` (tags inside stripped)."""
    found = re.search(rf'data-k="{key}"[^>]*>(.*?)</(dd|span|strong)>', page, re.S)
    assert found, f"no {key} on the page"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def month_rows(page: str) -> dict[str, list[str]]:
    rows = re.findall(r'<tr data-period="([0-9-]+)">(.*?)</tr>', page, re.S)
    return {p: re.findall(r"<td[^>]*>(.*?)</td>", cells) for p, cells in rows}


def test_hospital_dip_page_equals_yibao_dip_year_and_month(world):
    client = login(world["app"], "clara")  # a clerk may read it, like every hospital page
    hospitals = [r for r in world["year"] if r["record"] == "hospital"]
    region_of = {r["region"]: r for r in world["year"] if r["record"] == "region"}
    assert len(hospitals) >= 5
    for rec in hospitals:
        response = client.get(f"/hospitals/{rec['hospital_id']}/dip?year=2026")
        assert response.status_code == 200
        page = response.text
        for key in ("points", "item_fund", "patient_borne", "entitlement", "compensation"):
            assert field(page, key) == rec[key], (rec["hospital_id"], key)
        for key in ("surplus", "annual", "advances", "balance"):
            assert field(page, key) == rec[key], (rec["hospital_id"], key)
        assert field(page, "grouped") == str(rec["cases"])
        assert field(page, "point_value") == region_of[rec["region"]]["point_value"]
        against = int(rec["entitlement"].replace(".", "")) - int(rec["item_fund"].replace(".", ""))
        assert (
            field(page, "against_items")
            == f"{'-' if against < 0 else ''}{abs(against) // 100}.{abs(against) % 100:02d}"
        )
        expected_months = {
            period: m
            for period, rows in world["months"].items()
            for m in rows
            if m["hospital_id"] == rec["hospital_id"] and m["region"] == rec["region"]
        }
        got = month_rows(page)
        assert set(got) == set(expected_months)
        for period, m in expected_months.items():
            assert got[period][1:5] == [str(m["cases"]), m["points"], m["item_fund"], m["advance"]]
        shares = [field(page, k) for k in ("low", "normal", "high")]
        assert sum(int(s.replace(".", "")) for s in shares) in (9999, 10000, 10001)
        assert re.fullmatch(r"[0-9]+\.[0-9]{4}", field(page, "cmi"))


def test_area_summary_for_supervisors_equals_the_region_records(world):
    assert login(world["app"], "clara").get("/dip").status_code == 403
    assert login(world["app"], "dana").get("/dip").status_code == 403
    page = login(world["app"], "sam").get("/dip?year=2026").text
    regions = [r for r in world["year"] if r["record"] == "region"]
    assert regions
    for rec in regions:
        section = page.split(f'id="area-{rec["region"]}"', 1)[1].split("</section>", 1)[0]
        for key in (
            "point_value",
            "budget",
            "reserve",
            "distributable",
            "points",
            "patient_borne",
            "compensation",
            "reserve_left",
            "special_review_share",
        ):
            assert field(section, key) == rec[key], (rec["region"], key)
        for key in ("cases", "excluded", "unassigned"):
            assert field(section, key) == str(rec[key])
        hospitals = [
            h for h in world["year"] if h["record"] == "hospital" and h["region"] == rec["region"]
        ]
        item_fund = sum(int(h["item_fund"].replace(".", "")) for h in hospitals)
        assert field(section, "item_fund") == f"{item_fund // 100}.{item_fund % 100:02d}"
        annual = sum(int(h["annual"].replace(".", "")) for h in hospitals)
        budget, left = (int(rec[k].replace(".", "")) for k in ("budget", "reserve_left"))
        assert annual == budget - left  # the spec's invariant, on the page's own figures
        for h in hospitals:
            assert f'data-hospital="{h["hospital_id"]}"' in section
    # Foshan pays by DRG: no DIP file, so no area section for it
    assert 'id="area-440600"' not in page


def test_a_hospital_outside_dip_and_an_unknown_one(world):
    client = login(world["app"], "dana")
    foshan = next(c["hospital"]["hospital_id"] for c in world["claims"]
                  if c["hospital"]["region"] == "440600")  # fmt: skip
    assert "has no DIP policy" in client.get(f"/hospitals/{foshan}/dip").text
    assert client.get("/hospitals/NO-SUCH/dip").status_code == 404
    assert (
        client.get("/hospitals/NO-SUCH/dip?year=abc").status_code == 400
    )  # a bad query value: the 400 page, not 422 JSON


def test_claim_page_shows_the_dip_fields(world):
    client = login(world["app"], "clara")
    # one this test marked (the simulator codes procedures of its own too)
    claim = next(c for c in world["claims"] if c.get("procedures") == MARKED_PROCEDURES)
    page = client.get(f"/claims/{claim['claim_id']}").text
    assert field(page, "procedures") == "47.01 (principal), 96.0800x005"
    named = {  # each secondary diagnosis with its ICD-10 name (review/reference_data)
        "I10": "I10 特发性(原发性)高血压 essential (primary) hypertension",
        "E11.9": "E11.9 2型糖尿病不伴有并发症 type 2 diabetes mellitus without complications",
    }
    assert field(page, "diagnoses") == named[claim["diagnoses"][0]]
    assert field(page, "discharge_way") == "4 · against medical advice"
    plain = next(c for c in world["claims"] if c["claim_type"] == "inpatient"
                 and not c.get("procedures") and c.get("discharge_way", 1) == 1)  # fmt: skip
    page = client.get(f"/claims/{plain['claim_id']}").text
    assert field(page, "procedures") == "none"
    assert field(page, "discharge_way").startswith("1 · on medical advice")


def test_dip_pages_show_no_identity_number(world):
    client = login(world["app"], "sam")
    pages = ["/dip", "/dip?year=2026"]
    pages += [
        f"/hospitals/{r['hospital_id']}/dip" for r in world["year"] if r["record"] == "hospital"
    ]
    for path in pages:
        assert not ID_NUMBER.search(client.get(path).text), path


def test_the_procedures_column_is_filled_for_claims_loaded_before_it(world, tmp_path):
    """Migration 0003 takes the codes from the stored claim JSON."""
    from alembic import command
    from alembic.config import Config

    from review.db import MIGRATIONS_DIR

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        for claim_id, body in (
            ("A", {"procedures": ["47.01", "54.21"]}),
            ("B", {}),
            ("C", {"procedures": "47.01"}),
        ):
            connection.execute(
                text(
                    "INSERT INTO claims (claim_id, claim_json, readmission, scored, flagged,"
                    " fraud_score, status) VALUES (:c, :j, 0, 0, 0, 0, 'open')"
                ),
                {"c": claim_id, "j": json.dumps(body)},
            )
        command.upgrade(config, "head")
        got = dict(connection.execute(text("SELECT claim_id, procedures FROM claims")).all())
    engine.dispose()
    assert got == {"A": "47.01,54.21", "B": "", "C": None}
