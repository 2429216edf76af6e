"""The day loop: the visits, stays and care months drawn for one submission day.

Each day has its own random source, so days can be drawn in any order or
process (:mod:`simulator.generate` merges them in submission-time order)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from bisect import bisect_right

from simulator.bills import (
    Bill,
    chronic_prescription,
    chronic_refill_bill,
    inpatient_bill,
    mix,
    outpatient_bill,
    pad_days,
    standard_bill,
    weighted_index,
)
from simulator.diagnoses import (
    AGE_GROUP_OF_BAND,
    BY_CODE,
    CHRONIC,
    DX_INDEX,
    Diagnosis,
    DiagnosisPicker,
)
from simulator.dip_coding import (
    Coding,
    discharge_way,
    procedures_of,
    secondary_diagnoses,
    sicker,
)
from simulator.episode import DAY_SECONDS as _DAY
from simulator.episode import Claim, Episode, Visit, stay_of, stay_ts, visit_of
from simulator.fraud import related_diagnosis
from simulator.fraud_episodes import fraud_episode
from simulator.hospitals import Hospital
from simulator.ltc import ltc_claims
from simulator.render import Renderer
from simulator.rule_violations import inject, rule_rng
from simulator.world import World

SECOND_VISIT = 0.02  # outpatient visits followed by another department the same day
OUTBREAK = 0.01  # gastro-intestinal stays that are part of a cluster (ILLUSTRATIVE)
AWAITING_PLACEMENT = 0.06  # stays of patients aged 70+ prolonged waiting for a care place
CODING_ERROR = 0.002  # honest claims whose diagnosis was keyed for another patient
_LOS_LEVEL = {1: 0.9, 2: 1.0, 3: 1.1}

# A generated day, ready to write: (day index, submission ts of each line due
# that day in order, offsets of those lines in the text, the text, and the
# claims due on later days as (ts, day, position, line)).
DayBlock = tuple[int, list[int], list[int], str, list[tuple[int, int, int, str]]]


class DayGenerator(Renderer):
    """Draws the episodes of each submission day (fraudulent ones via
    :func:`simulator.fraud_episodes.fraud_episode`) and renders them."""

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.config = world.config
        self.picker = DiagnosisPicker()
        self.start_ord = self.config.start.toordinal()
        self.drawn: list[tuple[int, Episode]] = []
        self._day_start = 0
        self._window_end = (self.start_ord + self.config.days) * _DAY
        self._home: dict[tuple[int, str], int] = {}
        self._rng = random.Random(0)  # the day's random source, while a day is drawn
        self._rx: dict[tuple[int, int, str], Bill] = {}

    def fits(self, ts: int) -> bool:
        """Whether a claim submitted at ``ts`` may be drawn (see ``SimConfig.spill``)."""
        return self.config.spill or ts < self._window_end

    def claim(self, ts: int, ep: Episode) -> Claim:
        """``ep`` as a claim submitted at ``ts``: a stay without DIP fields gets them
        now (:meth:`code`), so the day's draws keep their order however the claim
        is recorded later."""
        if ep.claim_type == "inpatient" and ep.coding is None:
            self.code(ep)
        return ts, ep

    def push(self, ts: int, ep: Episode) -> None:
        """Record an episode submitted at ``ts`` (never before the day being drawn).

        An in-patient stay without DIP fields gets them here (:meth:`claim`).
        """
        ts, ep = self.claim(ts, ep)
        if ts < self._day_start:
            # A follow-up that ended before today (short second stay after a
            # late-submitted first one) is submitted today, at its time of day.
            ts = self._day_start + ts % _DAY
        self.drawn.append((ts, ep))

    def record(self, claims: list[Claim]) -> int:
        """Record claims made by an episode (:meth:`push`); returns how many."""
        for ts, ep in claims:
            self.push(ts, ep)
        return len(claims)

    def code(self, ep: Episode) -> Coding:
        """Draw a stay's secondary diagnoses and discharge way and read its procedures
        off the bill; comorbidities add treatment to the bill (not to a package's
        or a template's fixed bill). Sets and returns ``ep.coding``."""
        r = self._rng
        dx = BY_CODE[ep.dx]
        h = self.world.network.hospitals[ep.hospital]
        group = AGE_GROUP_OF_BAND[self.world.populations[ep.region].l_band[ep.person]]
        secondary = secondary_diagnoses(r, dx, group)
        if not dx.standard and ep.fraud != "template_billing":
            ep.bill = sicker(ep.bill, h.prices, len(secondary))
        way = discharge_way(r, dx, h.level, group)
        ep.coding = Coding(secondary, procedures_of(ep.bill, dx, h.level, r.random()), way)
        return ep.coding

    def day_episodes(self, i: int) -> list[tuple[int, Episode]]:
        """The episodes drawn on generation day ``i`` (0-based), as ``(submission ts, episode)``.

        Each day has its own random source, so days can be drawn in any order
        or process. Every ts lies on that day or later.
        """
        self.drawn = []
        day = self.start_ord + i
        self._day_start = day * _DAY
        r = random.Random((self.config.seed << 21) + i)
        self._rng = r
        self.record(ltc_claims(self.world, r, day))
        self._day(r, day, self.world.day_budgets[i])
        out, self.drawn = self.drawn, []
        rate = self.config.rule_violation_rate
        if rate > 0:
            inject(
                rule_rng(self.config.seed, i), out, rate, self.world.network.hospitals, self._person
            )
        return out

    def _person(self, ep: Episode) -> tuple[str, bool]:
        pop = self.world.populations[ep.region]
        return pop.person_id[ep.person].decode(), pop.l_female[ep.person]

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

    def _day(self, r: random.Random, day: int, budget: int) -> None:
        """Draw visits and stays until the day's budget of claims is spent."""
        world = self.world
        season = min(5, (dt.date.fromordinal(day).month - 1) // 2)
        inpatient_share = self.config.inpatient_share
        self._ic_rate = {
            (c, f): world.intercity_rate(c, f) for c in world.regions for f in (False, True)
        }
        self._pick_tables = world.network.pick_tables
        hospitals = world.network.hospitals
        remaining = budget
        rnd = r.random
        while remaining > 0:
            inpatient = rnd() < inpatient_share
            ri, region, person, hregion, registered = self._patient(r, inpatient)
            pop = world.populations[region]
            chronic = pop.l_chronic[person]
            person_key = ri * 10_000_000 + person
            refill = not inpatient and chronic >= 0 and rnd() < 0.75
            if refill:
                hi = self._home_hospital(person_key, hregion)
            else:
                hi = self._pick_hospital(r, hregion, inpatient)
            h = hospitals[hi]
            visit = Visit(
                day,
                h,
                hi,
                region,
                person,
                registered,
                inpatient,
                pop.l_band[person],
                pop.l_female[person],
                season,
            )
            if h.scheme is not None and rnd() < h.fraud_share:
                made = fraud_episode(self, r, visit, remaining)
                if made:
                    remaining -= self.record(made)
                    continue
            if refill:
                dx = BY_CODE[CHRONIC[chronic]]
                bill = chronic_refill_bill(r, h, dx, self._prescription(h, hi, dx, person_key))
                self.push_outpatient(r, day, visit_of(visit, day, dx.code, bill))
                remaining -= 1
                continue
            dx = BY_CODE[self._diagnosis(r, visit)]
            if not inpatient:
                remaining -= self._visits(r, visit, dx, person_key, remaining)
            elif dx.group == "gi" and remaining > 2 and rnd() < OUTBREAK:
                remaining -= self._outbreak(r, visit, remaining)
            else:
                remaining -= self.record(self.stay(r, visit, dx, remaining))

    def _patient(self, r: random.Random, inpatient: bool) -> tuple[int, str, int, str, bool]:
        """Who needs care and where: (region index, region, person, the hospital's
        region, whether care there is filed)."""
        world = self.world
        rnd = r.random
        regions = world.regions
        region_cum = world.region_cum
        ri = bisect_right(region_cum, rnd() * region_cum[-1])
        if ri >= len(regions):
            ri = len(regions) - 1
        region = regions[ri]
        pop = world.populations[region]
        # Inlined RegionPopulation.draw (hot path; same draws).
        cum = pop.cum_in if inpatient else pop.cum_out
        cell = bisect_right(cum, rnd() * cum[-1])
        cells = pop.cells
        if cell >= len(cells):
            cell = len(cells) - 1
        person = cells[cell][2] + int(rnd() * cells[cell][3])
        registered = pop.l_registered[person]
        hregion = region
        dest = pop.l_dest[person]
        if registered and dest >= 0 and rnd() < 0.75:
            hregion = regions[dest]
        elif rnd() < self._ic_rate[(region, inpatient)]:
            others, cum = world.dest_cum[region]
            hregion = others[weighted_index(cum, rnd() * cum[-1])]
            # Referrals are usually filed; emergencies while travelling are not.
            registered = rnd() < (0.65 if inpatient else 0.25)
        return ri, region, person, hregion, registered

    def _home_hospital(self, person_key: int, hregion: str) -> int:
        """The hospital where a chronic patient refills prescriptions (cached; bounded)."""
        home_key = (person_key, hregion)
        hi = self._home.get(home_key, -1)
        if hi < 0:
            level_cum = self.world.level_cum_out
            level = 1 + weighted_index(level_cum, mix(person_key, 31) * level_cum[-1])
            hi = self.world.network.pick(hregion, level, mix(person_key, 32))
            if len(self._home) > 300_000:
                self._home.clear()
            self._home[home_key] = hi
        return hi

    def _pick_hospital(self, r: random.Random, hregion: str, inpatient: bool) -> int:
        """A hospital of ``hregion``: a level by the shares of visits or stays, then a
        hospital of that level by size."""
        world = self.world
        lc = world.level_cum_in if inpatient else world.level_cum_out
        level = bisect_right(lc, r.random() * lc[-1])
        level = 3 if level > 2 else level + 1
        # Inlined HospitalNetwork.pick (hot path; same draws).
        hcum, hidx = self._pick_tables[(hregion, level)]
        k = bisect_right(hcum, r.random() * hcum[-1])
        return hidx[k if k < len(hidx) else len(hidx) - 1]

    def _diagnosis(self, r: random.Random, visit: Visit) -> str:
        """The code of a visit's or stay's honest diagnosis (rarely one keyed for
        another patient)."""
        rnd = r.random
        h = visit.hospital
        inpatient, season = visit.inpatient, visit.season
        group = AGE_GROUP_OF_BAND[visit.band]
        # Inlined DiagnosisPicker.pick (hot path; same draws).
        u = rnd()
        table = self.picker.tables.get((inpatient, group, visit.female, h.case_mix, season))
        if table is None:
            code = self.picker.pick(u, inpatient, group, visit.female, h.case_mix, season)
        else:
            dx_cum, dx_codes = table
            j = bisect_right(dx_cum, u * dx_cum[-1])
            code = dx_codes[j if j < len(dx_codes) else len(dx_codes) - 1]
        if rnd() < CODING_ERROR:
            # Honest data-entry slip: a diagnosis meant for another patient.
            code = self.picker.pick(
                rnd(), inpatient, int(rnd() * 3), rnd() < 0.5, h.case_mix, season
            )
        return code

    def pick_diagnosis(self, r: random.Random, visit: Visit, inpatient: bool) -> str:
        """A diagnosis code for the visit's patient at its hospital and season, drawn as
        for a stay (``inpatient``) or an outpatient visit."""
        h = visit.hospital
        group = AGE_GROUP_OF_BAND[visit.band]
        return self.picker.pick(
            r.random(), inpatient, group, visit.female, h.case_mix, visit.season
        )

    def _visits(
        self, r: random.Random, visit: Visit, dx: Diagnosis, person_key: int, remaining: int
    ) -> int:
        """An honest outpatient visit, sometimes followed by another department's the
        same day; returns claims used."""
        h, hi, day = visit.hospital, visit.hi, visit.day
        if dx.code == "N18.5":
            bill = chronic_refill_bill(r, h, dx, self._prescription(h, hi, dx, person_key))
        else:
            bill = outpatient_bill(r, h, dx)
        ep = Episode(
            "outpatient", visit.region, visit.person, hi, day, day, dx.code, bill, visit.registered
        )
        # Inlined push_outpatient (hot path; same draws): a visit needs no coding
        # and is submitted on its day.
        self.drawn.append((self.outpatient_ts(r, day), ep))
        if remaining > 1 and r.random() < SECOND_VISIT:
            # A second department the same day: same person, hospital and
            # date, another diagnosis - what a duplicate bill looks like.
            code2 = self.pick_diagnosis(r, visit, False)
            if code2 != dx.code:
                bill2 = outpatient_bill(r, h, BY_CODE[code2])
                self.push_outpatient(r, day, visit_of(visit, day, code2, bill2))
                return 2
        return 1

    def _outbreak(self, r: random.Random, visit: Visit, remaining: int) -> int:
        """Honest cluster: several people of one town admitted together (food poisoning).

        Looks like a ghost-patient group admission, but the patients are
        ordinary insured persons of all ages.
        """
        pop = self.world.populations[visit.region]
        dx = BY_CODE["K52.9"]
        n = min(remaining, 3 + int(r.random() * 6))
        dis = visit.day - self.lag(r)
        for _ in range(n):
            person = pop.draw(r.random(), r.random(), True)
            los = max(1, round(dx.los * r.lognormvariate(0.0, 0.3)))
            bill = inpatient_bill(r, visit.hospital, dx, los)
            patient = dataclasses.replace(visit, person=person, registered=pop.l_registered[person])
            self.push(stay_ts(r, visit.day), stay_of(patient, dx.code, bill, los, dis))
        return n

    @staticmethod
    def lag(r: random.Random) -> int:
        """Days between discharge and submission: mostly settled at discharge."""
        return 0 if r.random() < 0.65 else 1 if r.random() < 0.6 else 2 + int(r.random() * 4)

    def _prescription(self, h: Hospital, hi: int, dx: Diagnosis, person_key: int) -> Bill:
        """The person's usual prescription at hospital ``hi`` (cached; bounded)."""
        key = (person_key, hi, dx.code)
        rx = self._rx.get(key)
        if rx is None:
            rx = chronic_prescription(h, dx, person_key)
            if len(self._rx) > 300_000:
                self._rx.clear()
            self._rx[key] = rx
        return rx

    def outpatient_ts(self, r: random.Random, day: int) -> int:
        """Submission time of an outpatient visit on ``day``: clinics open 08:00-21:00,
        busiest in the morning."""
        return day * _DAY + 8 * 3600 + int(13 * 3600 * r.random() * (0.35 + 0.65 * r.random()))

    def push_outpatient(self, r: random.Random, day: int, ep: Episode) -> None:
        """Record an outpatient visit on ``day`` at a clinic hour."""
        self.push(self.outpatient_ts(r, day), ep)

    def discharge_ts(self, r: random.Random, dis: int) -> int:
        """Submission time of a stay discharged on ``dis``."""
        return stay_ts(r, dis + self.lag(r))

    def draw_los(self, r: random.Random, dx: Diagnosis, level: int, teaching: bool) -> int:
        f = _LOS_LEVEL[level] * (1.1 if teaching else 1.0)
        return max(1, min(90, round(dx.los * f * r.lognormvariate(0.0, 0.45))))

    def standard_stay(self, h: Hospital, hi: int, dx: Diagnosis) -> tuple[int, Bill]:
        """The hospital's package bill of a standard stay and its length (a fresh copy)."""
        salt = (self.config.seed << 24) + hi * 64 + DX_INDEX[dx.code]
        los, bill = standard_bill(h, dx, salt)
        return los, list(bill)

    def stay_bill(self, r: random.Random, h: Hospital, hi: int, dx: Diagnosis) -> tuple[int, Bill]:
        """An honest stay's length and bill: the package of a standard stay, else drawn."""
        if dx.standard:
            return self.standard_stay(h, hi, dx)
        los = self.draw_los(r, dx, h.level, h.teaching)
        return los, inpatient_bill(r, h, dx, los)

    def stay(self, r: random.Random, visit: Visit, dx: Diagnosis, remaining: int) -> list[Claim]:
        """An honest stay submitted on the visit's day, with its honest follow-ups
        (at most ``remaining`` claims in all); returns the claims made."""
        h, hi, day = visit.hospital, visit.hi, visit.day
        # The claim is submitted on `day`: discharge was 0-5 days earlier.
        dis = day - self.lag(r)
        los, bill = self.stay_bill(r, h, hi, dx)
        if (
            not dx.standard
            and r.random() < AWAITING_PLACEMENT
            and self.world.populations[visit.region].l_band[visit.person] >= 7
        ):
            # An elderly patient stays on, waiting for a care place or family.
            extra = 2 + int(r.random() * 9)
            bill = pad_days(bill, extra)
            los += extra
        first = stay_of(visit, dx.code, bill, los, dis)
        made = [self.claim(stay_ts(r, day), first)]
        # Chemotherapy comes in cycles three weeks apart, billed identically.
        if dx.code == "Z51.1":
            adm = dis - los
            for _ in range(min(remaining - 1, 1 + int(r.random() * 3))):
                adm += 19 + int(r.random() * 5)
                cycle = stay_of(visit, dx.code, list(first.bill), los, adm + los)
                cycle.coding = first.coding
                ts = self.discharge_ts(r, adm + los)
                if not self.fits(ts):
                    break
                made.append((ts, cycle))
            return made
        # Honest re-admission: relapse, complication or transfer up.
        p = dx.readmit * (1.6 if dx.ages[2] > 1.0 else 1.0)
        if remaining > 1 and r.random() < p:
            gap = int(r.random() * 2) if r.random() < 0.2 else 2 + int(r.random() * 26)
            dx2 = related_diagnosis(r, dx)
            h2i = hi
            if r.random() < 0.3 and h.level < 3:
                h2i = self.world.network.pick(h.region, 3, r.random())
            h2 = self.world.network.hospitals[h2i]
            los2 = self.draw_los(r, dx2, h2.level, h2.teaching)
            bill2 = inpatient_bill(r, h2, dx2, los2)
            again = stay_of(
                dataclasses.replace(visit, hi=h2i), dx2.code, bill2, los2, dis + gap + los2
            )
            ts = self.discharge_ts(r, dis + gap + los2)
            if self.fits(ts):
                made.append(self.claim(ts, again))
        return made
