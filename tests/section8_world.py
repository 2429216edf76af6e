"""A policy directory and claims that use section 8, for the stream tests (unit and integration).

The bundled policies with every version given 8.5 deductibles, critical
illness with a low cap, assistance and a retiree category, catalogues for
Guangzhou and Qingyuan, and claims whose patients carry categories: enough that the new
accumulators decide amounts (so a lost or doubled accumulator would show).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from settlement.policy_loader import bundled_policy_dir

# every third of the sample claims' codes X00000-X09999: B with a 30% first self-pay
# share and a price ceiling of 100.00 to 499.00 a unit; every seventh reclassified C
CATALOGUE = "code,category,self_pay,price_ceiling,effective_from\n" + "".join(
    f"X{n:05d},{'C' if n % 7 == 0 else 'B'},0.30,{100 + n % 400}.00,2020-01-01\n"
    for n in range(0, 10000, 3)
)
OVERLAY_SCHEME: dict[str, Any] = {
    "categories": {"retired": {"annual_cap": 60000}},
    "critical_illness": {
        "threshold": 3000,
        "bands": [{"up_to": 20000, "ratio": 0.6}, {"up_to": None, "ratio": 0.7}],
        "annual_cap": 15000,
    },
}
OVERLAY_INPATIENT = {"deductible_repeat_factor": 0.5, "deductible_year_max": 1500}


def write_section8_policies(target: Path) -> Path:
    """The bundled policies with section-8 keys added to every version, plus two catalogues."""
    target.mkdir(parents=True, exist_ok=True)
    for source in bundled_policy_dir().glob("*.yaml"):
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
        for version in document["versions"]:
            version.pop("source", None)
            version["assistance"] = {"dibao": {"threshold": 500, "ratio": 0.7, "annual_cap": 3000}}
            for scheme in version["schemes"].values():
                scheme.update(json.loads(json.dumps(OVERLAY_SCHEME)))
                scheme["inpatient"].update(OVERLAY_INPATIENT)
        (target / source.name).write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    for region in ("440100", "441800"):
        (target / f"{region}.catalogue.csv").write_text(CATALOGUE, encoding="utf-8")
    return target


def with_section8_patients(lines: list[bytes]) -> list[bytes]:
    """Give a third of the persons the retired category and a third dibao assistance."""
    out = []
    for line in lines:
        try:
            claim = json.loads(line)
            pid = claim["patient"]["person_id"]
        except (ValueError, KeyError, TypeError):
            out.append(line)
            continue
        bucket = hashlib.sha256(str(pid).encode()).digest()[0] % 3
        if bucket == 1:
            claim["patient"]["category"] = "retired"
        elif bucket == 2:
            claim["patient"]["assistance"] = "dibao"
        out.append(json.dumps(claim, ensure_ascii=False).encode())
    return out
