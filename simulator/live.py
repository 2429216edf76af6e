"""The day after a simulated window, drawn from the window's own world: a live day.

A live day continues a history: its claims come from the persons, hospitals,
fraud plan and care beneficiaries of the window's world (built from the same
config), so a live patient's earlier claims are in the window's file. The day
has its own number of claims and its own seeded random source; its submission
times are squeezed between the day's midnight and a cut-off (the clock's "now"
for the demo), so no claim is dated after it. Times are China Standard Time, as
every claim's ``submitted_at`` says (``+08:00``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import IO, Any

from simulator.config import SimConfig
from simulator.days import DayGenerator
from simulator.episode import DAY_SECONDS
from simulator.generate import OnCorrupt, _corrupt_lines
from simulator.world import World, build_world

CLAIM_TZ = dt.timezone(dt.timedelta(hours=8), "CST")


def live_date(now: dt.datetime) -> dt.date:
    """The live day for the clock reading ``now`` (time-zone aware).

    The date where the clock is (its own time zone), unless that day has not
    begun in China yet (a clock east of +08:00 shortly after midnight): then the
    date in China, so the day's claims can all lie before ``now``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware (datetime.now().astimezone())")
    local = now.date()
    if dt.datetime.combine(local, dt.time(), CLAIM_TZ) > now:
        return now.astimezone(CLAIM_TZ).date()
    return local


def year_before(day: dt.date, days: int = 365) -> dt.date:
    """The first day of the ``days``-day window that ends the day before ``day``."""
    return day - dt.timedelta(days=days)


def seconds_into(day: dt.date, until: dt.datetime) -> int:
    """Seconds from ``day``'s midnight (China time) to ``until``, within 0 to 86,400.

    Raises:
        ValueError: ``until`` is naive or before the day began.
    """
    if until.tzinfo is None:
        raise ValueError("until must be time-zone aware")
    elapsed = (until - dt.datetime.combine(day, dt.time(), CLAIM_TZ)).total_seconds()
    if elapsed < 0:
        raise ValueError(
            f"until {until.isoformat()} is before {day.isoformat()} began in China (+08:00)"
        )
    return min(DAY_SECONDS, int(elapsed))


def live_day_lines(
    config: SimConfig,
    claims: int,
    until_s: int = DAY_SECONDS,
    world: World | None = None,
    on_corrupt: OnCorrupt | None = None,
) -> Iterator[str]:
    """The claims of the day after ``config``'s window, as JSON Lines in submission order.

    Args:
        config: the window's parameters (seed, claims, start, days, ... as the
            window was simulated with); its ``corrupt_rate`` and
            ``rule_violation_rate`` apply to the day too.
        claims: claims of the day (exact, unless the long-term-care months billed
            that day are more).
        until_s: seconds into the day (China time, 0 to 86,400): the day's
            submission times are squeezed, in order, into ``[midnight, midnight +
            until_s]``; admission and discharge dates keep their days.
        world: the window's world if already built with ``build_world(config)``.
        on_corrupt: as for :func:`simulator.generate.simulate_lines`.

    Yields:
        One line per claim. Claim ids never collide with the window's (the day
        has its own index).
    """
    if claims < 0:
        raise ValueError(f"claims must be >= 0, got {claims}")
    if not 0 <= until_s <= DAY_SECONDS:
        raise ValueError(f"until_s must be 0 to {DAY_SECONDS}, got {until_s}")
    world = world or build_world(config)
    index = config.days
    date = config.end + dt.timedelta(days=1)
    # Care months billed that day come on top of the budget (simulator.ltc).
    ltc_due = sum(1 for b in world.beneficiaries if b.day_of_month == date.day)
    # The same world, one day longer: the day's budget is its own, and no claim it
    # spawns (a second stay, a duplicate bill) is submitted after it.
    longer = dataclasses.replace(
        world,
        config=dataclasses.replace(config, days=config.days + 1, spill=False),
        day_budgets=[*world.day_budgets, max(0, claims - ltc_due)],
    )
    gen = DayGenerator(longer)
    episodes = gen.day_episodes(index)
    start = date.toordinal() * DAY_SECONDS
    squeezed = sorted(
        (start + (ts - start) * until_s // DAY_SECONDS, k)
        for k, (ts, _ep) in enumerate(episodes)
        if start <= ts < start + DAY_SECONDS
    )
    lines = (
        f'{{"claim_id":"{gen.claim_id(ts, index, k)}"{gen.render_tail(episodes[k][1], ts)}\n'
        for ts, k in squeezed
    )
    if config.corrupt_rate > 0:
        for chunk in _corrupt_lines(lines, config, on_corrupt):
            yield from chunk.splitlines(keepends=True)
    else:
        yield from lines


def write_live_day(
    config: SimConfig, claims: int, out: IO[str], until_s: int = DAY_SECONDS, progress: Any = None
) -> int:
    """Write :func:`live_day_lines` to the text stream ``out``; returns the lines written.

    Args:
        progress: optional object with ``update(n)`` (a tqdm bar).
    """
    n = 0
    for line in live_day_lines(config, claims, until_s):
        out.write(line)
        n += 1
        if progress is not None:
            progress.update(1)
    return n
