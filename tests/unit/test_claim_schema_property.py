"""The claim schema and :func:`parse_claim` agree on what is ``malformed`` (spec section 5).

Section 5 says a violation of ``claim.schema.json`` is ``malformed`` unless a
more specific code applies (``invalid_region``, ``invalid_amount``...), and a
schema-valid claim may still be rejected for what the schema cannot see (a
bad check character, discharge before admission, no policy in force). What
these tests check, precisely:

1. A document drawn from the project's copy of the schema (with
   hypothesis-jsonschema) is never rejected ``malformed``.
2. A valid claim with one field removed or replaced by any JSON value is
   rejected (``malformed`` or another code of section 5) when the result
   breaks the schema, and is not ``malformed`` when it does not.

Two rules of the spec's text that JSON Schema cannot state are the only
exceptions: an ``ltc`` object on a claim that is not ``ltc`` is ignored
(section 2), and ``diagnoses`` may not list the principal diagnosis
(dip.md section 1, ``malformed``). Documents go through JSON text and the
project's decoder, as a claim line does. The input bounds of
docs/settlement.md ("Limits on input": 1 MiB a line, number literals of 100
characters, 10,000 items) are bounds of this implementation the schema does
not state; the documents drawn here stay within them.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator, FormatChecker

from settlement.claim import ClaimCheck, parse_claim
from settlement.errors import ERROR_CODES, MALFORMED
from settlement.jsonio import decode_claim
from settlement.policy import PolicyBook
from settlement.policy_loader import load_policy_dir

from .base_claim import BASE_CLAIM, GOLDEN_POLICIES, merge

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "settlement" / "spec" / "claim.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _ecma_patterns(node: Any) -> Any:
    """The schema with each pattern's final ``$`` read as ECMA-262 reads it.

    In JSON Schema (ECMA-262 regexes) ``$`` matches only at the very end; in
    Python's ``re`` it also matches before a final newline, so jsonschema
    would take ``"C1\\n"`` for a valid claim id. ``\\Z`` is ECMA's ``$``.
    """
    if isinstance(node, dict):
        out = {key: _ecma_patterns(value) for key, value in node.items()}
        pattern = node.get("pattern")
        if isinstance(pattern, str) and pattern.endswith("$"):
            out["pattern"] = pattern[:-1] + r"\Z"
        return out
    if isinstance(node, list):
        return [_ecma_patterns(value) for value in node]
    return node


def _format_checker() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("date-time")
    def _date_time(instance: object) -> bool:
        # jsonschema checks date-time only with an optional package; RFC 3339's grammar
        return not isinstance(instance, str) or bool(_RFC3339.fullmatch(instance))

    return checker


VALIDATOR = Draft202012Validator(_ecma_patterns(SCHEMA), format_checker=_format_checker())


@pytest.fixture(scope="module")
def book() -> PolicyBook:
    return load_policy_dir(GOLDEN_POLICIES)


def _parse(document: Any, book: PolicyBook) -> ClaimCheck:
    """``document`` as a claim line: JSON text, the project's decoder, then the parser."""
    return parse_claim(decode_claim(json.dumps(document)), book)


def _codes(check: ClaimCheck) -> list[str]:
    codes = [issue.code for issue in check.issues]
    assert set(codes) <= set(ERROR_CODES)
    return codes


def _lists_principal(document: Any) -> bool:
    """dip.md section 1: the secondary diagnoses may not repeat the principal one."""
    diagnoses = document.get("diagnoses")
    return isinstance(diagnoses, list) and document.get("diagnosis") in diagnoses


# hypothesis-jsonschema draws whole claims slowly (about a second each on a
# loaded machine): few examples here; the mutations below carry the bulk. It
# also discards many of its own drafts for a schema this size (pattern and
# uniqueness constraints), which trips the filter health check at random:
# the filtering is the strategy's, not an assumption of this test.
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
@given(document=from_schema(SCHEMA, codec="utf-8"))
def test_a_schema_valid_document_is_never_malformed(document: Any, book: PolicyBook) -> None:
    assert VALIDATOR.is_valid(document)
    check = _parse(document, book)
    if _lists_principal(document):
        assert MALFORMED in _codes(check)
        return
    assert MALFORMED not in _codes(check), check.issues


