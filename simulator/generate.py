"""Claims day by day, in submission-time order: the public entry points of the simulator.

:func:`simulate` yields claim dicts, :func:`simulate_lines` JSON Lines text,
:func:`write` streams to a file. Each submission day draws from its own
seeded random source; claims that a day's episode submits later (a second
stay, a duplicate bill) wait in a heap until their time comes, so memory stays
flat whatever the number of claims.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
import multiprocessing
import random
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeVar

from simulator.bills import (
    Bill,
    chronic_prescription,
    chronic_refill_bill,
    inpatient_bill,
    ltc_bill,
    mix,
    outpatient_bill,
    pad_days,
    standard_bill,
)
from simulator.config import SimConfig
from simulator.corrupt import KIND_NAMES, KINDS, corrupt, truncate
from simulator.diagnoses import (
    BY_CODE,
    CHRONIC,
    DIAGNOSES,
    GHOST_DIAGNOSES,
    MILD_ADMISSION,
    Diagnosis,
    DiagnosisPicker,
    age_group,
)
from simulator.fraud import hanging_bed, related_diagnosis, substitute, template, upcode
from simulator.items import CATALOGUE, yuan
from simulator.regions import N_BANDS
from simulator.world import World, build_world

_DAY = 86_400
SECOND_VISIT = 0.02  # outpatient visits followed by another department the same day
OUTBREAK = 0.01  # gastro-intestinal stays that are part of a cluster (ILLUSTRATIVE)
AWAITING_PLACEMENT = 0.06  # stays of patients aged 70+ prolonged waiting for a care place
CODING_ERROR = 0.002  # honest claims whose diagnosis was keyed for another patient
BORROWED_CARD = 0.3  # ghost-patient claims that are a borrowed card, not a listed ghost
_LOS_LEVEL = {1: 0.9, 2: 1.0, 3: 1.1}
_DX_INDEX = {d.code: i for i, d in enumerate(DIAGNOSES)}
_AGE_GROUP = [age_group(b) for b in range(N_BANDS)]
_CLOCK = [f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60)]  # "HH:MM" by minute of day
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ITEM_PREFIX = {
    code: f'{{"code":"{code}","category":"{cat}","amount":"'
    for code, (cat, _p, _k) in CATALOGUE.items()
}
_HONEST = '"is_fraud":false,"fraud_type":null'


class Episode:
    """One claim before it is rendered: who, where, when, what was billed, and its label."""

    __slots__ = (
        "adm",
        "bill",
        "claim_type",
        "dis",
        "dx",
        "fraud",
        "hospital",
        "ltc",
        "person",
        "region",
        "registered",
    )

    def __init__(
        self,
        claim_type: str,
        region: str,
        person: int,
        hospital: int,
        adm: int,
        dis: int,
        dx: str,
        bill: Bill,
        registered: bool,
        fraud: str | None = None,
        ltc: tuple[str, int] | None = None,
    ) -> None:
        self.claim_type = claim_type
        self.region = region
        self.person = person
        self.hospital = hospital
        self.adm = adm
        self.dis = dis
        self.dx = dx
        self.bill = bill
        self.registered = registered
        self.fraud = fraud
        self.ltc = ltc


OnCorrupt = Callable[[int, str, str], None]


def simulate(
    config: SimConfig, on_corrupt: OnCorrupt | None = None, world: World | None = None
) -> Iterator[dict[str, Any]]:
    """Generate the claims of a run as dicts, in submission-time order.

    With ``corrupt_rate`` > 0 some dicts are deliberately invalid; the
    ``unparseable`` kind exists only as text, so here it becomes a claim
    missing a required field instead.

    Args:
        config: the run's parameters.
        on_corrupt: called as ``(index, kind, expected error code)`` for each
            claim broken on purpose (index counts from 0).
        world: the run's world if already built with ``build_world(config)``.

    Yields:
        Claims following ``shared/spec/claim.schema.json`` (or broken on purpose).
    """
    gen = _DayGenerator(world or build_world(config))
    days = ((i, gen.day_episodes(i)) for i in range(config.days))
    r_corrupt = _corruption_rng(config)
    for count, (ts, i, k, ep) in enumerate(_merge(days, gen.start_ord)):
        claim = gen.render(ep, ts, gen.claim_id(ts, i, k))
        if config.corrupt_rate > 0 and r_corrupt.random() < config.corrupt_rate:
            kind = KIND_NAMES[r_corrupt.randrange(len(KIND_NAMES))]
            if kind == "unparseable":
                kind = "missing_field"
            corrupt(claim, kind, r_corrupt)
            if on_corrupt is not None:
                on_corrupt(count, kind, KINDS[kind])
        yield claim


def simulate_lines(
    config: SimConfig,
    workers: int = 1,
    on_corrupt: OnCorrupt | None = None,
    world: World | None = None,
) -> Iterator[str]:
    """Generate the claims of a run as JSON Lines text (each line ends with a newline).

    Args:
        config: the run's parameters.
        workers: processes drawing days in parallel (1 = in this process). The
            output does not depend on it.
        on_corrupt: called as ``(line index from 0, kind, expected error code)``
            for each line broken on purpose.
        world: the run's world if already built with ``build_world(config)``.

    Yields:
        One line per claim; with ``corrupt_rate`` some are invalid on purpose.
    """
    for chunk in _chunks(config, workers, on_corrupt, world):
        yield from chunk.splitlines(keepends=True)


def write(config: SimConfig, out: IO[str], progress: Any = None, workers: int = 1) -> int:
    """Write a run as JSON Lines to ``out``; returns the number of lines written.

    Args:
        config: the run's parameters.
        out: a text stream.
        progress: optional object with ``update(n)`` (a tqdm bar).
        workers: processes drawing days in parallel.
    """
    n = 0
    for chunk in _chunks(config, workers):
        out.write(chunk)
        lines = chunk.count("\n")
        n += lines
        if progress is not None:
            progress.update(lines)
    return n


# A generated day, ready to write: (day index, submission ts of each line due
# that day in order, offsets of those lines in the text, the text, and the
# claims due on later days as (ts, day, position, line)).
DayBlock = tuple[int, list[int], list[int], str, list[tuple[int, int, int, str]]]


def _chunks(
    config: SimConfig,
    workers: int = 1,
    on_corrupt: OnCorrupt | None = None,
    world: World | None = None,
) -> Iterator[str]:
    """The run's JSON Lines text in chunks of whole lines (about one day each)."""
    world = world or build_world(config)
    if workers > 1 and config.days > 1:
        blocks: Iterator[DayBlock] = _parallel_blocks(world, workers)
    else:
        gen = _DayGenerator(world)
        blocks = (gen.day_block(i) for i in range(config.days))
    start_ord = config.start.toordinal()
    if config.corrupt_rate > 0:
        lines = _merge_blocks_lines(blocks, start_ord)
        yield from _corrupt_lines(lines, config, on_corrupt)
    else:
        yield from _merge_blocks(blocks, start_ord)


