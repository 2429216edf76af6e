"""The review app on a real PostgreSQL: a private server from Debian's binaries.

Migrations up, down and up again; ``yibao review load`` twice (the upserts); and a
representative subset of the SQLite tests, imported from their modules and run here
against PostgreSQL: the queue with filters, search and sorting, a decision with its
audit entry and label, bulk decisions, the claim page, the indicators, the models
matching the migrations. The database is created with a linguistic collation
(ICU en-US, like a default production server), not the C order SQLite has.

Debian's ``postgresql`` package gives the server (.ci/run installs it). Without it
these tests skip on a workstation but fail in CI (CI=true).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, inspect, text

from review.app import create_app
from testkit.postgres import debian_bindir, private_server
from testkit.review_data import build_demo_db, make_dataset
from yibao.settings import Settings

# The subset of the SQLite suites run again here (pytest collects imported tests).
from .test_review_app import (  # noqa: F401
    test_claim_page_shows_breakdown_reasons_history_and_charts,
    test_decide_audit_override_and_labels,
    test_indicators_match_the_settlement_records,
    test_migrations_match_the_models,
    test_queue_filters_and_paging,
)
from .test_review_queue import (  # noqa: F401
    test_a_typed_identity_number_finds_the_patient_and_is_never_echoed,
    test_bulk_decisions_are_for_supervisors_and_audited_per_claim,
    test_search_by_claim_id_and_hospital,
    test_sorting_by_a_column_both_ways,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
N_CLAIMS = 300


@pytest.fixture(scope="module")
def postgres():
    """SQLAlchemy URLs of three empty databases on a private server."""
    bindir = debian_bindir()
    if bindir is None:
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail("PostgreSQL is missing: apt-get install postgresql (.ci/run does)")
        pytest.skip("PostgreSQL is missing (apt-get install postgresql)")
    with private_server(bindir, ("review", "migrations", "cli")) as urls:
        # A linguistic collation, as a server initialised with an en_US locale has.
        engine = create_engine(urls["review"].replace("/review", "/postgres"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("DROP DATABASE review"))
            connection.execute(
                text(
                    "CREATE DATABASE review TEMPLATE template0 ENCODING 'UTF8'"
                    " LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
                )
            )
        engine.dispose()
        yield urls


@pytest.fixture(scope="module")
def world(postgres, tmp_path_factory):
    root = tmp_path_factory.mktemp("review-postgres")
    url = postgres["review"]
    data = build_demo_db(url, N_CLAIMS)
    settings = Settings(
        data_dir=root, database_url=url, review_secret_key="s" * 40, review_deadline_days=7
    )
    app = create_app(settings)
    data.update(root=root, url=url, settings=settings, app=app)
    yield data
    app.state.engine.dispose()


def test_the_database_is_postgresql(world):
    assert world["app"].state.engine.dialect.name == "postgresql"


def test_migrations_up_down_and_up_again(postgres):
    from alembic import command
    from alembic.config import Config

    from review.db import MIGRATIONS_DIR, make_engine, upgrade_head
    from review.models import Base

    engine = make_engine(postgres["migrations"])
    upgrade_head(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade_head(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_review_load_twice_is_an_upsert(postgres, tmp_path):
    claims, records, scores = make_dataset(120, seed=11)
    files = {}
    for name, rows in (("claims", claims), ("settlements", records), ("scores", scores)):
        files[name] = tmp_path / f"{name}.jsonl"
        files[name].write_text("".join(json.dumps(r) + "\n" for r in rows))
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATABASE_URL": postgres["cli"]}
    command = [sys.executable, "-m", "yibao.cli", "review", "load"]
    for name, path in files.items():
        command += [f"--{name}", str(path)]
    for _ in range(2):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "claims: 120 loaded" in done.stdout
    engine = create_engine(postgres["cli"])
    with engine.connect() as connection:
        count = connection.scalar(text("SELECT count(*) FROM claims"))
        flagged = connection.scalar(text("SELECT count(*) FROM claims WHERE flagged"))
        settled = connection.scalar(text("SELECT count(*) FROM settlements"))
    engine.dispose()
    assert count == 120 and settled == len({r["claim_id"] for r in records})
    assert flagged == sum(s["flagged"] for s in scores)