# Valid claims of each type, accepted as they are; the mutations start from them.
VALID_CLAIMS: list[dict[str, Any]] = [
    merge(
        BASE_CLAIM, {"claim_id": "P1", "items": [{"code": "X1", "category": "B", "amount": 12.5}]}
    ),
    merge(
        BASE_CLAIM,
        {
            "claim_id": "P2",
            "claim_type": "outpatient",
            "admission_date": "2026-03-05",
            "patient": {"category": "retired", "intercity_filing": "referral"},
            "hospital": {"region": "440100", "level": 3},
            "items": [{"code": "X2", "category": "C", "amount": "8.05", "quantity": 2}],
            "diagnoses": ["E11.9"],
            "procedures": ["47.01"],
            "discharge_way": 1,
            "is_fraud": False,
            "fraud_type": None,
        },
    ),
    merge(
        BASE_CLAIM,
        {"claim_id": "P3", "claim_type": "ltc", "ltc": {"setting": "home", "days": 5}},
    ),
]
# Where a mutation lands: every field of the schema, at any depth.
PATHS: list[tuple[Any, ...]] = [
    (key,) for key in SCHEMA["properties"] if key not in ("patient", "hospital", "items", "ltc")
] + [
    ("patient",),
    ("hospital",),
    ("items",),
    ("ltc",),
    ("items", 0),
    *(("patient", key) for key in SCHEMA["properties"]["patient"]["properties"]),
    *(("hospital", key) for key in SCHEMA["properties"]["hospital"]["properties"]),
    *(("items", 0, key) for key in SCHEMA["properties"]["items"]["items"]["properties"]),
    *(("ltc", key) for key in SCHEMA["properties"]["ltc"]["properties"]),
]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=70)
    | st.sampled_from(["", "C1\n", "1", "1.0", "A", "ltc", "home", "2026-03-05", "441800"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
# A value of the right shape for some field: the mutation then often stays schema-valid.
FIELD_VALUES = st.sampled_from([1, 2, 3, 4, 0, 1.0, 2.5, True, "B", "X9", "employee", "resident"])


def _mutate(claim: dict[str, Any], path: tuple[Any, ...], value: Any, remove: bool) -> Any:
    """A copy of ``claim`` with the field at ``path`` removed or set; None if it has no parent."""
    document = copy.deepcopy(claim)
    parent: Any = document
    for step in path[:-1]:
        parent = parent.get(step) if isinstance(parent, dict) else parent[step]
        if parent is None:
            return None
    last = path[-1]
    if isinstance(parent, list):
        parent[last] = value
    elif remove:
        parent.pop(last, None)
    else:
        parent[last] = value
    return document


def test_the_starting_claims_are_valid_and_accepted(book: PolicyBook) -> None:
    for claim in VALID_CLAIMS:
        assert VALIDATOR.is_valid(claim), claim
        check = _parse(claim, book)
        assert check.claim is not None, check.issues


@settings(max_examples=800, deadline=None)
@given(
    claim=st.sampled_from(VALID_CLAIMS),
    path=st.sampled_from(PATHS),
    value=JSON_VALUES | FIELD_VALUES,
    remove=st.booleans(),
)
def test_a_mutated_claim_is_rejected_exactly_when_it_breaks_the_schema(
    claim: dict[str, Any], path: tuple[Any, ...], value: Any, remove: bool, book: PolicyBook
) -> None:
    document = _mutate(claim, path, value, remove)
    assume(document is not None)
    codes = _codes(_parse(document, book))
    if _lists_principal(document):
        assert MALFORMED in codes
    elif VALIDATOR.is_valid(document):
        assert MALFORMED not in codes, (document, codes)
    elif document.get("claim_type") != "ltc" and VALIDATOR.is_valid(
        {key: value for key, value in document.items() if key != "ltc"}
    ):
        # settlement.md section 2: an ltc object on a claim that is not ltc is ignored.
        assert MALFORMED not in codes, (document, codes)
    else:
        assert codes, f"accepted a claim that breaks the schema: {document}"


@pytest.mark.parametrize(
    ("path", "value", "codes"),
    [
        # Found by the property above: schema-valid whole numbers written with an
        # exponent were malformed when their value had over 100 digits.
        (("items", 0, "quantity"), 1e300, []),
        (("ltc", "days"), 1e300, ["invalid_dates"]),
        # Beyond a double they are infinity to a schema validator: not integers.
        (("items", 0, "quantity"), "1e309", ["malformed"]),
    ],
)
def test_a_whole_number_in_the_range_of_a_double_is_an_integer(
    path: tuple[Any, ...], value: Any, codes: list[str], book: PolicyBook
) -> None:
    claim = VALID_CLAIMS[2] if path[0] == "ltc" else VALID_CLAIMS[0]
    document = _mutate(claim, path, 0, remove=False)
    text = json.dumps(document).replace(": 0}", f": {value}}}", 1)
    assert _codes(parse_claim(decode_claim(text), book)) == codes
