"""A second, deliberately different labelled-claims world (transfer tests only).

The project's simulator (``simulator/``) is the world the model is tuned on; a
model that only learnt that world's shapes would fail on real claims. This
generator shares no code with it and differs on purpose:

- many small hospitals and a few big ones (hospital sizes are Pareto), a
  different number of hospitals per seed, levels 1-3 in unequal shares;
- costs are a gamma mix per diagnosis, not lognormal, with a per-hospital price
  habit of +-30% that honest hospitals have too (so "expensive" alone is weak);
- an item catalogue shared by all hospitals, item prices per hospital;
- each fraudulent hospital runs one or two schemes, at its own intensity
  (a share of 3%-40% of its claims) and strength (how far a claim is pushed);
- schemes with their own names: ``price_inflation``, ``phantom_items``,
  ``stay_split``, ``rebill``, ``long_stay``, ``unbundling``,
  ``identity_misuse`` and ``kickback_referral`` (recruited patients admitted
  again and again for mild conditions).

Claims satisfy the claim contract (valid identity numbers, dates, amounts) and
carry ``is_fraud`` / ``fraud_type``. Deterministic for a seed. Run as a module
to write JSONL::

    .venv/bin/python -m tests.othergen --seed 1 --claims 150000 -o other1.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from settlement.idnumber import check_character

REGIONS = ("440100", "440300", "440600", "441800", "441900")
REGION_WEIGHTS = (0.4, 0.25, 0.15, 0.1, 0.1)

# code, mean cost yuan (level 2), gamma shape, inpatient share, mean stay, age range, sex
DIAGNOSES: tuple[tuple[str, float, float, float, float, tuple[int, int], str], ...] = (
    ("J18.9", 5200, 3.0, 0.55, 8, (0, 95), ""),
    ("J44.1", 9000, 4.0, 0.8, 10, (45, 95), ""),
    ("I21.9", 38000, 5.0, 1.0, 9, (40, 95), ""),
    ("I63.9", 21000, 4.0, 0.9, 13, (45, 95), ""),
    ("K80.2", 16000, 6.0, 0.85, 6, (25, 85), ""),
    ("K35.8", 11000, 6.0, 0.95, 5, (6, 75), ""),
    ("E11.9", 900, 2.0, 0.12, 7, (30, 90), ""),
    ("E78.5", 350, 2.0, 0.02, 4, (35, 90), ""),
    ("J06.9", 180, 2.5, 0.01, 3, (0, 85), ""),
    ("A09.9", 260, 2.5, 0.05, 3, (0, 85), ""),
    ("S82.2", 26000, 5.0, 1.0, 12, (10, 90), ""),
    ("O82.9", 7000, 8.0, 1.0, 5, (20, 42), "F"),
    ("C34.9", 45000, 3.0, 0.9, 15, (45, 90), ""),
    ("N18.5", 6000, 3.0, 0.3, 6, (30, 90), ""),
    ("N40", 2800, 3.0, 0.35, 5, (50, 95), "M"),
    ("M17.9", 1500, 2.0, 0.25, 9, (45, 90), ""),
    ("H25.9", 5500, 8.0, 0.6, 2, (55, 95), ""),
    ("I10", 320, 2.0, 0.03, 5, (30, 95), ""),
)
MILD = ("J06.9", "A09.9", "E78.5", "I10", "E11.9")
# catalogue items: code, category, list price yuan
CATALOGUE = tuple(
    (f"X{cat}{i:04d}", cat, round(random.Random(i * 7 + ord(cat)).uniform(5, 3000), 2))
    for cat, count in (("A", 60), ("B", 40), ("C", 25))
    for i in range(count)
)
SCHEMES = (
    "price_inflation",
    "phantom_items",
    "stay_split",
    "rebill",
    "long_stay",
    "unbundling",
    "identity_misuse",
    "kickback_referral",
)


@dataclass
class Hospital:
    hospital_id: str
    region: str
    level: int
    size: float
    price_habit: float
    schemes: tuple[str, ...] = ()
    intensity: float = 0.0
    strength: float = 1.0
    recruits: list[int] = field(default_factory=list)


def _person_id(rng: random.Random, region: str, born: date, male: bool) -> str:
    first16 = f"{region}{born:%Y%m%d}{rng.randrange(100):02d}"
    first17 = first16 + str(rng.randrange(5) * 2 + (1 if male else 0))
    return first17 + check_character(first17)


def _money(yuan: float) -> str:
    fen = max(1, round(yuan * 100))
    return f"{fen // 100}.{fen % 100:02d}"


def _hospitals(rng: random.Random, seed: int) -> list[Hospital]:
    count = rng.randint(90, 160)
    out = []
    for h in range(count):
        level = rng.choices((1, 2, 3), weights=(0.45, 0.4, 0.15))[0]
        out.append(
            Hospital(
                hospital_id=f"OG{seed:02d}{h:04d}",
                region=rng.choices(REGIONS, weights=REGION_WEIGHTS)[0],
                level=level,
                size=rng.paretovariate(1.3) * (1 + level),
                price_habit=rng.uniform(0.7, 1.3),
            )
        )
    # fraud is where the money is: bigger hospitals are likelier to run a scheme
    bad: dict[str, Hospital] = {}
    while len(bad) < max(4, int(count * rng.uniform(0.1, 0.18))):
        hosp = rng.choices(out, weights=[h.size**0.5 for h in out])[0]
        bad[hosp.hospital_id] = hosp
    for hosp in bad.values():
        k = 1 if rng.random() < 0.6 else 2
        hosp.schemes = tuple(rng.sample(SCHEMES, k=k))
        hosp.intensity = rng.uniform(0.05, 0.5)
        hosp.strength = rng.uniform(0.4, 1.0)
    return out


def _bill(
    rng: random.Random, hosp: Hospital, cost: float, inpatient: bool
) -> list[dict[str, object]]:
    n = rng.randint(4, 25) if inpatient else rng.randint(1, 5)
    picks = rng.sample(CATALOGUE, k=n)
    weights = [rng.gammavariate(1.5, 1.0) * price for _code, _cat, price in picks]
    scale = cost / sum(weights)
    items: list[dict[str, object]] = []
    for (code, cat, price), w in zip(picks, weights, strict=True):
        unit = price * hosp.price_habit * rng.uniform(0.9, 1.1)
        qty = max(1, round(w * scale / unit))
        items.append({"code": code, "category": cat, "amount": _money(unit * qty), "quantity": qty})
    return items


def _pick_dx(rng: random.Random, age: float, male: bool) -> tuple:
    while True:
        dx = rng.choice(DIAGNOSES)
        lo, hi = dx[5]
        if lo <= age <= hi and dx[6] != ("F" if male else "M"):
            return dx


def generate(seed: int, claims: int = 20000) -> list[dict[str, object]]:
    """Labelled claims in the contract's JSON shape, in submission order."""
    rng = random.Random(1_000_003 * seed + 17)
    hospitals = _hospitals(rng, seed)
    sizes = [h.size for h in hospitals]
    people = []
    for _ in range(max(100, claims // 4)):
        region = rng.choice(REGIONS)
        born = date(1932, 1, 1) + timedelta(days=rng.randrange(0, 33500))
        male = rng.random() < 0.49
        people.append(
            (
                _person_id(rng, region, born, male),
                region,
                born,
                male,
                rng.choice(("employee", "resident")),
            )
        )
    for hosp in hospitals:
        if "kickback_referral" in hosp.schemes:
            hosp.recruits = rng.sample(range(len(people)), k=rng.randint(8, 40))
    start = date(2025, 1, 1)
    out: list[dict[str, object]] = []
    serial = 0

    def emit(
        hosp: Hospital,
        who: int,
        dx: str,
        inpatient: bool,
        adm: date,
        los: int,
        items: list[dict[str, object]],
        fraud: str | None,
        hour: int,
    ) -> dict[str, object]:
        nonlocal serial
        serial += 1
        pid, pregion, _born, _male, scheme = people[who]
        disch = adm + timedelta(days=los)
        submitted = datetime(disch.year, disch.month, disch.day, hour, rng.randrange(60))
        claim: dict[str, object] = {
            "claim_id": f"OG{seed:02d}-{serial:08d}",
            "claim_type": "inpatient" if inpatient else "outpatient",
            "submitted_at": submitted.isoformat() + "+08:00",
            "patient": {
                "person_id": pid,
                "scheme": scheme,
                "insured_region": pregion,
                "intercity_registered": pregion != hosp.region,
            },
            "hospital": {
                "hospital_id": hosp.hospital_id,
                "region": hosp.region,
                "level": hosp.level,
            },
            "admission_date": adm.isoformat(),
            "discharge_date": disch.isoformat(),
            "diagnosis": dx,
            "items": items,
            "is_fraud": fraud is not None,
            "fraud_type": fraud,
        }
        out.append(claim)
        return claim

    while len(out) < claims:
        hosp = rng.choices(hospitals, weights=sizes)[0]
        scheme = None
        if hosp.schemes and rng.random() < hosp.intensity:
            scheme = rng.choice(hosp.schemes)
        who = (
            rng.choice(hosp.recruits)
            if scheme == "kickback_referral"
            else rng.randrange(len(people))
        )
        _pid, _pregion, born, male, _scheme = people[who]
        adm = start + timedelta(days=rng.randrange(0, 360))
        age = (adm - born).days / 365.25
        if scheme == "kickback_referral":
            mild = rng.choice(MILD)
            dx_row = next(d for d in DIAGNOSES if d[0] == mild)
        else:
            dx_row = _pick_dx(rng, age, male)
        code, mean_cost, shape, p_in, stay, _ages, _sex = dx_row
        inpatient = rng.random() < p_in or scheme == "kickback_referral"
        level_factor = {1: 0.75, 2: 1.0, 3: 1.35}[hosp.level]
        cost = rng.gammavariate(shape, mean_cost * level_factor / shape)
        if inpatient and p_in < 0.3:  # the rare admission of a mild case costs more
            cost *= 3
        los = max(1, round(rng.gammavariate(3.0, stay / 3.0))) if inpatient else 0
        items = _bill(rng, hosp, cost, inpatient)
        s = hosp.strength
        hour = rng.randrange(8, 18)
        if scheme == "price_inflation":
            for it in rng.sample(items, k=max(1, len(items) // 2)):
                it["amount"] = _money(float(str(it["amount"])) * (1 + 1.5 * s))
        elif scheme == "phantom_items":
            for code_, cat, price in rng.sample(CATALOGUE, k=rng.randint(2, 3 + int(6 * s))):
                qty = rng.randint(1, 4)
                items.append(
                    {"code": code_, "category": cat, "amount": _money(price * qty), "quantity": qty}
                )
        elif scheme == "unbundling":
            extra = []
            for it in items[: max(1, len(items) // 3)]:
                extra.append({**it, "amount": _money(float(str(it["amount"])) * (0.3 + 0.5 * s))})
            items.extend(extra)
        elif scheme == "long_stay" and inpatient:
            los = los + 3 + round(los * 1.5 * s)
            for it in items:
                if it["category"] != "C":
                    it["amount"] = _money(float(str(it["amount"])) * (1 + 0.4 * s))
        elif scheme == "identity_misuse":
            # a claim for a patient the diagnosis cannot belong to
            others = [d for d in DIAGNOSES if d[6] == ("F" if male else "M")]
            code = others[0][0] if others else code
        if scheme in ("long_stay", "stay_split") and not inpatient:
            scheme = None  # an outpatient visit cannot be stretched or split
        fraud = scheme if scheme not in ("stay_split", "rebill") else None
        first = emit(hosp, who, code, inpatient, adm, los, items, fraud, hour)
        if scheme == "stay_split":
            gap = rng.randint(0, 4)
            readm = adm + timedelta(days=los + gap)
            if readm < start + timedelta(days=364):
                second = _bill(rng, hosp, cost * rng.uniform(0.4, 0.9), True)
                emit(hosp, who, code, True, readm, max(1, los // 2), second, scheme, hour)
        elif scheme == "rebill":
            copy = [dict(it) for it in first["items"]]  # type: ignore[attr-defined]
            if rng.random() < 1 - s:  # a careful re-bill changes one amount a little
                copy[0]["amount"] = _money(float(str(copy[0]["amount"])) * 1.03)
            emit(hosp, who, code, inpatient, adm, los, copy, scheme, min(hour + 3, 23))
    out.sort(key=lambda c: (str(c["submitted_at"]), str(c["claim_id"])))
    return out[:claims]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the second world's labelled claims.")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--claims", type=int, default=20000)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    with args.output.open("w", encoding="utf-8") as fh:
        for claim in generate(args.seed, args.claims):
            fh.write(json.dumps(claim, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
