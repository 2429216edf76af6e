"""Queue page server time with 100,000 flagged claims, on SQLite and on PostgreSQL.

Loads generated claims and (fabricated, all flagged) score records into a
temporary SQLite database, and with ``--postgres`` (a private server from Debian's
binaries) or ``--database-url`` into PostgreSQL as well, then times GET /queue
through the ASGI app in-process (the whole server side: routing, session, SQL,
template) for first, deep and filtered pages, searches and sorts, each scenario on
both databases in turn. Target: p95 under 300 ms. Run:
PYTHONPATH=. .venv/bin/python -m benchmarks.review_queue --postgres (as a script,
benchmarks/dip.py would hide the dip package).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

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


def build(root: Path, claims: list[dict[str, Any]], url: str | None = None) -> str:
    """Load the claims (all flagged) into a migrated database; its URL."""
    from datetime import datetime

    from sqlalchemy import text

    from review import ingest
    from review.db import make_engine, session_factory, upgrade_head
    from review.derived import refresh_derived
    from testkit.review_data import add_demo_users, fake_score

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
            connection.execute(text("VACUUM ANALYZE"))
    name = engine.dialect.name
    print(f"{name}: loaded {len(claims)} flagged claims in {time.perf_counter() - started:.1f} s")
    engine.dispose()
    return url


def logged_in(url: str, root: Path) -> Any:
    """A test client of the app on this database, logged in as a supervisor."""
    from fastapi.testclient import TestClient

    from review.app import create_app
    from testkit.review_data import demo_password
    from yibao.settings import Settings

    app = create_app(Settings(data_dir=root, database_url=url, review_secret_key="x" * 40))
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]
    client.post(
        "/login", data={"name": "sam", "password": demo_password("sam"), "csrf_token": token}
    )
    return client


def p95_of(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)]


def timed(client: Any, path: str, repeat: int) -> tuple[str, list[float]]:
    """Matching rows and the server times (ms) of ``repeat`` requests after a warm one."""
    client.get(path)  # warm the page cache once
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    matched = re.search(r"<small>(\d+) matching</small>", response.text)
    return (matched[1] if matched else "?"), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--database-url",
        help="Also measure this (emptied!) database, e.g. postgresql+psycopg://..., beside SQLite.",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="Also measure a private PostgreSQL server started from Debian's binaries.",
    )
    args = parser.parse_args()

    from testkit.review_data import make_claims

    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        other = args.database_url
        if args.postgres and not other:
            from testkit.postgres import debian_bindir, private_server

            bindir = debian_bindir()
            if bindir is None:
                parser.error("--postgres needs Debian's postgresql package (apt-get install)")
            # durable settings (fsync on), as a production server runs
            other = stack.enter_context(private_server(bindir, ("review",), fast=False))["review"]
        claims = make_claims(args.claims, seed=3, hospitals=60)
        middle = claims[len(claims) // 2]
        known = {"claim_id": middle["claim_id"], "person_id": middle["patient"]["person_id"]}
        urls = {"sqlite": build(root, claims)}
        if other:
            urls[make_url(other).get_backend_name()] = build(root, claims, other)
        clients = {name: logged_in(url, root) for name, url in urls.items()}
        report(clients, known, args.repeat)


def report(clients: dict[str, Any], known: dict[str, str], repeat: int) -> None:
    """Time every scenario on each database in turn; print medians, p95s and ratios."""
    names = list(clients)
    everything: dict[str, list[float]] = {name: [] for name in names}
    header = f"{'scenario':34} {'rows':>7}"
    for name in names:
        header += f" {name + ' median':>17} {name + ' p95':>14}"
    if len(names) == 2:
        header += f" {'p95 ratio':>10}"
    print(header + "   (ms)")
    for label, template in SCENARIOS:
        path = template.format(**known)
        line, p95s, rows = "", [], set()
        for name in names:
            matched, times = timed(clients[name], path, repeat)
            rows.add(matched)
            everything[name] += times
            p95s.append(p95_of(times))
            line += f" {statistics.median(times):17.1f} {p95s[-1]:14.1f}"
        if len(names) == 2:
            line += f" {p95s[1] / p95s[0]:10.2f}"
        # Both databases must agree on what matches.
        assert len(rows) == 1, (label, rows)
        print(f"{label:34} {rows.pop():>7}" + line)
    for name in names:
        times = sorted(everything[name])
        print(
            f"{name} ALL {len(times)} requests: median {statistics.median(times):.1f} ms, "
            f"p95 {p95_of(times):.1f} ms, max {times[-1]:.1f} ms (target p95 < 300 ms)"
        )
    if len(names) == 2:
        first, second = (sorted(everything[name]) for name in names)
        median_ratio = statistics.median(second) / statistics.median(first)
        p95_ratio = p95_of(second) / p95_of(first)
        print(f"{names[1]}/{names[0]}: median x{median_ratio:.2f}, p95 x{p95_ratio:.2f}")


if __name__ == "__main__":
    main()
