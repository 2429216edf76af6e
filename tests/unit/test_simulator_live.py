"""The live day's clock arithmetic: which day is today, and how far into it now is."""

from __future__ import annotations

import datetime as dt

import pytest

from simulator.live import CLAIM_TZ, live_date, seconds_into, year_before

UTC = dt.UTC
TOKYO = dt.timezone(dt.timedelta(hours=9))
NEW_YORK = dt.timezone(dt.timedelta(hours=-5))


def test_today_is_the_date_where_the_clock_is() -> None:
    assert live_date(dt.datetime(2026, 12, 5, 12, 40, tzinfo=UTC)) == dt.date(2026, 12, 5)
    # 20:00 UTC is already 6 December in China: still 5 December by this clock
    assert live_date(dt.datetime(2026, 12, 5, 20, 0, tzinfo=UTC)) == dt.date(2026, 12, 5)
    assert live_date(dt.datetime(2026, 12, 5, 23, 0, tzinfo=NEW_YORK)) == dt.date(2026, 12, 5)


def test_a_day_not_yet_begun_in_china_gives_way_to_chinas_date() -> None:
    # 00:30 in Tokyo is 23:30 the day before in China
    now = dt.datetime(2026, 12, 6, 0, 30, tzinfo=TOKYO)
    assert live_date(now) == dt.date(2026, 12, 5)
    assert seconds_into(live_date(now), now) == 23 * 3600 + 30 * 60


def test_a_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        live_date(dt.datetime(2026, 12, 5, 12, 40))
    with pytest.raises(ValueError, match="aware"):
        seconds_into(dt.date(2026, 12, 5), dt.datetime(2026, 12, 5, 12, 40))


def test_seconds_into_the_day_in_china() -> None:
    day = dt.date(2026, 12, 5)
    assert seconds_into(day, dt.datetime(2026, 12, 5, 12, 40, tzinfo=UTC)) == 20 * 3600 + 40 * 60
    assert seconds_into(day, dt.datetime(2026, 12, 5, 0, 0, tzinfo=CLAIM_TZ)) == 0
    # a clock past the day's end: the whole day
    assert seconds_into(day, dt.datetime(2026, 12, 6, 3, 0, tzinfo=CLAIM_TZ)) == 86_400
    with pytest.raises(ValueError, match="before 2026-12-05 began"):
        seconds_into(day, dt.datetime(2026, 12, 4, 23, 59, tzinfo=CLAIM_TZ))


def test_the_year_is_the_365_days_before_today() -> None:
    today = dt.date(2026, 12, 5)
    start = year_before(today)
    assert start == dt.date(2025, 12, 5)
    assert start + dt.timedelta(days=364) == today - dt.timedelta(days=1)
    # across a 29 February the window is still 365 days, ending yesterday
    assert year_before(dt.date(2028, 3, 1)) == dt.date(2027, 3, 2)
