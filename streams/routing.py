"""Which worker settles a claim: one person, one partition of ``claims``, one order.

A claim is settled only from the partition of ``claims`` that Kafka's default
partitioner gives its ``patient.person_id`` (murmur2 of the UTF-8 bytes). A
message anywhere else (an ingress topic, a wrong partition, no key) is
forwarded there with a trace header, so duplicate detection and annual caps see
the person's whole history whatever the producer did.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aiokafka.partitioner import murmur2

from settlement.claim import Claim

#: ``topic:partition:offset`` of the message as it was first read (set when forwarding).
ORIGIN_HEADER = "yibao.origin"
#: ``realtime`` or ``intercity`` (informational: the claim itself says which).
KIND_HEADER = "yibao.kind"
#: How many times a message was forwarded; past MAX_HOPS it is dead-lettered, not bounced.
HOPS_HEADER = "yibao.hops"
MAX_HOPS = 3

Source = tuple[str, int, int]


@lru_cache(maxsize=1 << 18)
def person_partition(person_id: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives the key ``person_id``.

    Cached: people claim again and again, and murmur2 in Python costs microseconds.
    """
    hashed: int = murmur2(person_id.encode("utf-8", "surrogatepass"))
    return (hashed & 0x7FFFFFFF) % partitions


def person_of(obj: Any) -> str | None:
    """The ``patient.person_id`` string of a decoded claim (or a validated :class:`Claim`'s),
    or None (not routable)."""
    if type(obj) is Claim:
        return obj.person_id
    if type(obj) is dict:
        patient = obj.get("patient")
        if type(patient) is dict:
            pid = patient.get("person_id")
            if type(pid) is str:
                return pid
    return None


def kind_of(obj: Any) -> str:
    """``intercity`` when the insured and hospital regions differ, else ``realtime`` (of a
    decoded claim, or of a validated :class:`Claim`)."""
    if type(obj) is Claim:
        return "intercity" if obj.intercity else "realtime"
    try:
        away = obj["patient"]["insured_region"] != obj["hospital"]["region"]
    except (TypeError, KeyError, IndexError):
        return "realtime"
    return "intercity" if away else "realtime"


def header(headers: Any, name: str) -> bytes | None:
    """The value of header ``name`` of a consumed record (None when absent)."""
    for key, value in headers or ():
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


def origin_of(headers: Any) -> Source | None:
    """The first-read coordinates carried by a forwarded message, or None."""
    raw = header(headers, ORIGIN_HEADER)
    if raw is None:
        return None
    try:
        topic, partition, offset = raw.decode("ascii").rsplit(":", 2)
        return topic, int(partition), int(offset)
    except ValueError:
        return None  # not ours (a producer's own header): the message's own place counts


def hops_of(headers: Any) -> int:
    raw = header(headers, HOPS_HEADER)
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return MAX_HOPS


def forward_headers(origin: Source, hops: int, kind: str) -> list[tuple[str, bytes]]:
    """Headers of a forwarded message: where it was first read, hop count, kind."""
    return [
        (ORIGIN_HEADER, f"{origin[0]}:{origin[1]}:{origin[2]}".encode()),
        (HOPS_HEADER, str(hops).encode()),
        (KIND_HEADER, kind.encode()),
    ]


def claim_key_and_topic(claim: object) -> tuple[bytes | None, str]:
    """Kafka key (person_id) and input topic (the ``claims`` log) for one decoded claim.

    Realtime and inter-city claims go to the same log, so a person's claims keep
    the order they were sent in. Anything without a person id goes unkeyed: the
    worker answers it as malformed where it lands.
    """
    from streams.topics import CLAIMS

    person = person_of(claim)
    return (person.encode("utf-8", "surrogatepass") if person is not None else None), CLAIMS