def _merge_blocks(blocks: Iterable[DayBlock], start_ord: int) -> Iterator[str]:
    """Day texts with the follow-ups due that day spliced in at their time."""
    heap: list[tuple[int, int, int, str]] = []
    push, pop = heapq.heappush, heapq.heappop
    for i, stamps, offsets, text, later in blocks:
        for item in later:
            push(heap, item)
        limit = (start_ord + i + 1) * _DAY
        if not heap or heap[0][0] >= limit:
            if text:
                yield text
            continue
        pieces = []
        a = 0
        while heap and heap[0][0] < limit:
            ts, _i, _k, line = pop(heap)
            # An earlier day's claim goes before today's claims of the same second.
            b = bisect_left(stamps, ts, a)
            if b > a:
                pieces.append(text[offsets[a] : offsets[b]])
            pieces.append(line)
            a = b
        pieces.append(text[offsets[a] :])
        yield "".join(pieces)
    rest = []
    while heap:
        rest.append(pop(heap)[3])
    if rest:
        yield "".join(rest)


def _merge_blocks_lines(blocks: Iterable[DayBlock], start_ord: int) -> Iterator[str]:
    for chunk in _merge_blocks(blocks, start_ord):
        yield from chunk.splitlines(keepends=True)


def _corrupt_lines(
    lines: Iterable[str], config: SimConfig, on_corrupt: OnCorrupt | None
) -> Iterator[str]:
    """Break a share ``config.corrupt_rate`` of lines, in 4096-line chunks."""
    r_corrupt = _corruption_rng(config)
    rate = config.corrupt_rate
    encode = _ENCODER.encode
    buf: list[str] = []
    for count, line in enumerate(lines):
        if r_corrupt.random() < rate:
            claim = json.loads(line)
            kind = KIND_NAMES[r_corrupt.randrange(len(KIND_NAMES))]
            line = encode(corrupt(claim, kind, r_corrupt))
            if kind == "unparseable":
                line = truncate(line, r_corrupt)
            if on_corrupt is not None:
                on_corrupt(count, kind, KINDS[kind])
            line += "\n"
        buf.append(line)
        if len(buf) >= 4096:
            yield "".join(buf)
            buf.clear()
    if buf:
        yield "".join(buf)


_WORKER_GEN: _DayGenerator | None = None


def _worker_block(i: int) -> DayBlock:
    assert _WORKER_GEN is not None
    return _WORKER_GEN.day_block(i)


