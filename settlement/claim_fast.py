"""The fast path of claim validation: the usual valid claim, from its bytes to a :class:`Claim`.

:func:`fast_claim` decodes a line with the typed decoder of
:mod:`settlement.claim_wire` and checks it against the contract (spec sections
2 and 5). It answers only when the claim is valid: then it gives exactly the
:class:`Claim` that ``decode_claim`` and ``parse_claim`` give. Anything else
(a line the typed decoder refuses, an unknown field, an amount in exponent
form or with a third decimal, any invalid value) gives None, and the caller
takes that exact path, which words every error. Amounts are read from their
literal text (:func:`settlement.claim_items.fast_amount`), never from a float.
"""

from __future__ import annotations

from settlement.claim import Claim
from settlement.claim_checks import person_id_facts
from settlement.claim_fields import (
    ID_PATTERN,
    MAX_CODES,
    NAME_PATTERN,
    PROCEDURE_PATTERN,
    REGION_PATTERN,
    parse_date_time,
)
from settlement.claim_items import MAX_ITEMS, Item, fast_amount
from settlement.claim_wire import UNSET, WIRE_DECODER, UnsetType, WireClaim, WireError
from settlement.policy import PolicyBook


def fast_claim(raw: bytes, book: PolicyBook) -> Claim | None:
    """The valid claim in ``raw`` (one JSON document), or None: take the exact path.

    The caller bounds ``raw``'s size first, as for ``decode_claim``.
    """
    try:
        wire = WIRE_DECODER.decode(raw)
    except WireError:
        return None
    # A duplicated "amount" key keeps its last value, and the typed decoder never
    # bounds the earlier one as the exact decoder does (a 101-character literal,
    # nesting over 64 levels): one "amount" per item, written without escapes.
    if raw.count(b'"amount"') != len(wire.items) or b"\\" in raw:
        return None
    return claim_from_wire(wire, book)


def claim_from_wire(wire: WireClaim, book: PolicyBook) -> Claim | None:
    """The :class:`Claim` of a decoded claim when it is valid, else None.

    Every check of ``parse_claim`` that can fail for a well-typed claim is here,
    in the same terms; a check that fails returns None at once.
    """
    # claim_type, scheme, intercity_filing, level, item categories, ltc.setting
    # and discharge_way were checked against their lists by the typed decoder,
    # and the two dates parsed as parse_date does.
    claim_id = wire.claim_id
    claim_type = wire.claim_type
    if not ID_PATTERN.fullmatch(claim_id):
        return None
    submitted_at = wire.submitted_at
    if parse_date_time(submitted_at) is None:
        return None
    patient = wire.patient
    person_id = patient.person_id
    scheme = patient.scheme
    insured_region = patient.insured_region
    if not REGION_PATTERN.fullmatch(insured_region):
        return None
    registered = patient.intercity_registered
    category = patient.category
    assistance = patient.assistance
    filing = patient.intercity_filing
    if category is not UNSET and not NAME_PATTERN.fullmatch(category):
        return None
    if assistance is not UNSET and not NAME_PATTERN.fullmatch(assistance):
        return None
    hospital = wire.hospital
    hospital_id = hospital.hospital_id
    hospital_region = hospital.region
    level = hospital.level
    if not ID_PATTERN.fullmatch(hospital_id) or not REGION_PATTERN.fullmatch(hospital_region):
        return None
    admission = wire.admission_date
    discharge = wire.discharge_date
    diagnosis = wire.diagnosis
    if not 1 <= len(diagnosis) <= 16:
        return None
    items = _items(wire)
    if items is None:
        return None
    ltc_setting: str | None = None
    ltc_days: int | None = None
    if claim_type == "ltc":
        ltc = wire.ltc
        if ltc is UNSET or ltc.days < 1:
            return None
        ltc_setting, ltc_days = ltc.setting, ltc.days
    diagnoses = _codes(wire.diagnoses, False)
    procedures = _codes(wire.procedures, True)
    discharge_way = wire.discharge_way
    if diagnoses is None or procedures is None or diagnosis in diagnoses:
        return None
    # the checks across fields (settlement.claim_checks)
    problem, born = person_id_facts(person_id)
    if problem is not None or born is None or born > admission:
        return None
    span = (discharge - admission).days
    if span < 0 or (claim_type == "outpatient" and span != 0):
        return None
    if ltc_days is not None and ltc_days > span + 1:
        return None
    policy = book.version_for(insured_region, discharge)
    if policy is None or (claim_type == "ltc" and insured_region != hospital_region):
        return None
    is_fraud = wire.is_fraud
    return Claim(
        claim_id=claim_id,
        claim_type=claim_type,
        submitted_at=submitted_at,
        person_id=person_id,
        scheme=scheme,
        insured_region=insured_region,
        intercity_registered=False if registered is UNSET else registered,
        hospital_id=hospital_id,
        hospital_region=hospital_region,
        hospital_level=level,
        admission_date=admission,
        discharge_date=discharge,
        diagnosis=diagnosis,
        items=items,
        ltc_setting=ltc_setting,
        ltc_days=ltc_days,
        is_fraud=None if is_fraud is UNSET else is_fraud,
        fraud_type=wire.fraud_type,
        policy=policy,
        category=None if category is UNSET else category,
        assistance=None if assistance is UNSET else assistance,
        intercity_filing=None if filing is UNSET else filing,
        diagnoses=diagnoses,
        procedures=procedures,
        discharge_way=None if discharge_way is UNSET else discharge_way,
    )


def _items(wire: WireClaim) -> list[Item] | None:
    """The bill lines when every one is plain and valid (``_plain_item``'s terms), else None."""
    raw_items = wire.items
    if not raw_items or len(raw_items) > MAX_ITEMS:
        return None
    items: list[Item] = []
    for raw in raw_items:
        amount_fen = fast_amount(raw.amount)
        code = raw.code
        category = raw.category
        if amount_fen is None or not 0 < len(code) <= 64:
            return None
        quantity = raw.quantity
        if quantity is UNSET:
            items.append(Item(code, category, amount_fen, None))
        elif quantity >= 1:
            items.append(Item(code, category, amount_fen, quantity))
        else:
            return None
    return items


def _codes(codes: list[str] | UnsetType, procedures: bool) -> tuple[str, ...] | None:
    """``diagnoses`` (or ``procedures``) as ``code_list`` reads them; None when invalid."""
    if codes is UNSET:
        return ()
    if len(codes) > MAX_CODES:
        return None
    for code in codes:
        if not (PROCEDURE_PATTERN.fullmatch(code) if procedures else 1 <= len(code) <= 16):
            return None
    if len(set(codes)) != len(codes):
        return None
    return tuple(codes)
