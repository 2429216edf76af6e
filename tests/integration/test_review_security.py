"""The review app's security findings (issue 17), each reproduced over HTTP and refused.

A real SQLite database with the demo data; each test names the finding it closes.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from review.app import create_app
from review.errors import InvalidInput, NotFound
from review.models import AuditEntry, Claim, Decision, Settlement, User
from review.security import hash_password
from review.services import decisions, users
from testkit.review_data import build_demo_db, demo_password
from tests.review_client import CSRF, login
from yibao.settings import Settings

# an 18-character identity number; national material codes (C + 19 digits) are not one
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
TYPED = "110101199003077777"  # an identity number typed where it does not belong


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("review-security")
    url = f"sqlite:///{root / 'review.db'}"
    data = build_demo_db(url, 120)
    settings = Settings(data_dir=root, database_url=url, review_secret_key="s" * 40)
    data.update(root=root, url=url, settings=settings, app=create_app(settings))
    return data


def token_of(client: TestClient, path: str = "/queue") -> str:
    return CSRF.search(client.get(path).text).group(1)


def add_user(app, name: str, role: str) -> None:
    with app.state.sessions() as db:
        db.add(
            User(
                name=name,
                role=role,
                password_hash=hash_password(demo_password(name)),
                created_at=datetime(2026, 1, 1),
            )
        )
        db.commit()


def flagged_id(world, n: int = 0) -> str:
    return [s["claim_id"] for s in world["scores"] if s["flagged"]][n]


def assert_normal_error_page(response, status: int) -> None:
    """The error page with the secure headers, the navigation and the log-out button."""
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert "Content-Security-Policy" in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert 'href="/queue"' in response.text and "Log out" in response.text


@pytest.mark.parametrize("param", ["region", "rule", "scheme", "date_from", "assigned", "page"])
def test_queue_filters_never_echo_an_identity_number(world, param):
    client = login(world["app"], "sam")
    response = client.get(f"/queue?{param}={TYPED}")
    assert response.status_code in (200, 400)
    assert not ID_NUMBER.search(response.text)
    if param == "page":  # was FastAPI's 422 JSON echoing the input
        assert_normal_error_page(response, 400)


@pytest.mark.parametrize(
    "path",
    [
        "/queue?assigned=99999999999999999999",
        f"/hospitals?page={10**21}",
        f"/audit?page={10**21}",
        "/queue?date_from=2026-13-45",
        "/queue?status=bogus",
    ],
)
def test_bad_query_values_answer_400_not_500(world, path):
    client = login(world["app"], "sam")
    assert_normal_error_page(client.get(path), 400)


def test_error_pages_keep_the_navigation(world):
    client = login(world["app"], "clara")
    assert_normal_error_page(client.get("/claims/no-such-claim"), 404)
    assert_normal_error_page(client.get("/audit"), 403)


def test_an_unexpected_failure_is_a_500_page_with_headers(world, monkeypatch):
    import review.routers.queue as queue_router

    def broken(*_args, **_kw):
        raise RuntimeError("boom")

    client = login(world["app"], "sam")
    monkeypatch.setattr(queue_router, "queue_page", broken)
    assert_normal_error_page(client.get("/queue"), 500)


def test_a_settlement_with_a_null_region_does_not_break_the_indicators(world):
    with world["app"].state.sessions() as db:
        db.add(
            Settlement(
                claim_id="NULL-REGION-1",
                status="settled",
                claim_type="inpatient",
                discharge_date=date(2026, 2, 3),
                intercity=True,
                insured_region=None,
                treatment_region=None,
                total_fen=10000,
                fund_pay_fen=5000,
                record_json="{}",
            )
        )
        db.commit()
    client = login(world["app"], "sam")
    assert client.get("/indicators?fresh=1").status_code == 200
    text = client.get("/indicators/fund_by_region_month.csv").text
    assert any(row["region"] == "unknown" for row in csv.DictReader(io.StringIO(text)))


def test_csv_downloads_neutralise_formulas_and_are_not_cached(world):
    with world["app"].state.sessions() as db:
        db.add(
            Settlement(
                claim_id="FORMULA-1",
                status="settled",
                claim_type="inpatient",
                discharge_date=date(2026, 2, 4),
                intercity=False,
                insured_region="=1+2",
                treatment_region="@SUM",
                total_fen=10000,
                fund_pay_fen=5000,
                record_json="{}",
            )
        )
        db.commit()
    client = login(world["app"], "sam")
    client.get("/indicators?fresh=1")
    response = client.get("/indicators/fund_by_region_month.csv")
    assert response.headers["Cache-Control"] == "no-store"
    cells = [cell for row in csv.reader(io.StringIO(response.text)) for cell in row]
    assert "'=1+2" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert not [c for c in cells if c.startswith("-") and not re.fullmatch(r"-[0-9.]+", c)]
    labels = client.get("/labels/export.jsonl")
    assert labels.headers["Cache-Control"] == "no-store"


def test_notes_and_audit_details_are_masked_when_written(world):
    claim_id = flagged_id(world, 0)
    with world["app"].state.sessions() as db:
        sam = db.scalar(select(User).where(User.name == "sam"))
        decisions.decide(db, sam, claim_id, "request_documents", f"patient {TYPED} called")
        note = db.scalar(select(Decision.note).where(Decision.claim_id == claim_id))
        details = db.scalars(select(AuditEntry.detail).where(AuditEntry.claim_id == claim_id))
        assert TYPED not in note and "110101********7777" in note
        assert not any(ID_NUMBER.search(d) for d in details)


def test_fraud_type_comes_from_the_fixed_list(world):
    claim_id = flagged_id(world, 1)
    client = login(world["app"], "sam")
    token = token_of(client)
    form = {"action": "confirm_fraud", "note": "n", "csrf_token": token}
    refused = client.post(f"/claims/{claim_id}/decisions", data={**form, "fraud_type": TYPED})
    assert_normal_error_page(refused, 400)
    assert not ID_NUMBER.search(refused.text)
    taken = client.post(f"/claims/{claim_id}/decisions", data={**form, "fraud_type": "other"})
    assert taken.status_code == 200
    with world["app"].state.sessions() as db:
        kinds = db.scalars(select(Decision.fraud_type).where(Decision.claim_id == claim_id)).all()
    assert kinds == ["other"]


def test_assignment_only_to_active_reviewers_and_existing_claims(world):
    add_user(world["app"], "gone", "clerk")
    with world["app"].state.sessions() as db:
        users.disable_user(db, "gone")
        sam = db.scalar(select(User).where(User.name == "sam"))
        for name in ("dana", "gone"):
            target = db.scalar(select(User).where(User.name == name))
            with pytest.raises(InvalidInput):
                decisions.assign(db, sam, [flagged_id(world, 2)], target.id)
        clara = db.scalar(select(User).where(User.name == "clara"))
        with pytest.raises(NotFound):
            decisions.assign(db, sam, [flagged_id(world, 2), "NO-SUCH-CLAIM"], clara.id)
        assert db.get(Claim, flagged_id(world, 2)).assigned_to is None


def test_assign_redirects_only_to_local_paths(world):
    client = login(world["app"], "sam")
    token = token_of(client)
    with world["app"].state.sessions() as db:
        clara = db.scalar(select(User).where(User.name == "clara"))
    for back in ("//evil.example/x", "https://evil.example/x", "/\\evil.example", "/queue\r\n"):
        response = client.post(
            "/queue/assign",
            data={
                "claim_ids": flagged_id(world, 3),
                "assignee": str(clara.id),
                "back": back,
                "csrf_token": token,
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/queue", back


def test_a_password_change_ends_older_sessions(world):
    add_user(world["app"], "pat", "clerk")
    old = login(world["app"], "pat")
    assert old.get("/queue").status_code == 200
    with world["app"].state.sessions() as db:
        users.save_user(db, "pat", "clerk", "a-new-password")
    response = old.get("/queue", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    fresh = login(world["app"], "pat", "a-new-password")
    assert fresh.get("/queue").status_code == 200
    with world["app"].state.sessions() as db:
        users.disable_user(db, "pat")
        users.save_user(db, "pat", "clerk", "a-new-password")  # enabled again
    assert fresh.get("/queue", follow_redirects=False).status_code == 303


def proxied_app(world, **settings):
    base = world["settings"].model_dump()
    return create_app(Settings(**{**base, **settings}))


def test_hsts_only_over_tls_from_a_trusted_proxy(world):
    app = proxied_app(world, review_trusted_proxies="10.0.0.1")
    tls = {"X-Forwarded-Proto": "https"}
    behind_proxy = TestClient(app, client=("10.0.0.1", 4000)).get("/login", headers=tls)
    assert "max-age=" in behind_proxy.headers["Strict-Transport-Security"]
    assert "; secure" in behind_proxy.headers["set-cookie"].lower()
    direct = TestClient(app, client=("192.0.2.9", 4000)).get("/login", headers=tls)
    assert "Strict-Transport-Security" not in direct.headers
    plain = TestClient(app, client=("10.0.0.1", 4000)).get("/login")
    assert "Strict-Transport-Security" not in plain.headers


def failed_logins(client: TestClient, name: str, times: int, headers=None) -> list[int]:
    token = CSRF.search(client.get("/login").text).group(1)
    return [
        client.post(
            "/login",
            data={"name": name, "password": "wrong", "csrf_token": token},
            headers=headers or {},
        ).status_code
        for _ in range(times)
    ]


def test_x_forwarded_for_is_ignored_from_untrusted_clients(world):
    app = proxied_app(world, review_login_failures_per_address=4)
    client = TestClient(app, client=("192.0.2.10", 4000))
    statuses = [
        failed_logins(client, f"nobody{n}", 1, {"X-Forwarded-For": f"198.51.100.{n}"})[0]
        for n in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]  # one address, whatever it claims
    with app.state.sessions() as db:
        users.unlock(db, address="192.0.2.10")


def test_lockout_is_per_user_and_address_audited_and_unlockable(world):
    app = proxied_app(world, review_trusted_proxies="10.0.0.1")
    proxy = TestClient(app, client=("10.0.0.1", 4000))
    attacker = {"X-Forwarded-For": "203.0.113.66"}
    assert failed_logins(proxy, "colin", 6, attacker) == [401] * 5 + [429]
    # colin at his own desk is not locked out by a stranger's guesses.
    desk = login(app, "colin", client=("10.0.0.1", 4000), headers={"X-Forwarded-For": "10.9.9.9"})
    assert desk.get("/queue").status_code == 200
    assert failed_logins(proxy, "colin", 1, attacker) == [429]
    with app.state.sessions() as db:
        actions = db.scalars(
            select(AuditEntry.action).where(AuditEntry.detail.contains("'colin' from 203.0.113.66"))
        ).all()
        assert actions.count("login_failed") == 5 and "login_locked" in actions
        rows = {row.name: row for row in users.list_users(db, users.LockoutPolicy())}
        assert rows["colin"].locked_out and rows["colin"].recent_failures == 5
        assert users.unlock(db, "colin") == 5
    assert failed_logins(proxy, "colin", 1, attacker) == [401]
    with app.state.sessions() as db:
        users.unlock(db, "colin")


def test_cli_users_list_and_unlock(world, tmp_path):
    env = {**os.environ, "DATA_DIR": str(world["root"]), "DATABASE_URL": world["url"]}
    app = proxied_app(world)
    failed_logins(TestClient(app, client=("192.0.2.77", 4000)), "clara", 5)
    yibao = [sys.executable, "-m", "yibao.cli", "users"]
    listed = subprocess.run([*yibao, "list"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    clara_line = next(line for line in listed.stdout.splitlines() if line.startswith("clara "))
    assert "clerk" in clara_line and "active" in clara_line and "locked out" in clara_line
    done = subprocess.run([*yibao, "unlock", "clara"], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "5 failed logins forgotten" in done.stdout
    login(app, "clara", client=("192.0.2.77", 4000))