def _parallel_blocks(world: World, workers: int) -> Iterator[DayBlock]:
    """Days drawn by ``workers`` forked processes, yielded in day order.

    At most ``4 * workers`` days are in flight, so a slow consumer never makes
    finished days pile up in memory.
    """
    global _WORKER_GEN
    _WORKER_GEN = _DayGenerator(world)
    ctx = multiprocessing.get_context("fork")
    try:
        with ctx.Pool(workers) as pool:
            pending: deque[Any] = deque()
            n_days = world.config.days
            nxt = 0
            while nxt < n_days and len(pending) < 4 * workers:
                pending.append(pool.apply_async(_worker_block, (nxt,)))
                nxt += 1
            while pending:
                result = pending.popleft().get()
                if nxt < n_days:
                    pending.append(pool.apply_async(_worker_block, (nxt,)))
                    nxt += 1
                yield result
    finally:
        _WORKER_GEN = None


def _corruption_rng(config: SimConfig) -> random.Random:
    # Day streams use (seed << 21) + day with day < 2**21 - 1: no overlap.
    return random.Random((config.seed << 21) + 0x1FFFFF)


_ID_MASK = (1 << 40) - 1


def _scramble(x: int, salt: int) -> int:
    """A bijection of 40-bit integers (xor, odd multiplications, xor-shifts)."""
    x = (x ^ salt) & _ID_MASK
    x = (x * 0x9E3779B97F4A7C15) & _ID_MASK
    x ^= x >> 19
    x = (x * 0xBF58476D1CE4E5B9) & _ID_MASK
    x ^= x >> 21
    return x


T = TypeVar("T")


def _merge(
    days: Iterable[tuple[int, list[tuple[int, T]]]], start_ord: int
) -> Iterator[tuple[int, int, int, T]]:
    """Release the claims of consecutive generation days in submission-time order.

    A day's claims are submitted on that day or later, so everything before
    the next day's start is final once the day is generated. Ties are broken
    by generation day, then by position within the day. Yields
    ``(ts, day, position, payload)``.
    """
    heap: list[tuple[int, int, int, T]] = []
    push, pop = heapq.heappush, heapq.heappop
    for i, items in days:
        limit = (start_ord + i + 1) * _DAY
        now = []
        for k, (ts, payload) in enumerate(items):
            if ts < limit:
                now.append((ts, i, k, payload))
            else:
                push(heap, (ts, i, k, payload))
        while heap and heap[0][0] < limit:
            now.append(pop(heap))
        now.sort()
        yield from now
    while heap:
        yield pop(heap)


