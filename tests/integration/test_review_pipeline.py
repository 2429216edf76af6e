"""The review app fed by the real pipeline: simulate, settle, score (rules only), load.

Checks that the project's own outputs load as they are and render, with no
identity number on any page.
"""

from __future__ import annotations

import json
import os
import re

from review.app import create_app
from tests.cli import yibao_in
from tests.review_client import login
from yibao.settings import Settings

# an 18-character identity number; national material codes (C + 19 digits) are not one
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")


def test_simulated_settled_scored_claims_load_and_render(tmp_path):
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'review.db'}",
    }

    yibao = yibao_in(tmp_path, env)

    yibao(
        "simulate",
        "--claims",
        "1500",
        "--days",
        "90",
        "--seed",
        "3",
        "--workers",
        "1",
        "-o",
        "claims.jsonl",
    )
    yibao("settle", "claims.jsonl", "-o", "settlements.jsonl")
    yibao(
        "score",
        "--data",
        "claims.jsonl",
        "--rules-only",
        "-o",
        "scores.jsonl",
        "--hospitals",
        "risk.jsonl",
    )
    out = yibao(
        "review",
        "load",
        "--claims",
        "claims.jsonl",
        "--settlements",
        "settlements.jsonl",
        "--scores",
        "scores.jsonl",
        "--hospitals",
        "risk.jsonl",
    )
    assert "claims: 1500 loaded" in out
    assert not ID_NUMBER.search(out)
    # A later load (or the stream follower's refresh) keeps the detector's ranks.
    yibao("review", "load", "--scores", "scores.jsonl")
    yibao("users", "add", "lee", "--role", "supervisor", "--password", "lee-password-1")

    scores = [json.loads(line) for line in (tmp_path / "scores.jsonl").open()]
    flagged = sorted((s for s in scores if s["flagged"]), key=lambda s: -s["fraud_score"])
    assert flagged, "the rules flag some simulated claims"

    app = create_app(Settings(data_dir=tmp_path, database_url=env["DATABASE_URL"]))
    client = login(app, "lee", "lee-password-1")
    queue = client.get("/queue").text
    assert f"{len(flagged)} matching" in queue
    top = flagged[0]
    page = client.get(f"/claims/{top['claim_id']}").text
    for hit in top["rule_hits"]:
        assert hit["code"] in page
    assert "policy version" in page.lower() and page.count("<svg") == 4
    hospital = client.get(f"/hospitals/{top['hospital_id']}").text
    risk = next(
        json.loads(line)
        for line in (tmp_path / "risk.jsonl").open()
        if json.loads(line)["hospital_id"] == top["hospital_id"]
    )
    assert f"Risk rank <strong>{risk['rank']}</strong>" in hospital
    pages = [queue, page, hospital, client.get("/indicators").text, client.get("/hospitals").text]
    pages += [client.get(f"/claims/{s['claim_id']}").text for s in flagged[:20]]
    assert not any(ID_NUMBER.search(p) for p in pages)
