"""The stream's live flag rate over a window of claims, and its warning when it strays."""

from __future__ import annotations

import logging

import pytest

from streams.flag_rate import FlagRateWindow


def test_the_rate_is_measured_over_the_last_window_of_claims() -> None:
    window = FlagRateWindow(window=1000)
    window.observe(1000, 100, capacity=None)
    window.observe(1000, 20, capacity=None)
    # the first batch fell out: 20 flagged of the last 1,000
    assert window.rate == pytest.approx(0.02)


def test_no_warning_until_the_window_is_full(caplog: pytest.LogCaptureFixture) -> None:
    window = FlagRateWindow(window=1000)
    with caplog.at_level(logging.WARNING, logger="streams.flag_rate"):
        assert not window.observe(500, 100, capacity=0.02)
    assert not caplog.records


def test_it_warns_once_when_the_rate_leaves_capacity_and_again_after_it_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    window = FlagRateWindow(window=1000, tolerance=0.01)
    with caplog.at_level(logging.WARNING, logger="streams.flag_rate"):
        assert not window.observe(1000, 25, capacity=0.02)  # 2.5%: inside 1-3%
        assert window.observe(1000, 40, capacity=0.02)  # 4%: left the band
        assert not window.observe(1000, 45, capacity=0.02)  # still out: said already
        assert not window.observe(1000, 20, capacity=0.02)  # back
        assert window.observe(1000, 5, capacity=0.02)  # 0.5%: out below
    assert len(caplog.records) == 2
    assert "outside capacity 2.00%" in caplog.records[0].getMessage()


def test_reset_forgets_the_window() -> None:
    window = FlagRateWindow(window=1000)
    window.observe(1000, 100, capacity=0.02)
    window.reset()
    assert window.rate is None
