"""Queue page server time with 100,000 flagged claims in a SQLite database.

Loads generated claims and (fabricated, all flagged) score records into a
temporary database, then times GET /queue through the ASGI app in-process (the
whole server side: routing, session, SQL, template) for first, deep and
filtered pages. Target: p95 under 300 ms. Run:
PYTHONPATH=. .venv/bin/python -m benchmarks.review_queue (as a script, benchmarks/dip.py
would hide the dip package).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

SCENARIOS = [
    ("first page", "/queue"),
    ("page 2", "/queue?page=2"),
    ("deep page 1000", "/queue?page=1000"),
    ("last page", "/queue?page=2000"),
    ("all statuses, deep", "/queue?status=all&page=1500"),
    ("region", "/queue?region=440100"),
    ("region, deep", "/queue?region=440100&page=300"),
    ("hospital", "/queue?hospital=H440300-07"),
    ("rule", "/queue?rule=READMIT_SAME_DX"),
    ("rule, deep", "/queue?rule=READMIT_SAME_DX&page=200"),
    ("scheme + dates", "/queue?scheme=resident&date_from=2026-02-01&date_to=2026-02-28"),
    (
        "region + scheme + rule + dates",
        "/queue?region=441800&scheme=employee&rule=COST_OUTLIER&date_from=2026-03-01&date_to=2026-04-30",
    ),
    ("unassigned, deep", "/queue?assigned=unassigned&page=800"),
    ("search claim id", "/queue?status=all&q={claim_id}"),
    ("search hospital", "/queue?q=H440300-07"),
    ("search patient (full id number)", "/queue?status=all&q={person_id}"),
    ("sort by total", "/queue?sort=total&dir=asc"),
    ("sort by total, deep", "/queue?sort=total&page=1000"),
    ("sort by hospital, deep", "/queue?sort=hospital&dir=asc&page=500"),
    ("sort by age (oldest first)", "/queue?sort=age"),
    ("region, sort by discharged", "/queue?region=440100&sort=discharged"),
    ("audit result certain", "/queue?result=certain"),
    ("audit result suspicious, deep", "/queue?result=suspicious&page=300"),
    ("audit rule + result", "/queue?rule=YB-XD-001&result=suspicious"),
    ("audit result + region", "/queue?result=certain&region=440100"),
]


def audit_hits(i: int) -> list[dict[str, object]]:
    """Fabricated audit-rule hits (docs/rules.md's shape): a certain hit on every 20th
    claim, a suspicious one on every 4th, so the result filters have work to do."""
    hits: list[dict[str, object]] = []
    evidence = {"rule": "benchmark", "knowledge": {"row": "restriction.csv:2"}, "observed": {}}
    if i % 20 == 0:
        hits.append({"rule_code": "YB-XB-002", "result": "certain", "item_index": 0,
                     "item_code": "311201001000000", "evidence": evidence,
                     "amount_at_stake": "20.00"})  # fmt: skip
    if i % 4 == 1:
        hits.append({"rule_code": "YB-XD-001", "result": "suspicious", "item_index": 0,
                     "item_code": "XJ01DHM046B0", "evidence": evidence,
                     "amount_at_stake": "95.00"})  # fmt: skip
    return hits


def build(root: Path, n: int, url: str | None = None) -> tuple[str, dict[str, str]]:
    """The database URL, and a claim id and identity number in it for the search scenarios."""
    from datetime import datetime

    from sqlalchemy import text

    from review import ingest
    from review.db import make_engine, session_factory, upgrade_head
    from review.derived import refresh_derived
    from testkit.review_data import add_demo_users, fake_score, make_claims

    if url:  # an external database (PostgreSQL): empty the review tables first
        from review.models import Base

        engine = make_engine(url)
        with engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    url = url or f"sqlite:///{root / 'review.db'}"
    engine = make_engine(url)
    upgrade_head(engine)
    started = time.perf_counter()
    claims = make_claims(n, seed=3, hospitals=60)
    scores = [fake_score(c, "100.00", threshold=0.0) for c in claims]  # all flagged
    for i, score in enumerate(scores):
        score["audit_hits"] = audit_hits(i)
    with session_factory(engine)() as db:
        ingest.load_claim_objects(db, claims)
        ingest.load_score_objects(db, scores)
        refresh_derived(db)
        add_demo_users(db, datetime(2026, 1, 1))
        db.commit()
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load; index-only scans need it.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE claims"))
    print(f"loaded {n} flagged claims in {time.perf_counter() - started:.1f} s")
    engine.dispose()
    middle = claims[n // 2]
    return url, {"claim_id": middle["claim_id"], "person_id": middle["patient"]["person_id"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--database-url", help="Use this (emptied!) database instead of a temporary SQLite file."
    )
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from review.app import create_app
    from testkit.review_data import demo_password
    from yibao.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url, known = build(root, args.claims, args.database_url)
        app = create_app(Settings(data_dir=root, database_url=url, review_secret_key="x" * 40))
        client = TestClient(app)
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]
        client.post(
            "/login", data={"name": "sam", "password": demo_password("sam"), "csrf_token": token}
        )
        everything: list[float] = []
        print(f"{'scenario':34} {'rows':>7} {'median ms':>10} {'p95 ms':>8}")
        for label, template in SCENARIOS:
            path = template.format(**known)
            client.get(path)  # warm the page cache once
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            matched = re.search(r"<small>(\d+) matching</small>", response.text)
            everything += times
            times.sort()
            p95 = times[max(0, int(len(times) * 0.95 + 0.5) - 1)]
            rows = matched[1] if matched else "?"
            print(f"{label:34} {rows:>7} {statistics.median(times):10.1f} {p95:8.1f}")
        everything.sort()
        p95 = everything[int(len(everything) * 0.95) - 1]
        print(
            f"ALL {len(everything)} requests: median {statistics.median(everything):.1f} ms, "
            f"p95 {p95:.1f} ms, max {everything[-1]:.1f} ms (target p95 < 300 ms)"
        )


if __name__ == "__main__":
    main()