class _DayGenerator:
    """Draws the episodes of each submission day and releases them in time order."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.config = world.config
        self.picker = DiagnosisPicker()
        self._iso: dict[int, str] = {}
        self._compact: dict[int, str] = {}
        self.start_ord = self.config.start.toordinal()
        self._out: list[tuple[int, Episode]] = []
        self._day_start = 0
        self._id_salt = (self.config.seed * 0x9E3779B1 + 0x5EED) & _ID_MASK
        self._hospital_json: dict[int, str] = {}
        self._item_json: dict[tuple[str, int, int], str] = {}
        self._home: dict[tuple[int, str], int] = {}
        self._rx: dict[tuple[int, int, str], Bill] = {}

    # -- rendering ---------------------------------------------------------

    def iso(self, ordinal: int) -> str:
        s = self._iso.get(ordinal)
        if s is None:
            s = dt.date.fromordinal(ordinal).isoformat()
            self._iso[ordinal] = s
        return s

    def compact(self, ordinal: int) -> str:
        s = self._compact.get(ordinal)
        if s is None:
            s = self.iso(ordinal).replace("-", "")
            self._compact[ordinal] = s
        return s

    def _submitted(self, ts: int) -> str:
        sec = ts % _DAY
        return f"{self.iso(ts // _DAY)}T{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}+08:00"

    def render(self, ep: Episode, ts: int, claim_id: str) -> dict[str, Any]:
        """The claim dict of an episode submitted at ``ts`` (seconds since day 1 of year 1)."""
        world = self.world
        pop = world.populations[ep.region]
        h = world.network.hospitals[ep.hospital]
        items = [
            {"code": code, "category": CATALOGUE[code][0], "amount": yuan(amount), "quantity": qty}
            for code, qty, amount in ep.bill
        ]
        claim: dict[str, Any] = {
            "claim_id": claim_id,
            "claim_type": ep.claim_type,
            "submitted_at": self._submitted(ts),
            "patient": {
                "person_id": pop.person_id[ep.person].decode(),
                "scheme": "employee" if pop.l_employee[ep.person] else "resident",
                "insured_region": ep.region,
                "intercity_registered": ep.registered,
            },
            "hospital": {"hospital_id": h.hospital_id, "region": h.region, "level": h.level},
            "admission_date": self.iso(ep.adm),
            "discharge_date": self.iso(ep.dis),
            "diagnosis": ep.dx,
            "items": items,
        }
        if ep.ltc is not None:
            claim["ltc"] = {"setting": ep.ltc[0], "days": ep.ltc[1]}
        claim["is_fraud"] = ep.fraud is not None
        claim["fraud_type"] = ep.fraud
        return claim

    def render_tail(self, ep: Episode, ts: int) -> str:
        """The JSON text after the claim id's value: ``'{"claim_id":"' + id + '"' + tail``
        is exactly ``json.dumps(render(...), separators=(",", ":"))``, built without a dict.

        Every string written here is generated from a known alphabet (digits,
        letters, ``.``, ``-``, ``:``, ``+``), so nothing needs escaping.
        """
        pop = self.world.populations[ep.region]
        hs = self._hospital_json.get(ep.hospital)
        if hs is None:
            h = self.world.network.hospitals[ep.hospital]
            hs = _ENCODER.encode(
                {"hospital_id": h.hospital_id, "region": h.region, "level": h.level}
            )
            self._hospital_json[ep.hospital] = hs
        # Bill lines repeat a lot (same fee, same quantity, same price at a
        # hospital), so their JSON text is cached; the cache is bounded.
        cache = self._item_json
        if len(cache) > 200_000:
            cache.clear()
        parts = []
        for item in ep.bill:
            text = cache.get(item)
            if text is None:
                code, qty, amount = item
                text = f'{_ITEM_PREFIX[code]}{amount // 100}.{amount % 100:02d}","quantity":{qty}}}'
                cache[item] = text
            parts.append(text)
        items = ",".join(parts)
        ltc = ""
        if ep.ltc is not None:
            ltc = f',"ltc":{{"setting":"{ep.ltc[0]}","days":{ep.ltc[1]}}}'
        fraud = f'"is_fraud":true,"fraud_type":"{ep.fraud}"' if ep.fraud else _HONEST
        scheme = "employee" if pop.l_employee[ep.person] else "resident"
        registered = "true" if ep.registered else "false"
        iso = self._iso
        adm = iso.get(ep.adm) or self.iso(ep.adm)
        dis = iso.get(ep.dis) or self.iso(ep.dis)
        sec = ts % _DAY
        when = f"{iso.get(ts // _DAY) or self.iso(ts // _DAY)}T{_CLOCK[sec // 60]}:{sec % 60:02d}"
        return (
            f',"claim_type":"{ep.claim_type}",'
            f'"submitted_at":"{when}+08:00",'
            f'"patient":{{"person_id":"{pop.person_id[ep.person].decode()}",'
            f'"scheme":"{scheme}","insured_region":"{ep.region}",'
            f'"intercity_registered":{registered}}},"hospital":{hs},'
            f'"admission_date":"{adm}","discharge_date":"{dis}",'
            f'"diagnosis":"{ep.dx}","items":[{items}]{ltc},{fraud}}}'
        )

    # -- scheduling --------------------------------------------------------

    def _push(self, ts: int, ep: Episode) -> None:
        if ts < self._day_start:
            # A follow-up that ended before today (short second stay after a
            # late-submitted first one) is submitted today, at its time of day.
            ts = self._day_start + ts % _DAY
        self._out.append((ts, ep))

    def day_episodes(self, i: int) -> list[tuple[int, Episode]]:
        """The episodes drawn on generation day ``i`` (0-based), as ``(submission ts, episode)``.

        Each day has its own random source, so days can be drawn in any order
        or process. Every ts lies on that day or later.
        """
        self._out = []
        day = self.start_ord + i
        self._day_start = day * _DAY
        r = random.Random((self.config.seed << 21) + i)
        self._ltc_day(r, day)
        self._day(r, day, self.world.day_budgets[i])
        out, self._out = self._out, []
        return out

    def claim_id(self, ts: int, i: int, k: int) -> str:
        """The id of the ``k``-th claim drawn on day ``i``, submitted at ``ts``.

        ``YB`` + submission date + 10 hex digits: a seeded bijection of
        (day, position), so ids are unique and say nothing about how a claim
        came about (a second stay and a first one look alike).
        """
        return f"YB{self.compact(ts // _DAY)}{_scramble((i << 24) | k, self._id_salt):010x}"

    def day_block(self, i: int) -> DayBlock:
        """Day ``i`` rendered as JSON Lines: the claims due that day as one text
        (in submission order), the later ones separately."""
        eps = self.day_episodes(i)
        limit = (self.start_ord + i + 1) * _DAY
        today = sorted([(ts, k) for k, (ts, _ep) in enumerate(eps) if ts < limit])
        claim_id = self.claim_id
        tail = self.render_tail
        parts = []
        offsets = [0]
        pos = 0
        for ts, k in today:
            line = f'{{"claim_id":"{claim_id(ts, i, k)}"{tail(eps[k][1], ts)}\n'
            parts.append(line)
            pos += len(line)
            offsets.append(pos)
        later = [
            (ts, i, k, f'{{"claim_id":"{claim_id(ts, i, k)}"{tail(ep, ts)}\n')
            for k, (ts, ep) in enumerate(eps)
            if ts >= limit
        ]
        return i, [ts for ts, _k in today], offsets, "".join(parts), later

    # -- long-term care ----------------------------------------------------

    def _ltc_day(self, r: random.Random, day: int) -> None:
        date = dt.date.fromordinal(day)
        todays = [b for b in self.world.beneficiaries if b.day_of_month == date.day]
        if not todays:
            return
        last = date.replace(day=1) - dt.timedelta(days=1)
        first = last.replace(day=1)
        span = last.day
        for b in todays:
            key = b.person * 131 + b.provider
            days = span
            if r.random() < 0.15:  # a hospital stay or a visit to family
                days = max(1, span - 1 - int(r.random() * 10))
            h = self.world.network.hospitals[b.provider]
            bill = ltc_bill(h, b.setting, days, key)
            pop = self.world.populations[b.region]
            dx = "I69.3" if mix(key, 9) < 0.5 else "G30.9" if mix(key, 10) < 0.5 else "I63.9"
            ep = Episode(
                "ltc",
                b.region,
                b.person,
                b.provider,
                first.toordinal(),
                last.toordinal(),
                dx,
                bill,
                pop.l_registered[b.person],
                ltc=(b.setting, days),
            )
            self._push(day * _DAY + 9 * 3600 + int(r.random() * 8 * 3600), ep)

    # -- visits and stays --------------------------------------------------

    def _day(self, r: random.Random, day: int, budget: int) -> None:
        world = self.world
        config = self.config
        regions = world.regions
        region_cum = world.region_cum
        network = world.network
        hospitals = network.hospitals
        date = dt.date.fromordinal(day)
        season = min(5, (date.month - 1) // 2)
        inpatient_share = config.inpatient_share
        ic_rate = {(c, f): world.intercity_rate(c, f) for c in regions for f in (False, True)}
        region_total = region_cum[-1]
        n_regions = len(regions)
        pick_tables = network.pick_tables
        remaining = budget
        rnd = r.random
        out = self._out
        day_ts = day * _DAY
        tables = self.picker.tables
        pick_dx = self.picker.pick
        level_cum_in = world.level_cum_in
        level_cum_out = world.level_cum_out
        while remaining > 0:
            inpatient = rnd() < inpatient_share
            ri = bisect_right(region_cum, rnd() * region_total)
            if ri >= n_regions:
                ri = n_regions - 1
            region = regions[ri]
            pop = world.populations[region]
            # Inlined RegionPopulation.draw (hot path; same draws).
            cum = pop.cum_in if inpatient else pop.cum_out
            cell = bisect_right(cum, rnd() * cum[-1])
            cells = pop.cells
            if cell >= len(cells):
                cell = len(cells) - 1
            cell_first, cell_size = cells[cell][2], cells[cell][3]
            person = cell_first + int(rnd() * cell_size)
            band = pop.l_band[person]
            female = pop.l_female[person]
            chronic = pop.l_chronic[person]
            registered = pop.l_registered[person]
            hregion = region
            dest = pop.l_dest[person]
            if registered and dest >= 0 and rnd() < 0.75:
                hregion = regions[dest]
            elif rnd() < ic_rate[(region, inpatient)]:
                others, cum = world.dest_cum[region]
                hregion = others[_bisect(cum, rnd() * cum[-1])]
                # Referrals are usually filed; emergencies while travelling are not.
                registered = rnd() < (0.65 if inpatient else 0.25)
            person_key = ri * 10_000_000 + person
            refill = not inpatient and chronic >= 0 and rnd() < 0.75
            if refill:
                home_key = (person_key, hregion)
                hi = self._home.get(home_key, -1)
                if hi < 0:
                    level = 1 + _bisect(
                        world.level_cum_out, mix(person_key, 31) * world.level_cum_out[-1]
                    )
                    hi = network.pick(hregion, level, mix(person_key, 32))
                    if len(self._home) > 300_000:
                        self._home.clear()
                    self._home[home_key] = hi
            else:
                lc = level_cum_in if inpatient else level_cum_out
                level = bisect_right(lc, rnd() * lc[-1])
                level = 3 if level > 2 else level + 1
                # Inlined HospitalNetwork.pick (hot path; same draws).
                hcum, hidx = pick_tables[(hregion, level)]
                k = bisect_right(hcum, rnd() * hcum[-1])
                hi = hidx[k if k < len(hidx) else len(hidx) - 1]
            h = hospitals[hi]
            if h.scheme is not None and rnd() < h.fraud_share:
                used = self._fraud(
                    r,
                    day,
                    h,
                    hi,
                    region,
                    person,
                    registered,
                    inpatient,
                    band,
                    female,
                    season,
                    remaining,
                )
                if used:
                    remaining -= used
                    continue
            if refill:
                dx = BY_CODE[CHRONIC[chronic]]
                bill = chronic_refill_bill(r, h, dx, self._prescription(h, hi, dx, person_key))
                self._push_outpatient(
                    r,
                    day,
                    Episode("outpatient", region, person, hi, day, day, dx.code, bill, registered),
                )
                remaining -= 1
                continue
            # Inlined DiagnosisPicker.pick (hot path; same draws).
            u = rnd()
            table = tables.get((inpatient, _AGE_GROUP[band], female, h.case_mix, season))
            if table is None:
                code = pick_dx(u, inpatient, _AGE_GROUP[band], female, h.case_mix, season)
            else:
                dx_cum, dx_codes = table
                j = bisect_right(dx_cum, u * dx_cum[-1])
                code = dx_codes[j if j < len(dx_codes) else len(dx_codes) - 1]
            if rnd() < CODING_ERROR:
                # Honest data-entry slip: a diagnosis meant for another patient.
                code = self.picker.pick(
                    rnd(), inpatient, int(rnd() * 3), rnd() < 0.5, h.case_mix, season
                )
            dx = BY_CODE[code]
            if not inpatient:
                if dx.code == "N18.5":
                    bill = chronic_refill_bill(r, h, dx, self._prescription(h, hi, dx, person_key))
                else:
                    bill = outpatient_bill(r, h, dx)
                # Inlined _push_outpatient (same draws).
                sec = 28_800 + int(46_800 * rnd() * (0.35 + 0.65 * rnd()))
                out.append(
                    (
                        day_ts + sec,
                        Episode("outpatient", region, person, hi, day, day, code, bill, registered),
                    )
                )
                remaining -= 1
                if remaining > 0 and rnd() < SECOND_VISIT:
                    # A second department the same day: same person, hospital and
                    # date, another diagnosis - what a duplicate bill looks like.
                    code2 = self.picker.pick(
                        rnd(), False, _AGE_GROUP[band], female, h.case_mix, season
                    )
                    if code2 != code:
                        bill2 = outpatient_bill(r, h, BY_CODE[code2])
                        self._push_outpatient(
                            r,
                            day,
                            Episode(
                                "outpatient", region, person, hi, day, day, code2, bill2, registered
                            ),
                        )
                        remaining -= 1
                continue
            if dx.group == "gi" and remaining > 2 and rnd() < OUTBREAK:
                remaining -= self._outbreak(r, day, h, hi, region, remaining)
                continue
            remaining -= self._stay(r, day, h, hi, region, person, registered, dx, remaining)

    def _outbreak(
        self, r: random.Random, day: int, h: Any, hi: int, region: str, remaining: int
    ) -> int:
        """Honest cluster: several people of one town admitted together (food poisoning).

        Looks like a ghost-patient group admission, but the patients are
        ordinary insured persons of all ages.
        """
        pop = self.world.populations[region]
        dx = BY_CODE["K52.9"]
        n = min(remaining, 3 + int(r.random() * 6))
        dis = day - self._lag(r)
        for _ in range(n):
            person = pop.draw(r.random(), r.random(), True)
            los = max(1, round(dx.los * r.lognormvariate(0.0, 0.3)))
            bill = inpatient_bill(r, h, dx, los)
            ep = Episode(
                "inpatient",
                region,
                person,
                hi,
                dis - los,
                dis,
                dx.code,
                bill,
                pop.l_registered[person],
            )
            self._push(day * _DAY + 9 * 3600 + int(r.random() * 9 * 3600), ep)
        return n

    @staticmethod
    def _lag(r: random.Random) -> int:
        """Days between discharge and submission: mostly settled at discharge."""
        return 0 if r.random() < 0.65 else 1 if r.random() < 0.6 else 2 + int(r.random() * 4)

    def _borrowed_card(
        self, r: random.Random, day: int, h: Any, hi: int, inpatient: bool, season: int
    ) -> int:
        """Identity misuse: someone is treated on another insured person's card.

        The card holder is any insured person of the region (drawn without
        regard to health), the diagnosis fits the real patient, whose age and
        sex need not match the card's.
        """
        pop = self.world.populations[h.region]
        person = int(r.random() * len(pop))
        group = int(r.random() * 3)
        female = r.random() < 0.5
        code = self.picker.pick(r.random(), inpatient, group, female, h.case_mix, season)
        dx = BY_CODE[code]
        registered = pop.l_registered[person]
        if inpatient:
            los = self._los(r, dx, h.level, h.teaching)
            dis = day - self._lag(r)
            bill = inpatient_bill(r, h, dx, los)
            ep = Episode(
                "inpatient",
                h.region,
                person,
                hi,
                dis - los,
                dis,
                code,
                bill,
                registered,
                fraud="ghost_patient",
            )
            self._push(day * _DAY + 9 * 3600 + int(r.random() * 9 * 3600), ep)
        else:
            bill = outpatient_bill(r, h, dx)
            ep = Episode(
                "outpatient",
                h.region,
                person,
                hi,
                day,
                day,
                code,
                bill,
                registered,
                fraud="ghost_patient",
            )
            self._push_outpatient(r, day, ep)
        return 1

    def _prescription(self, h: Any, hi: int, dx: Diagnosis, person_key: int) -> Bill:
        """The person's usual prescription at hospital ``hi`` (cached; bounded)."""
        key = (person_key, hi, dx.code)
        rx = self._rx.get(key)
        if rx is None:
            rx = chronic_prescription(h, dx, person_key)
            if len(self._rx) > 300_000:
                self._rx.clear()
            self._rx[key] = rx
        return rx

    def _push_outpatient(self, r: random.Random, day: int, ep: Episode) -> None:
        # Clinics open 08:00-21:00, busiest in the morning.
        sec = 8 * 3600 + int(13 * 3600 * r.random() * (0.35 + 0.65 * r.random()))
        self._push(day * _DAY + sec, ep)

    def _discharge_ts(self, r: random.Random, dis: int) -> int:
        return (dis + self._lag(r)) * _DAY + 9 * 3600 + int(r.random() * 9 * 3600)

    def _los(self, r: random.Random, dx: Diagnosis, level: int, teaching: bool) -> int:
        f = _LOS_LEVEL[level] * (1.1 if teaching else 1.0)
        return max(1, min(90, round(dx.los * f * r.lognormvariate(0.0, 0.45))))

    def _stay(
        self,
        r: random.Random,
        day: int,
        h: Any,
        hi: int,
        region: str,
        person: int,
        registered: bool,
        dx: Diagnosis,
        remaining: int,
    ) -> int:
        """An honest stay submitted on ``day``, with its honest follow-ups; returns claims used."""
        # The claim is submitted on `day`: discharge was 0-5 days earlier.
        dis = day - self._lag(r)
        salt = (self.config.seed << 24) + hi * 64 + _DX_INDEX[dx.code]
        if dx.standard:
            los, bill = standard_bill(h, dx, salt)
            bill = list(bill)
        else:
            los = self._los(r, dx, h.level, h.teaching)
            bill = inpatient_bill(r, h, dx, los)
            if (
                r.random() < AWAITING_PLACEMENT
                and self.world.populations[region].l_band[person] >= 7
            ):
                # An elderly patient stays on, waiting for a care place or family.
                extra = 2 + int(r.random() * 9)
                bill = pad_days(bill, extra)
                los += extra
        ep = Episode("inpatient", region, person, hi, dis - los, dis, dx.code, bill, registered)
        self._push(day * _DAY + 9 * 3600 + int(r.random() * 9 * 3600), ep)
        used = 1
        # Chemotherapy comes in cycles three weeks apart, billed identically.
        if dx.code == "Z51.1":
            adm = dis - los
            for _ in range(min(remaining - used, 1 + int(r.random() * 3))):
                adm += 19 + int(r.random() * 5)
                nxt = Episode(
                    "inpatient", region, person, hi, adm, adm + los, dx.code, list(bill), registered
                )
                self._push(self._discharge_ts(r, adm + los), nxt)
                used += 1
            return used
        # Honest re-admission: relapse, complication or transfer up.
        p = dx.readmit * (1.6 if dx.ages[2] > 1.0 else 1.0)
        if used < remaining and r.random() < p:
            gap = int(r.random() * 2) if r.random() < 0.2 else 2 + int(r.random() * 26)
            dx2 = related_diagnosis(r, dx)
            h2i = hi
            if r.random() < 0.3 and h.level < 3:
                h2i = self.world.network.pick(h.region, 3, r.random())
            h2 = self.world.network.hospitals[h2i]
            los2 = self._los(r, dx2, h2.level, h2.teaching)
            adm2 = dis + gap
            bill2 = inpatient_bill(r, h2, dx2, los2)
            nxt = Episode(
                "inpatient", region, person, h2i, adm2, adm2 + los2, dx2.code, bill2, registered
            )
            self._push(self._discharge_ts(r, adm2 + los2), nxt)
            used += 1
        return used

    # -- fraud -------------------------------------------------------------

    def _fraud(
        self,
        r: random.Random,
        day: int,
        h: Any,
        hi: int,
        region: str,
        person: int,
        registered: bool,
        inpatient: bool,
        band: int,
        female: bool,
        season: int,
        remaining: int,
    ) -> int:
        """Generate a fraudulent episode at ``h``; returns claims used (0 = not applicable)."""
        scheme = h.scheme
        seed = self.config.seed
        rnd = r.random
        if scheme == "ghost_patient":
            if not h.ghost_list:
                return 0
            if rnd() < BORROWED_CARD:
                return self._borrowed_card(r, day, h, hi, inpatient, season)
            # A group of "patients" admitted together, e.g. after a free check-up day.
            group = min(remaining, 1 + int(rnd() * 3))
            los0 = 6 + int(rnd() * 7)
            dis = day - self._lag(r)
            for _ in range(group):
                gp = h.ghost_list[int(rnd() * len(h.ghost_list))]
                dx = BY_CODE[GHOST_DIAGNOSES[int(rnd() * len(GHOST_DIAGNOSES))]]
                los = max(3, los0 + int(rnd() * 3) - 1)
                bill = inpatient_bill(r, h, dx, los, boost=1.1)
                pop = self.world.populations[h.region]
                ep = Episode(
                    "inpatient",
                    h.region,
                    gp,
                    hi,
                    dis - los,
                    dis,
                    dx.code,
                    bill,
                    pop.l_registered[gp],
                    fraud=scheme,
                )
                self._push(day * _DAY + 9 * 3600 + int(rnd() * 9 * 3600), ep)
            return group
        if scheme == "duplicate_billing":
            if remaining < 2:
                return 0
            if inpatient:
                code = self.picker.pick(rnd(), True, _AGE_GROUP[band], female, h.case_mix, season)
                self._stay(r, day, h, hi, region, person, registered, BY_CODE[code], 1)
            else:
                code = self.picker.pick(rnd(), False, _AGE_GROUP[band], female, h.case_mix, season)
                bill = outpatient_bill(r, h, BY_CODE[code])
                self._push_outpatient(
                    r,
                    day,
                    Episode("outpatient", region, person, hi, day, day, code, bill, registered),
                )
            orig_ts, orig = self._out[-1]
            bill = list(orig.bill)
            if rnd() < 0.35:
                j = int(rnd() * len(bill))
                c, q, a = bill[j]
                bill[j] = (c, q + 1, a // q * (q + 1))
            if orig.claim_type == "outpatient" and rnd() < 0.6:
                # A repeat visit that never happened: the same bill on a later day.
                when = day + 1 + int(rnd() * 14)
                copy = Episode(
                    "outpatient",
                    orig.region,
                    orig.person,
                    orig.hospital,
                    when,
                    when,
                    orig.dx,
                    bill,
                    orig.registered,
                    fraud=scheme,
                )
                self._push_outpatient(r, when, copy)
                return 2
            # The same visit or stay billed again under a new claim id.
            copy = Episode(
                orig.claim_type,
                orig.region,
                orig.person,
                orig.hospital,
                orig.adm,
                orig.dis,
                orig.dx,
                bill,
                orig.registered,
                fraud=scheme,
            )
            self._push(orig_ts + (3 + int(rnd() * 35)) * _DAY + int(rnd() * 3600), copy)
            return 2
        if scheme in ("hanging_bed", "decomposed_admission"):
            inpatient = True
        code = self.picker.pick(rnd(), inpatient, _AGE_GROUP[band], female, h.case_mix, season)
        dx = BY_CODE[code]
        if scheme == "hanging_bed" and code not in MILD_ADMISSION:
            dx = BY_CODE[MILD_ADMISSION[int(rnd() * len(MILD_ADMISSION))]]
        dis = day - self._lag(r)
        ts = day * _DAY + 9 * 3600 + int(rnd() * 9 * 3600)
        los = self._los(r, dx, h.level, h.teaching) if inpatient else 0
        ctype = "inpatient" if inpatient else "outpatient"
        billed = dx.code
        if scheme == "upcoding":
            billed, bill, los = upcode(r, h, dx, los if inpatient else None)
        elif scheme == "hanging_bed":
            bill, los = hanging_bed(r, h, dx, los)
        elif scheme == "item_substitution":
            bill = inpatient_bill(r, h, dx, los) if inpatient else outpatient_bill(r, h, dx)
            bill = substitute(r, h, bill, inpatient)
        elif scheme == "template_billing":
            salt = (seed << 24) + hi * 64 + _DX_INDEX[dx.code] + 1_000_000
            tlos, bill = template(h, dx, inpatient, salt)
            if inpatient:
                los = tlos
        elif scheme == "decomposed_admission":
            if remaining < 2:
                return 0
            total = max(6, round(los * (1.3 + rnd() * 0.7)))
            los1 = max(2, round(total * (0.4 + rnd() * 0.2)))
            los2 = max(2, total - los1)
            gap = 0 if rnd() < 0.6 else 1 if rnd() < 0.75 else 2
            bill1 = inpatient_bill(r, h, dx, los1)
            adm1 = dis - los1
            ep1 = Episode(
                "inpatient", region, person, hi, adm1, dis, dx.code, bill1, registered, fraud=scheme
            )
            self._push(ts, ep1)
            dx2 = related_diagnosis(r, dx)
            adm2 = dis + gap
            bill2 = inpatient_bill(r, h, dx2, los2, workup=False)
            ep2 = Episode(
                "inpatient",
                region,
                person,
                hi,
                adm2,
                adm2 + los2,
                dx2.code,
                bill2,
                registered,
                fraud=scheme,
            )
            self._push(self._discharge_ts(r, adm2 + los2), ep2)
            return 2
        else:  # pragma: no cover - every scheme is handled above
            raise ValueError(f"unknown scheme {scheme!r}")
        if inpatient:
            ep = Episode(
                ctype, region, person, hi, dis - los, dis, billed, bill, registered, fraud=scheme
            )
            self._push(ts, ep)
        else:
            ep = Episode(
                ctype, region, person, hi, day, day, billed, bill, registered, fraud=scheme
            )
            self._push_outpatient(r, day, ep)
        return 1


def _bisect(cum: list[float], x: float) -> int:
    i = bisect_right(cum, x)
    return min(i, len(cum) - 1)
