"""The review app over HTTP (FastAPI TestClient) on a real SQLite database.

Roles, CSRF, decisions and the audit log, label export, indicators against
the settlement records, and the rule that no identity number ever leaves.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from review.app import create_app
from settlement.money import parse_fen_text
from testkit.review_data import build_demo_db, demo_password
from tests.review_client import CSRF, login
from yibao.settings import Settings

# an 18-character identity number; national material codes (C + 19 digits) are not one
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
N_CLAIMS = 400


def empty_database(url: str) -> None:
    """Drop the review tables of an external test database (PostgreSQL runs)."""
    from sqlalchemy import create_engine, text

    from review.models import Base

    engine = create_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("review")
    # Set YIBAO_TEST_REVIEW_DATABASE_URL (e.g. postgresql+psycopg://...) to run
    # this module against another database; it is emptied first.
    url = os.environ.get("YIBAO_TEST_REVIEW_DATABASE_URL") or f"sqlite:///{root / 'review.db'}"
    if not url.startswith("sqlite"):
        empty_database(url)
    data = build_demo_db(url, N_CLAIMS)
    settings = Settings(data_dir=root, database_url=url, review_secret_key="s" * 40)
    data.update(root=root, url=url, settings=settings, app=create_app(settings))
    return data


def token_of(client: TestClient, path: str = "/queue") -> str:
    return CSRF.search(client.get(path).text).group(1)


def flagged_ids(world) -> list[str]:
    return [
        s["claim_id"]
        for s in sorted(world["scores"], key=lambda s: -s["fraud_score"])
        if s["flagged"]
    ]


def test_pages_need_login(world):
    client = TestClient(world["app"])
    response = client.get("/queue", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_secure_headers_and_cookie_flags(world):
    client = TestClient(world["app"])
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    over_tls = TestClient(world["app"], base_url="https://testserver").get("/login")
    assert "; secure" in over_tls.headers["set-cookie"].lower()


def test_wrong_password_then_rate_limited(world):
    from review.services import users

    client = TestClient(world["app"])
    token = token_of(client, "/login")
    for _ in range(5):
        bad = client.post("/login", data={"name": "clara", "password": "nope", "csrf_token": token})
        assert bad.status_code == 401
    right = {"name": "clara", "password": demo_password("clara"), "csrf_token": token}
    assert client.post("/login", data=right).status_code == 429
    # The lock-out is kept in the database; lifted as `yibao users unlock clara` does.
    with world["app"].state.sessions() as db:
        assert users.unlock(db, "clara") == 5
    assert client.post("/login", data=right).status_code == 200


@pytest.mark.parametrize(
    ("name", "path", "status"),
    [
        ("clara", "/audit", 403),
        ("clara", "/indicators", 403),
        ("clara", "/labels", 403),
        ("clara", "/labels/export.jsonl", 403),
        ("clara", "/queue", 200),
        ("dana", "/indicators", 200),
        ("dana", "/labels/export.jsonl", 200),
        ("dana", "/audit", 403),
        ("sam", "/audit", 200),
        ("sam", "/indicators", 200),
    ],
)
def test_role_checks(world, name, path, status):
    assert login(world["app"], name).get(path).status_code == status


def test_post_without_csrf_token_is_refused(world):
    client = login(world["app"], "clara")
    claim_id = flagged_ids(world)[-1]
    form = {"action": "clear", "note": "looks fine"}
    assert client.post(f"/claims/{claim_id}/decisions", data=form).status_code == 403
    wrong = {**form, "csrf_token": "forged"}
    assert client.post(f"/claims/{claim_id}/decisions", data=wrong).status_code == 403
    assert "looks fine" not in client.get(f"/claims/{claim_id}").text
    anonymous = TestClient(world["app"])
    assert anonymous.post("/login", data={"name": "sam", "password": "x"}).status_code == 403


def test_data_scientist_cannot_decide(world):
    client = login(world["app"], "dana")
    claim_id = flagged_ids(world)[-2]
    form = {"action": "clear", "note": "x", "csrf_token": token_of(client)}
    assert client.post(f"/claims/{claim_id}/decisions", data=form).status_code == 403


def test_decide_audit_override_and_labels(world):
    clerk, boss = login(world["app"], "clara"), login(world["app"], "sam")
    claim_id = flagged_ids(world)[0]
    token = token_of(clerk)
    empty = {"action": "confirm_fraud", "note": "  ", "csrf_token": token}
    assert clerk.post(f"/claims/{claim_id}/decisions", data=empty).status_code == 400

    form = {
        "action": "confirm_fraud",
        "fraud_type": "upcoding",
        "note": "bills do not match",
        "csrf_token": token,
    }
    page = clerk.post(f"/claims/{claim_id}/decisions", data=form)
    assert page.status_code == 200 and "bills do not match" in page.text
    assert "confirmed" in page.text
    # A clerk cannot change a final decision; a supervisor can, and it is an override.
    again = {"action": "clear", "note": "changed my mind", "csrf_token": token}
    assert clerk.post(f"/claims/{claim_id}/decisions", data=again).status_code == 403
    over = {"action": "clear", "note": "documents prove the stay", "csrf_token": token_of(boss)}
    assert boss.post(f"/claims/{claim_id}/decisions", data=over).status_code == 200

    audit = boss.get(f"/audit?claim_id={claim_id}").text
    assert "clara" in audit and "decide" in audit and "bills do not match" in audit
    assert "override" in audit and "sam" in audit

    labels = [json.loads(line) for line in boss.get("/labels/export.jsonl").text.splitlines()]
    row = next(r for r in labels if r["claim_id"] == claim_id)
    assert row["is_fraud"] is False and row["fraud_type"] is None
    assert row["decided_by_role"] == "supervisor"
    assert set(row) == {"claim_id", "is_fraud", "fraud_type", "decided_by_role", "decided_at"}


def test_decisions_are_append_only(world):
    from sqlalchemy import select

    from review.models import Decision

    with world["app"].state.sessions() as db:
        decision = db.scalars(select(Decision)).first()
        assert decision is not None
        decision.note = "rewritten"
        with pytest.raises(PermissionError):
            db.flush()
        db.rollback()
        db.delete(db.scalars(select(Decision)).first())
        with pytest.raises(PermissionError):
            db.flush()


def queue_ids(html: str) -> list[str]:
    return re.findall(r'<td><a href="/claims/([^"]+)">', html)


def test_queue_filters_and_paging(world):
    client = login(world["app"], "sam")
    by_id = {s["claim_id"]: s for s in world["scores"]}
    first = queue_ids(client.get("/queue?status=all").text)
    scores = [by_id[c]["fraud_score"] for c in first]
    assert len(first) == 50 and scores == sorted(scores, reverse=True)
    second = queue_ids(client.get("/queue?status=all&page=2").text)
    assert second and not set(first) & set(second)
    assert min(scores) >= max(by_id[c]["fraud_score"] for c in second)

    region = by_id[first[0]]["insured_region"]
    for c in queue_ids(client.get(f"/queue?status=all&region={region}").text):
        assert by_id[c]["insured_region"] == region
    rule = next(s["rule_hits"][0]["code"] for s in world["scores"] if s["rule_hits"])
    ruled = queue_ids(client.get(f"/queue?status=all&rule={rule}").text)
    assert ruled and all(rule in {h["code"] for h in by_id[c]["rule_hits"]} for c in ruled)
    dated = queue_ids(client.get("/queue?status=all&date_from=2026-03-01&date_to=2026-03-31").text)
    assert dated and all(by_id[c]["discharge_date"].startswith("2026-03") for c in dated)
    both = queue_ids(
        client.get(
            "/queue?status=all&scheme=resident&hospital=" + by_id[first[0]]["hospital_id"]
        ).text
    )
    assert all(by_id[c]["scheme"] == "resident" for c in both)


def test_assignment(world):
    boss, clerk = login(world["app"], "sam"), login(world["app"], "colin")
    page = boss.get("/queue?status=open&page=3").text
    ids = queue_ids(page)[:3]
    colin_id = re.search(r'<option value="(\d+)">colin', page).group(1)
    form = {"claim_ids": ids, "assignee": colin_id, "csrf_token": CSRF.search(page).group(1)}
    assert boss.post("/queue/assign", data=form).status_code == 200
    mine = queue_ids(clerk.get("/queue?assigned=me").text)
    assert set(ids) <= set(mine)
    # Clara cannot decide Colin's claim; a clerk cannot assign.
    clara = login(world["app"], "clara")
    token = token_of(clara)
    form = {"action": "clear", "note": "n", "csrf_token": token}
    assert clara.post(f"/claims/{ids[0]}/decisions", data=form).status_code == 403
    grab = {"claim_ids": ids, "assignee": "", "csrf_token": token}
    assert clara.post("/queue/assign", data=grab).status_code == 403


def test_claim_page_shows_breakdown_reasons_history_and_charts(world):
    client = login(world["app"], "clara")
    by_person = defaultdict(list)
    for claim in world["claims"]:
        by_person[claim["patient"]["person_id"]].append(claim["claim_id"])
    flagged = {s["claim_id"] for s in world["scores"] if s["flagged"]}
    claim_id = next(i for ids in by_person.values() if len(ids) > 1 for i in ids if i in flagged)
    record = next(r for r in world["records"] if r["claim_id"] == claim_id)
    html = client.get(f"/claims/{claim_id}").text
    assert record["policy_version"] in html and record["fund_pay"] in html
    assert "deductible" in html and "ratio" in html
    score = next(s for s in world["scores"] if s["claim_id"] == claim_id)
    assert score["reasons"][0]["text"].split(" for ")[0] in html.replace("&#39;", "'")
    others = [i for ids in by_person.values() if claim_id in ids for i in ids if i != claim_id]
    assert all(f"/claims/{o}" in html for o in others)
    assert html.count("<svg") == 4 and "Cost per stay" in html and "Flag rate" in html


def test_indicators_match_the_settlement_records(world):
    client = login(world["app"], "sam")
    rows = list(csv_rows(client.get("/indicators/rate_by_scheme.csv").text))
    scheme_of = {c["claim_id"]: c["patient"]["scheme"] for c in world["claims"]}
    totals = defaultdict(lambda: [0, 0])
    for record in world["records"]:
        if record["status"] == "settled":
            t = totals[scheme_of[record["claim_id"]]]
            t[0] += parse_fen_text(record["total"])
            t[1] += parse_fen_text(record["fund_pay"])
    for row in rows:
        total, fund = totals[row["scheme"]]
        assert parse_fen_text(row["total"]) == total and parse_fen_text(row["fund_pay"]) == fund
        assert abs(float(row["effective_rate"]) - fund / total) < 0.0001

    from settlement.clearing import clear_period

    clearing = list(csv_rows(client.get("/indicators/clearing.csv").text))
    months = sorted({r["discharge_date"][:7] for r in world["records"]})
    expected = [row for m in months for row in clear_period(world["records"], m)]
    assert clearing == [{k: str(v) for k, v in row.items()} for row in expected]
    for name in ("rate_by_claim_type", "rate_by_level", "delay", "fund_by_region_month", "flags"):
        assert len(client.get(f"/indicators/{name}.csv").text.splitlines()) > 1, name


def csv_rows(text: str):
    import csv
    import io

    return csv.DictReader(io.StringIO(text))


def test_no_identity_number_in_pages_logs_or_exports(world, caplog):
    """Crawl every page a user can reach and grep for an 18-char identity number."""
    assert any(
        ID_NUMBER.search(c["patient"]["person_id"]) for c in world["claims"]
    )  # the data has them
    caplog.set_level(logging.DEBUG)
    client = login(world["app"], "sam")
    seen: set[str] = set()
    todo = ["/queue", "/queue?status=all", "/hospitals", "/indicators", "/audit", "/labels"]
    todo += [f"/claims/{c}" for c in flagged_ids(world)[:25]]
    bodies = []
    while todo and len(seen) < 160:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        assert response.status_code == 200, path
        bodies.append(response.text)
        for link in re.findall(
            r'href="(/(?:claims|hospitals|indicators|labels)[^"]*)"', response.text
        ):
            todo.append(link.replace("&amp;", "&"))
    assert len(seen) > 60
    for body in bodies:
        assert not ID_NUMBER.search(body)
    assert not ID_NUMBER.search(caplog.text)
    # A number typed into a filter is not echoed (the test client logs its own URL).
    typed = world["claims"][0]["patient"]["person_id"]
    for path in (f"/queue?hospital={typed}", f"/audit?claim_id={typed}&who={typed}"):
        assert not ID_NUMBER.search(client.get(path).text)
    assert not ID_NUMBER.search(client.get("/labels/export.jsonl").text)


def test_cli_users_load_and_label_export(world, tmp_path):
    claims = tmp_path / "claims.jsonl"
    claims.write_text("".join(json.dumps(c) + "\n" for c in world["claims"][:50]))
    records = tmp_path / "settlements.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in world["records"][:50]))
    scores = tmp_path / "scores.jsonl"
    scores.write_text("".join(json.dumps(s) + "\n" for s in world["scores"][:50]))
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
    }
    env.pop("YIBAO_USER_PASSWORD", None)
    yibao = [sys.executable, "-m", "yibao.cli"]

    def run(*args: str, **kw) -> subprocess.CompletedProcess:
        done = subprocess.run([*yibao, *args], env=env, capture_output=True, text=True, **kw)
        assert done.returncode == 0, done.stderr
        return done

    loaded = run(
        "review",
        "load",
        "--claims",
        str(claims),
        "--settlements",
        str(records),
        "--scores",
        str(scores),
    )
    assert "claims: 50 loaded" in loaded.stdout and "scores: 50 loaded" in loaded.stdout
    run("users", "add", "olga", "--role", "supervisor", "--password", "olga-secret-1")
    run("users", "disable", "olga")
    bad = subprocess.run(
        [*yibao, "users", "add", "x", "--role", "boss", "--password", "abcdefgh1"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0
    out = tmp_path / "labels.jsonl"
    run("labels", "export", "-o", str(out))
    assert out.read_text() == ""
    assert not ID_NUMBER.search(loaded.stdout + loaded.stderr)

    from models.data import read_labels

    exported = Path(world["root"]) / "labels.jsonl"
    env["DATABASE_URL"] = world["url"]
    run("labels", "export", "-o", str(exported))
    text = exported.read_text()
    assert text and not ID_NUMBER.search(text)
    assert read_labels(exported)  # `yibao train --labels` reads it


def test_migrations_match_the_models(world):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from review.models import Base

    with world["app"].state.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_disabled_user_is_logged_out_at_the_next_request(world):
    from datetime import datetime

    from sqlalchemy import select

    from review.models import User
    from review.security import hash_password

    with world["app"].state.sessions() as db:
        db.add(
            User(
                name="temp",
                role="clerk",
                password_hash=hash_password(demo_password("temp")),
                created_at=datetime(2026, 1, 1),
            )
        )
        db.commit()
    client = login(world["app"], "temp")
    assert client.get("/queue").status_code == 200
    with world["app"].state.sessions() as db:
        db.scalar(select(User).where(User.name == "temp")).active = False
        db.commit()
    response = client.get("/queue", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
