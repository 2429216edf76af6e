"""The demo's live day in the review app: its flagged claims are queued, with history.

The year and the live day are simulated as ``yibao demo`` simulates them
(``--no-spill``; ``--day-after`` with a fixed ``--until``), loaded into a review
database (the year by ``review load``, the live day's claims and rule scores as
the follower would load them), and a live flagged claim's page is read: it
lists the patient's earlier claims, from the year.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from review.app import create_app
from tests.cli import yibao_in
from tests.review_client import login
from yibao.settings import Settings

YEAR = ["--seed", "11", "--claims", "4000", "--start", "2025-12-05", "--days", "365"]
UNTIL = "2026-12-05T12:40:00+00:00"


def test_a_live_flagged_claim_lists_the_patients_earlier_claims(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'review.db'}",
    }

    yibao = yibao_in(tmp_path, env)

    yibao("simulate", *YEAR, "--no-spill", "--workers", "1", "-o", "year.jsonl")
    live = ["--day-after", "400", "--until", UNTIL]
    yibao("simulate", *YEAR, "--no-spill", *live, "-o", "today.jsonl")
    for name in ("year", "today"):
        yibao("score", "--data", f"{name}.jsonl", "--rules-only", "-o", f"scores-{name}.jsonl")
    yibao("review", "load", "--claims", "year.jsonl", "--scores", "scores-year.jsonl")
    yibao("review", "load", "--claims", "today.jsonl", "--scores", "scores-today.jsonl")
    yibao("users", "add", "clerk", "--role", "clerk", "--password", "clerk-password-1")

    def claims(name: str) -> list[dict]:
        return [json.loads(line) for line in (tmp_path / name).open(encoding="utf-8")]

    year, today = claims("year.jsonl"), claims("today.jsonl")
    year_ids_of: dict[str, set[str]] = {}
    for claim in year:
        year_ids_of.setdefault(claim["patient"]["person_id"], set()).add(claim["claim_id"])
    person_of = {c["claim_id"]: c["patient"]["person_id"] for c in today}
    flagged = [s["claim_id"] for s in claims("scores-today.jsonl") if s["flagged"]]
    with_history = [cid for cid in flagged if person_of[cid] in year_ids_of]
    assert with_history, "live flagged claims of patients who have claims in the year"

    app = create_app(Settings(data_dir=tmp_path, database_url=env["DATABASE_URL"]))
    client = login(app, "clerk", "clerk-password-1")  # in English: the assertions read it
    # Live claim ids start with YB and the day: a reviewer finds today's flagged claims so.
    queue = client.get("/queue", params={"q": "YB20261205"}).text
    assert f"{len(flagged)} matching" in queue, "the live day's flagged claims are queued"
    assert any(cid in queue for cid in flagged)
    for claim_id in with_history[:5]:
        page = client.get(f"/claims/{claim_id}").text
        history = page.split("The patient's other claims", 1)[1]
        assert "No other claims of this patient" not in history
        earlier = year_ids_of[person_of[claim_id]]
        assert any(cid in history for cid in earlier), claim_id
