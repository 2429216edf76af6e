"""A small labelled-claims generator for the detection tests (fixtures only).

Independent of the project's simulator on purpose: a second, simpler world in
which hospitals commit the usual kinds of fraud (up-coding, split admissions,
template bills, item substitution, duplicate billing, padded stays, claims
for implausible patients). Deterministic for a given seed.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from settlement.idnumber import check_character

REGIONS = ("441800", "440100", "440300", "440600", "441900")
DIAGNOSES = (
    # code, base cost yuan, inpatient share, typical stay, age range
    ("J18.9", 6000, 0.6, 7, (1, 90)),
    ("I63.9", 20000, 0.9, 12, (45, 95)),
    ("K35.8", 12000, 0.95, 5, (8, 70)),
    ("E11.9", 800, 0.15, 6, (30, 90)),
    ("J06.9", 200, 0.02, 3, (1, 80)),
    ("S72.0", 30000, 1.0, 14, (55, 95)),
    ("O80", 5000, 1.0, 3, (20, 40)),
    ("N40", 3000, 0.4, 5, (50, 90)),
    ("I10", 300, 0.05, 5, (35, 90)),
    ("M54.5", 400, 0.1, 7, (25, 80)),
)
FRAUD_TYPES = (
    "upcoding",
    "split_admission",
    "template_bill",
    "substitution",
    "duplicate",
    "padded_stay",
    "implausible_patient",
)


def person_id(rng: random.Random, region: str, born: date, male: bool) -> str:
    seq = rng.randrange(0, 50) * 2 + (1 if male else 0)
    first17 = f"{region}{born:%Y%m%d}{rng.randrange(10)}{seq:02d}"[:17]
    first17 = first17[:16] + str(int(first17[16]) // 2 * 2 + (1 if male else 0))
    return first17 + check_character(first17)


def _items(rng: random.Random, hospital: str, dx: str, cost: float, n: int) -> list[dict]:
    weights = [rng.random() for _ in range(n)]
    total_w = sum(weights)
    items = []
    for i, w in enumerate(weights):
        cat = rng.choices("ABC", weights=(0.55, 0.35, 0.10))[0]
        fen = max(100, int(cost * 100 * w / total_w))
        items.append(
            {
                "code": f"{hospital}-{dx[:3]}-{i:02d}",
                "category": cat,
                "amount": f"{fen // 100}.{fen % 100:02d}",
                "quantity": 1,
            }
        )
    return items


def generate(
    seed: int,
    claims: int = 3000,
    hospitals: int = 40,
    fraud_hospitals: int = 8,
    fraud_rate: float = 0.25,
) -> list[dict]:
    """Labelled claims in the spec's JSON shape, in submission order."""
    rng = random.Random(seed)
    hosp = []
    for h in range(hospitals):
        hid = f"H{seed}-{h:03d}"
        hosp.append(
            (
                hid,
                rng.choice(REGIONS),
                rng.choice((1, 2, 2, 3)),
                h < fraud_hospitals,
                rng.choice(FRAUD_TYPES),
            )
        )
    people = []
    for _ in range(max(50, claims // 3)):
        region = rng.choice(REGIONS)
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 34000))
        male = rng.random() < 0.5
        people.append(
            (
                person_id(rng, region, born, male),
                region,
                born,
                male,
                rng.choice(("employee", "resident")),
            )
        )
    start = date(2025, 1, 1)
    out: list[dict] = []
    n = 0
    while len(out) < claims:
        hid, hregion, level, is_bad, kind = rng.choice(hosp)
        pid, pregion, born, male, scheme = rng.choice(people)
        dx, base, p_in, stay, (lo, hi) = rng.choice(DIAGNOSES)
        age = (start - born).days / 365.25
        if not lo <= age <= hi or (dx == "O80" and male) or (dx == "N40" and not male):
            continue
        inpatient = rng.random() < p_in
        adm = start + timedelta(days=rng.randrange(0, 340))
        los = max(1, int(rng.gauss(stay, stay / 4))) if inpatient else 0
        cost = base * (0.7 + 0.4 * level) * rng.lognormvariate(0, 0.3)
        n_items = rng.randint(3, 12) if inpatient else rng.randint(1, 4)
        fraud = is_bad and rng.random() < fraud_rate
        ftype = kind if fraud else None
        extra: list[dict] = []
        items = _items(rng, hid, dx, cost, n_items)
        if fraud and kind == "upcoding":
            for it in items:
                fen = int(float(it["amount"]) * 100 * rng.uniform(2.2, 3.5))
                it["amount"] = f"{fen // 100}.{fen % 100:02d}"
        elif fraud and kind == "padded_stay" and inpatient:
            los = los * 3 + 2
        elif fraud and kind == "substitution":
            for it in items:
                if it["category"] != "A":
                    it["category"] = "A"
            items.append(
                {
                    "code": f"{hid}-X",
                    "category": "A",
                    "amount": f"{int(cost * 0.8)}.00",
                    "quantity": 1,
                }
            )
        elif fraud and kind == "template_bill":
            items = [
                {"code": f"{hid}-T{i}", "category": "A", "amount": "388.00", "quantity": 1}
                for i in range(5)
            ]
        elif fraud and kind == "implausible_patient":
            dx = "O80" if male else "N40"
        disch = adm + timedelta(days=los)
        n += 1
        claim = {
            "claim_id": f"C{seed}-{n:07d}",
            "claim_type": "inpatient" if inpatient else "outpatient",
            "submitted_at": datetime(
                disch.year, disch.month, disch.day, 9, rng.randrange(60)
            ).isoformat()
            + "+08:00",
            "patient": {
                "person_id": pid,
                "scheme": scheme,
                "insured_region": pregion,
                "intercity_registered": pregion != hregion,
            },
            "hospital": {"hospital_id": hid, "region": hregion, "level": level},
            "admission_date": adm.isoformat(),
            "discharge_date": disch.isoformat(),
            "diagnosis": dx,
            "items": items,
            "is_fraud": fraud,
            "fraud_type": ftype,
        }
        if fraud and kind == "split_admission" and inpatient:
            claim["is_fraud"], claim["fraud_type"] = False, None
            n += 1
            re_adm = disch + timedelta(days=rng.randint(0, 3))
            re_dis = re_adm + timedelta(days=max(1, los // 2))
            extra.append(
                {
                    **claim,
                    "claim_id": f"C{seed}-{n:07d}",
                    "admission_date": re_adm.isoformat(),
                    "discharge_date": re_dis.isoformat(),
                    "submitted_at": datetime(re_dis.year, re_dis.month, re_dis.day, 15).isoformat()
                    + "+08:00",
                    "items": _items(rng, hid, dx, cost / 2, n_items),
                    "is_fraud": True,
                    "fraud_type": kind,
                }
            )
        elif fraud and kind == "duplicate":
            claim["is_fraud"], claim["fraud_type"] = False, None
            n += 1
            extra.append(
                {
                    **claim,
                    "claim_id": f"C{seed}-{n:07d}",
                    "submitted_at": datetime(disch.year, disch.month, disch.day, 17).isoformat()
                    + "+08:00",
                    "is_fraud": True,
                    "fraud_type": kind,
                }
            )
        out.append(claim)
        out.extend(extra)
    out.sort(key=lambda c: (c["submitted_at"], c["claim_id"]))
    return out[:claims]
