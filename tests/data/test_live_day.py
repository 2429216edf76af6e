"""The demo's live day continues its simulated year: same world, nothing after the clock.

A year of 8,000 claims (the 365 days before the live day) and a live day of
600 claims from a fixed clock reading, generated as ``yibao demo`` does with
``--no-spill`` and ``--day-after``; a few seconds in all.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

import pytest

from simulator.config import SimConfig
from simulator.generate import simulate_lines
from simulator.live import CLAIM_TZ, live_date, live_day_lines, seconds_into, year_before
from simulator.world import World, build_world

# 12:40 UTC is 20:40 in China: the live day is 5 December, its claims end by 20:40 +08:00.
NOW = dt.datetime(2026, 12, 5, 12, 40, tzinfo=dt.UTC)
TODAY = live_date(NOW)
YEAR = SimConfig(seed=2026, claims=8_000, start=year_before(TODAY), days=365, spill=False)
LIVE_CLAIMS = 600


def _parse(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def _submitted(claim: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(claim["submitted_at"])


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(YEAR)


@pytest.fixture(scope="module")
def year(world: World) -> list[dict[str, Any]]:
    return _parse(list(simulate_lines(YEAR, world=world)))


@pytest.fixture(scope="module")
def live(world: World) -> list[dict[str, Any]]:
    until = seconds_into(TODAY, NOW)
    return _parse(list(live_day_lines(YEAR, LIVE_CLAIMS, until, world=world)))


def test_the_year_is_the_365_days_that_ended_yesterday(year: list[dict[str, Any]]) -> None:
    assert dt.date(2026, 12, 5) == TODAY
    assert YEAR.start == dt.date(2025, 12, 5) and YEAR.end == TODAY - dt.timedelta(days=1)
    days = {_submitted(c).date() for c in year}
    assert min(days) == YEAR.start and max(days) == YEAR.end
    assert len(year) == YEAR.claims


def test_no_date_of_the_year_or_the_live_day_is_after_the_clock(
    year: list[dict[str, Any]], live: list[dict[str, Any]]
) -> None:
    for claim in (*year, *live):
        assert _submitted(claim) <= NOW, claim["claim_id"]
        submitted_day = _submitted(claim).astimezone(CLAIM_TZ).date()
        # settlement and the inter-city clearing month read these dates
        assert dt.date.fromisoformat(claim["admission_date"]) <= submitted_day
        assert dt.date.fromisoformat(claim["discharge_date"]) <= submitted_day


def test_the_live_day_is_today_up_to_now(live: list[dict[str, Any]]) -> None:
    assert len(live) == LIVE_CLAIMS
    assert {_submitted(c).date() for c in live} == {TODAY}
    times = [_submitted(c) for c in live]
    assert times == sorted(times), "in submission order, as the replay sends them"
    # spread over the day up to 20:40, not bunched at its start
    assert max(times) > dt.datetime(2026, 12, 5, 16, tzinfo=CLAIM_TZ)
    assert all(c["claim_id"].startswith("YB20261205-") for c in live)


def test_live_persons_and_hospitals_are_the_years(
    world: World, year: list[dict[str, Any]], live: list[dict[str, Any]]
) -> None:
    population = {
        pid.decode() for pop in world.populations.values() for pid in pop.person_id.tolist()
    }
    network = {h.hospital_id for h in world.network.hospitals}
    live_persons = {c["patient"]["person_id"] for c in live}
    live_hospitals = {c["hospital"]["hospital_id"] for c in live}
    assert live_persons <= population
    assert live_hospitals <= network
    year_persons = {c["patient"]["person_id"] for c in year}
    year_hospitals = {c["hospital"]["hospital_id"] for c in year}
    # Measured: 86% of live claims' patients have claims in the year (84% with the
    # demo's 40,000-claim year), and every live hospital has.
    with_history = sum(c["patient"]["person_id"] in year_persons for c in live)
    assert with_history >= 0.7 * len(live), with_history
    assert len(live_hospitals - year_hospitals) <= 0.05 * len(live_hospitals)


def test_live_claim_ids_are_new(year: list[dict[str, Any]], live: list[dict[str, Any]]) -> None:
    assert not {c["claim_id"] for c in year} & {c["claim_id"] for c in live}
    assert len({c["claim_id"] for c in live}) == len(live)


def test_the_live_day_has_fraud_from_the_years_plan(
    world: World, live: list[dict[str, Any]]
) -> None:
    schemes = {h.hospital_id: h.scheme for h in world.network.hospitals if h.scheme}
    fraud = [c for c in live if c["is_fraud"]]
    assert fraud, "a live day a demo reviewer can find fraud in"
    by_hospital = Counter(c["hospital"]["hospital_id"] for c in fraud)
    assert set(by_hospital) <= set(schemes), "fraud only where the year's plan put it"


def test_the_same_clock_gives_the_same_day(world: World) -> None:
    until = seconds_into(TODAY, NOW)
    first = list(live_day_lines(YEAR, 50, until, world=world))
    assert first == list(live_day_lines(YEAR, 50, until, world=world))
