"""What ``yibao demo`` keeps and what it makes again when the day changes (a fixed clock)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from yibao.demo import DAY_FILES, Demo, DemoPlan
from yibao.settings import Settings
from yibao.supervisor import StartError

NOW = dt.datetime(2026, 12, 5, 12, 40, tzinfo=dt.UTC)


def _demo(data_dir: Path, now: dt.datetime = NOW, **settings: object) -> Demo:
    return Demo(Settings(data_dir=data_dir, **settings), DemoPlan(), now=now)


def _built(demo: Demo) -> None:
    """What a finished first run leaves: the day's files and the review database."""
    demo.home.mkdir(parents=True, exist_ok=True)
    assert not demo.forget_other_days()
    for name in DAY_FILES:
        (demo.home / name).write_text("x", encoding="utf-8")
    (demo.settings.data_dir / "review.db").write_text("db", encoding="utf-8")


def test_the_year_ends_yesterday_and_today_runs_to_the_clock(tmp_path: Path) -> None:
    demo = _demo(tmp_path)
    assert demo.today == dt.date(2026, 12, 5)
    args = demo.year_args()
    assert args[args.index("--start") + 1] == "2025-12-05"
    assert args[args.index("--days") + 1] == "365"
    assert "--no-spill" in args, "no follow-up of the year is submitted today or later"


def test_a_second_run_the_same_day_keeps_everything(tmp_path: Path) -> None:
    _built(_demo(tmp_path))
    later = _demo(tmp_path, NOW + dt.timedelta(hours=3))
    assert not later.forget_other_days()
    assert all((later.home / name).exists() for name in DAY_FILES)
    assert (tmp_path / "review.db").exists()


def test_a_run_on_a_later_day_makes_the_year_and_the_review_database_again(
    tmp_path: Path,
) -> None:
    _built(_demo(tmp_path))
    (tmp_path / "review.db-wal").write_text("wal", encoding="utf-8")
    keep = tmp_path / "mlflow.db"  # the champion model is kept
    keep.write_text("m", encoding="utf-8")
    tomorrow = _demo(tmp_path, NOW + dt.timedelta(days=1))
    assert tomorrow.forget_other_days()
    assert not any((tomorrow.home / name).exists() for name in DAY_FILES)
    assert not (tmp_path / "review.db").exists() and not (tmp_path / "review.db-wal").exists()
    assert keep.exists()
    stamp = json.loads((tomorrow.home / "data.json").read_text(encoding="utf-8"))
    assert stamp["today"] == "2026-12-06"


def test_another_plan_is_another_set_of_data(tmp_path: Path) -> None:
    _built(_demo(tmp_path))
    other = Demo(Settings(data_dir=tmp_path), DemoPlan(seed=7), now=NOW)
    assert other.forget_other_days()


def test_a_database_the_demo_does_not_own_is_never_emptied(tmp_path: Path) -> None:
    _built(_demo(tmp_path))
    url = "postgresql://review@db/review"
    tomorrow = _demo(tmp_path, NOW + dt.timedelta(days=1), database_url=url)
    with pytest.raises(StartError, match="DATABASE_URL"):
        tomorrow.forget_other_days()
    assert all((tomorrow.home / name).exists() for name in DAY_FILES)
