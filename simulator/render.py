"""Rendering episodes as claim dicts and JSON text, and the claim ids.

The JSON text is built directly (no dict, no encoder) and equals
``json.dumps(claim, separators=(",", ":"))`` of the dict form byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from settlement.money import format_fen as yuan
from simulator.categories import PersonCategories, add_patient_fields, patient_json
from simulator.episode import DAY_SECONDS as _DAY
from simulator.episode import Episode
from simulator.items import CATALOGUE
from simulator.world import World

_CLOCK = [f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60)]  # "HH:MM" by minute of day
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ITEM_PREFIX = {
    code: f'{{"code":"{code}","category":"{cat}","amount":"'
    for code, (cat, _p, _k) in CATALOGUE.items()
}
_HONEST = '"is_fraud":false,"fraud_type":null'
_ID_MASK = (1 << 40) - 1


def _scramble(x: int, salt: int) -> int:
    """A bijection of 40-bit integers (xor, odd multiplications, xor-shifts)."""
    x = (x ^ salt) & _ID_MASK
    x = (x * 0x9E3779B97F4A7C15) & _ID_MASK
    x ^= x >> 19
    x = (x * 0xBF58476D1CE4E5B9) & _ID_MASK
    x ^= x >> 21
    return x


class Renderer:
    """Turns episodes into claims; caches date strings and repeated JSON fragments."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._iso: dict[int, str] = {}
        self._compact: dict[int, str] = {}
        self._id_salt = (world.config.seed * 0x9E3779B1 + 0x5EED) & _ID_MASK
        self._hospital_json: dict[int, str] = {}
        self._item_json: dict[tuple[str, int, int], str] = {}
        self.categories = PersonCategories(world)

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

    def claim_id(self, ts: int, i: int, k: int) -> str:
        """The id of the ``k``-th claim drawn on day ``i``, submitted at ``ts``.

        ``YB`` + submission date + ``-`` + 10 hex digits: a seeded bijection of
        (day, position), so ids are unique and say nothing about how a claim
        came about (a second stay and a first one look alike).
        """
        return f"YB{self.compact(ts // _DAY)}-{_scramble((i << 24) | k, self._id_salt):010x}"

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
        }
        add_patient_fields(claim["patient"], self.categories.fields(ep))
        if ep.coding is not None:
            claim["diagnoses"] = list(ep.coding.diagnoses)
            claim["procedures"] = list(ep.coding.procedures)
            claim["discharge_way"] = ep.coding.discharge_way
        claim["items"] = items
        if ep.ltc is not None:
            claim["ltc"] = {"setting": ep.ltc[0], "days": ep.ltc[1]}
        claim["is_fraud"] = ep.fraud is not None
        claim["fraud_type"] = ep.fraud
        if ep.rules:
            claim["rule_violations"] = list(ep.rules)
        if ep.lookalike is not None:
            claim["rule_lookalike"] = ep.lookalike
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
        if ep.rules:
            fraud += ',"rule_violations":[' + ",".join(f'"{c}"' for c in ep.rules) + "]"
        if ep.lookalike is not None:
            fraud += f',"rule_lookalike":"{ep.lookalike}"'
        coding = ""
        if ep.coding is not None:
            c = ep.coding
            dxs = ",".join('"' + d + '"' for d in c.diagnoses)
            procs = ",".join('"' + p + '"' for p in c.procedures)
            coding = (
                f',"diagnoses":[{dxs}],"procedures":[{procs}],"discharge_way":{c.discharge_way}'
            )
        scheme = "employee" if pop.l_employee[ep.person] else "resident"
        registered = "true" if ep.registered else "false"
        extra = patient_json(self.categories.fields(ep))
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
            f'"intercity_registered":{registered}{extra}}},"hospital":{hs},'
            f'"admission_date":"{adm}","discharge_date":"{dis}",'
            f'"diagnosis":"{ep.dx}"{coding},"items":[{items}]{ltc},{fraud}}}'
        )
