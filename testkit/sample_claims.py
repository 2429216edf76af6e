"""Simple valid (and deliberately broken) claims for stream benchmarks, tests and smoke runs.

Deterministic for a seed. The project's ``simulator`` makes realistic data; this
is only a fast, dependency-free source of spec-valid claims of about 800 bytes.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from typing import Any

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
REGIONS = ("441800", "440100")


def person_id(region: str, birth: date, seq: int) -> str:
    """An 18-char identity number with a correct ISO 7064 MOD 11-2 check character."""
    body = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
    total = sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True))
    return body + _CHECK[total % 11]


def make_claims(
    n: int,
    *,
    seed: int = 0,
    persons: int | None = None,
    prefix: str = "C",
    max_item_yuan: int = 50_000,
    intercity_share: float = 0.3,
) -> list[dict[str, Any]]:
    """``n`` valid claims over ``persons`` people (default n // 4) in regions 441800/440100.

    Args:
        n: how many claims.
        seed: random seed (same seed, same claims).
        persons: how many distinct people.
        prefix: claim ids are ``<prefix><seed>-<n>``.
        max_item_yuan: largest line amount (small values keep people far from annual caps).
        intercity_share: share of claims treated in the other region.
    """
    rng = random.Random(seed)
    persons = persons or max(1, n // 4)
    people = []
    for i in range(persons):
        region = rng.choice(REGIONS)
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 60))
        people.append(
            (
                person_id(region, birth, i),
                region,
                rng.choice(("employee", "resident")),
                rng.random(),
            )
        )
    claims = []
    for k in range(n):
        pid, region, scheme, reg = people[rng.randrange(persons)]
        intercity = rng.random() < intercity_share
        hosp_region = REGIONS[1 - REGIONS.index(region)] if intercity else region
        ctype = rng.choice(("inpatient", "inpatient", "outpatient"))
        adm = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 300))
        dis = adm if ctype == "outpatient" else adm + timedelta(days=rng.randrange(0, 15))
        items = [
            {
                "code": f"X{rng.randrange(10000):05d}",
                "category": rng.choice("AABC"),
                "amount": f"{rng.randrange(100, max_item_yuan * 100) / 100:.2f}",
                "quantity": rng.randrange(1, 4),
            }
            for _ in range(rng.randrange(2, 6))
        ]
        claims.append(
            {
                "claim_id": f"{prefix}{seed}-{k:08d}",
                "claim_type": ctype,
                "submitted_at": f"{dis.isoformat()}T10:15:00+08:00",
                "patient": {
                    "person_id": pid,
                    "scheme": scheme,
                    "insured_region": region,
                    "intercity_registered": reg < 0.5,
                },
                "hospital": {
                    "hospital_id": f"H{hosp_region}-{rng.randrange(20):03d}",
                    "region": hosp_region,
                    "level": rng.choice((1, 2, 3)),
                },
                "admission_date": adm.isoformat(),
                "discharge_date": dis.isoformat(),
                "diagnosis": rng.choice(("J18.9", "I10", "E11.9", "K35.8", "S72.0")),
                "items": items,
            }
        )
    return claims


MALFORMED_LINES = (
    b"this is not json",
    b"[1, 2, 3]",
    b'{"claim_id": "M-1", "claim_type": "inpatient"}',
)


def mixed_claim_lines(n: int, seed: int) -> list[bytes]:
    """A test mix as JSON lines: ``n`` small claims, people with large claims at home and
    in the other region, who cross their annual caps (so the order of a person's
    realtime and inter-city claims changes amounts), five resubmitted duplicates,
    three invalid identity numbers and the malformed lines."""
    small = make_claims(n, seed=seed, max_item_yuan=400)
    big = make_claims(max(4, n // 20), seed=seed + 1, persons=3, prefix="B", intercity_share=0.5)
    bad_id = make_claims(3, seed=seed + 2, prefix="X")
    for c in bad_id:
        pid = c["patient"]["person_id"]
        c["patient"]["person_id"] = pid[:-1] + ("0" if pid[-1] != "0" else "1")
    claims = small + big + small[:5] + bad_id
    lines = [json.dumps(c, ensure_ascii=False).encode() for c in claims]
    return lines + list(MALFORMED_LINES)


def cap_crossing_lines(n: int, seed: int) -> list[bytes]:
    """``mixed_claim_lines`` with a tenth of the claims from people who cross their annual
    caps with both realtime and inter-city claims (about 40 large claims each): the
    order of each person's claims decides what is paid."""
    lines = mixed_claim_lines(n - n // 10, seed)
    heavy = make_claims(n // 10, seed=seed + 3, persons=max(1, n // 400), prefix="H",
                        intercity_share=0.4)  # fmt: skip
    heavy_lines = [json.dumps(c, ensure_ascii=False).encode() for c in heavy]
    # interleaved, so heavy people's claims arrive among everybody else's
    step = max(1, len(lines) // max(1, len(heavy_lines)))
    out: list[bytes] = []
    for i, line in enumerate(heavy_lines):
        out += lines[i * step : (i + 1) * step]
        out.append(line)
    out += lines[len(heavy_lines) * step :]
    return out
