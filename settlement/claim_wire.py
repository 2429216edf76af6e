"""The claim record's shape as msgspec Structs: a typed, exact decode for the settle hot path.

:data:`WIRE_DECODER` reads a claim line straight into these Structs, checking
the JSON syntax, UTF-8, every field's JSON type, the closed lists of values
(claim types, schemes, categories, levels...) and the dates in C, and refusing
unknown fields. An amount is decoded as :data:`typing.Any` with non-integer numbers
kept as their literal text (:class:`~settlement.jsonnumber.JsonNumber`), as
:mod:`settlement.jsonio` does: no binary float is ever built. Only the usual,
valid claim is taken this way (:mod:`settlement.claim_fast`); a line this
decoder refuses goes through the exact stdlib decoder and ``parse_claim``,
which are the reference and word every error.

A duplicated key keeps its last value, as in the stdlib decoder; an earlier
value is still type-checked, except an amount's (``Any``), which the exact
decoder would also bound (length, depth): :func:`settlement.claim_fast.fast_claim`
leaves a line with a duplicated or escaped ``amount`` key to the exact path.

Optional fields default to ``UNSET``, not None, so an explicit ``null`` (which
the contract calls malformed) cannot pass for an absent field. Kept apart from
the compiled modules: mypyc cannot compile a subclass of ``msgspec.Struct``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from settlement.jsonnumber import JsonNumber

__all__ = ["UNSET", "WIRE_DECODER", "UnsetType", "WireClaim", "WireError", "WireItem"]

#: What the typed decoder raises for a line it does not take (bad JSON, a
#: field of the wrong JSON type, an unknown field...). RecursionError: an
#: amount nested thousands deep (only ``Any`` can nest).
WireError = (msgspec.DecodeError, RecursionError)


#: An integer of at most 19 digits: the exact decoder refuses a literal of more
#: than 100 characters even where settlement ignores the value (``ltc`` on a
#: claim that is not ltc), so a larger one must not pass here.
Int64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]


class WirePatient(Struct, forbid_unknown_fields=True, gc=False):
    """``patient`` (spec section 2)."""

    person_id: str
    scheme: Literal["employee", "resident"]
    insured_region: str
    intercity_registered: bool | UnsetType = UNSET
    category: str | UnsetType = UNSET
    assistance: str | UnsetType = UNSET
    intercity_filing: Literal["long_term", "referral", "emergency", "temporary"] | UnsetType = UNSET


class WireHospital(Struct, forbid_unknown_fields=True, gc=False):
    """``hospital``."""

    hospital_id: str
    region: str
    level: Literal[1, 2, 3]


class WireItem(Struct, forbid_unknown_fields=True, gc=False):
    """One bill line; ``amount`` as decoded exactly (int, JsonNumber, str or other)."""

    code: str
    category: Literal["A", "B", "C"]
    amount: Any
    quantity: Int64 | UnsetType = UNSET


class WireLtc(Struct, forbid_unknown_fields=True, gc=False):
    """``ltc``."""

    setting: Literal["institutional", "home"]
    days: Int64


class WireClaim(Struct, forbid_unknown_fields=True, gc=False):
    """A claim with every field the schema names (claim.schema.json); no others."""

    claim_id: str
    claim_type: Literal["inpatient", "outpatient", "ltc"]
    submitted_at: str
    patient: WirePatient
    hospital: WireHospital
    admission_date: date  # msgspec reads exactly YYYY-MM-DD, as parse_date (tested)
    discharge_date: date
    diagnosis: str
    items: list[WireItem]
    ltc: WireLtc | UnsetType = UNSET
    is_fraud: bool | UnsetType = UNSET
    fraud_type: str | None = None
    diagnoses: list[str] | UnsetType = UNSET
    procedures: list[str] | UnsetType = UNSET
    discharge_way: Literal[1, 2, 3, 4, 5, 9] | UnsetType = UNSET


#: Decodes one claim document (bytes) into a :class:`WireClaim`; raises one of :data:`WireError`.
WIRE_DECODER = msgspec.json.Decoder(WireClaim, float_hook=JsonNumber)
