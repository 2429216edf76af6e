"""How many claims are submitted on each day: weekdays, the Spring Festival and winter.

Daily counts are fixed in advance (largest remainder), so the total is exact
and every day's generation can run on its own seeded random source.
"""

from __future__ import annotations

import datetime as dt
import math

# Spring Festival (Chinese New Year's day), for the holiday dip.
SPRING_FESTIVAL: dict[int, dt.date] = {
    2017: dt.date(2017, 1, 28),
    2018: dt.date(2018, 2, 16),
    2019: dt.date(2019, 2, 5),
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
    2031: dt.date(2031, 1, 23),
    2032: dt.date(2032, 2, 11),
    2033: dt.date(2033, 1, 31),
    2034: dt.date(2034, 2, 19),
    2035: dt.date(2035, 2, 8),
    2036: dt.date(2036, 1, 28),
}

# Claims submitted per weekday relative to Monday (ILLUSTRATIVE: outpatient
# clinics are quieter at weekends, discharges are rare on Sundays).
WEEKDAY_FACTOR = (1.15, 1.05, 1.0, 1.0, 1.05, 0.75, 0.6)


def day_weight(day: dt.date) -> float:
    """Relative claim volume of a submission day."""
    w = WEEKDAY_FACTOR[day.weekday()]
    # Winter respiratory season lifts the total volume a little.
    doy = day.timetuple().tm_yday
    w *= 1.0 + 0.12 * math.cos(2 * math.pi * (doy - 15) / 365.0)
    for f in (SPRING_FESTIVAL.get(day.year), SPRING_FESTIVAL.get(day.year + 1)):
        if f is None:
            continue
        delta = (day - f).days
        if -2 <= delta <= 6:
            w *= 0.45
            break
    return w


def allocate(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    s = sum(weights)
    if total == 0 or s <= 0:
        return [0] * len(weights)
    raw = [total * w / s for w in weights]
    counts = [int(x) for x in raw]
    short = total - sum(counts)
    order = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in order[:short]:
        counts[i] += 1
    return counts
