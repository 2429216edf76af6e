"""Why each settled amount is what it is: the step, parameter, policy version and source.

Built for the review app and for clerks answering a hospital's question. Not
on the settlement hot path (and not compiled).

With the claim itself and the person's year totals before it
(:class:`Before`), :func:`explain_settlement` retraces every step the engine
took (spec sections 4 and 8): the catalogue row of each item, the person
category, the deductible by admission number, the ratio by level or each
band's part, the inter-city filing reduction, the ltc co-payment, the
critical-illness and assistance layers, and ``patient_pay``. Every
intermediate number is computed with the engine's own functions
(:mod:`settlement.layers`, :func:`settlement.money.round_ratio`,
:meth:`Catalogue.row_on`), and the whole claim is then settled once more with
:func:`settlement.engine.compute_settlement`: a trace that disagrees with the
engine, or an engine result that disagrees with the record (an earlier claim
of the person-year missing from the accumulators), is reported as a
``check`` step instead of being hidden.

Without the claim (only its record) the explanation is the record's amounts
with the rules and parameters that could apply.

The steps are written by :mod:`settlement.explain_claim` (with
:mod:`settlement.explain_basic` for the basic fund and its layers) and
:mod:`settlement.explain_record` (the record alone), with the parts of
:mod:`settlement.explain_steps`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from settlement.claim import Claim, parse_claim
from settlement.explain_claim import explain_claim
from settlement.explain_record import record_only
from settlement.explain_steps import FINAL_AMOUNTS, NO_SOURCE, Before
from settlement.idnumber import check_character
from settlement.money import parse_fen_text
from settlement.policy import PolicyBook
from settlement.state import YearTotals

__all__ = [
    "FINAL_AMOUNTS",
    "NO_SOURCE",
    "PLACEHOLDER_PERSON_ID",
    "Before",
    "claim_from_body",
    "explain_settlement",
    "year_totals_from_records",
]

_FIRST17 = "11010519000101001"
#: A valid identity number put in place of a masked one so a stored claim body
#: parses again; settlement never reads the number itself.
PLACEHOLDER_PERSON_ID = _FIRST17 + check_character(_FIRST17)


def claim_from_body(body: Any, book: PolicyBook) -> Claim | None:
    """A stored claim body (person id masked) as a validated :class:`Claim`, or None.

    The masked identity number is replaced by :data:`PLACEHOLDER_PERSON_ID`:
    settlement never uses it, and validation would refuse the masked one.
    """
    if not isinstance(body, dict) or not isinstance(body.get("patient"), dict):
        return None
    patient = {**body["patient"], "person_id": PLACEHOLDER_PERSON_ID}
    check = parse_claim({**body, "patient": patient}, book)
    return check.claim


def year_totals_from_records(
    earlier: Iterable[tuple[dict[str, Any], Claim | None]], book: PolicyBook
) -> Before:
    """The accumulators before a claim, summed from the person-year's earlier settled claims.

    Args:
        earlier: the ``settled`` records of the person's earlier claims with the
            same discharge year, in settlement order, each with its claim (or
            None when only the record is known).
        book: the policies they were settled under.

    The sums are the spec's definitions: fund paid counts ``fund_pay`` of every
    in-patient and out-patient claim; ``n`` and ``d`` (8.5) the in-patient
    claims and their ``deductible``; ``Q`` (8.8) ``eligible - fund_pay`` of the
    claims whose scheme has critical-illness insurance and ``CI`` their
    ``ci_pay``; ``Aq`` (8.9) ``eligible - fund_pay - ci_pay`` of the claims whose
    assistance category the version names and ``MA`` their ``ma_pay``.
    """
    fund_paid = admissions = deductibles = ci_base = ci_paid = ma_base = ma_paid = 0
    count = 0
    notes: list[str] = []
    for record, claim in earlier:
        if record.get("status") != "settled" or record.get("claim_type") == "ltc":
            continue
        count += 1
        cid = record.get("claim_id")
        eligible = parse_fen_text(record["eligible"])
        fund_pay = parse_fen_text(record["fund_pay"])
        ci_pay = parse_fen_text(record.get("ci_pay", "0.00"))
        ma_pay = parse_fen_text(record.get("ma_pay", "0.00"))
        fund_paid += fund_pay
        if record["claim_type"] == "inpatient":
            admissions += 1
            deductibles += parse_fen_text(record["deductible"])
        ci_paid += ci_pay
        ma_paid += ma_pay
        version = book.version_by_label(str(record.get("policy_version")))
        if version is None:
            notes.append(f"claim {cid}: policy version {record.get('policy_version')} not found")
            continue
        if claim is None:
            if any(s.critical_illness is not None for s in version.schemes.values()) or (
                version.assistance
            ):
                notes.append(
                    f"claim {cid}: its claim is not loaded, so its critical-illness and"
                    " assistance bases are not counted"
                )
            continue
        if version.schemes[claim.scheme].critical_illness is not None:
            ci_base += eligible - fund_pay
        if claim.assistance is not None and claim.assistance in version.assistance:
            ma_base += eligible - fund_pay - ci_pay
    totals = YearTotals(admissions, deductibles, ci_base, ci_paid, ma_base, ma_paid)
    return Before(fund_paid, totals, count, tuple(notes))


def explain_settlement(
    record: dict[str, Any],
    book: PolicyBook,
    scheme: str | None = None,
    level: int | None = None,
    *,
    claim: Claim | None = None,
    before: Before | None = None,
) -> list[dict[str, Any]]:
    """Explain a settled record step by step (spec sections 4 and 8).

    Args:
        record: a ``settled`` or ``duplicate`` section-6 record.
        book: the policies the record was settled under.
        scheme: the patient's scheme (used when ``claim`` is not given).
        level: the hospital level (used when ``claim`` is not given).
        claim: the claim itself; with it every step is retraced.
        before: the person's year totals before this claim (default: none).

    Returns:
        One dict per step: ``amount`` (a key: a record field such as
        ``fund_pay``, or a step such as ``band:2``), ``label`` (plain words),
        ``value`` (yuan or ratio text), ``rule`` (plain words), ``parameter``
        (policy field and value, or None), ``policy_version``, ``source`` (the
        version's ``source``, spec 8.0) and ``detail`` (True for a line that
        details the step above it). A step with amount ``check`` says the
        breakdown could not reproduce the record.
    """
    if record.get("status") not in ("settled", "duplicate"):
        return []
    version = book.version_by_label(str(record.get("policy_version")))
    if claim is not None and version is not None:
        catalogue = book.catalogues.get(claim.hospital_region) if book.catalogues else None
        return explain_claim(record, version, claim, before or Before(), catalogue)
    return record_only(record, version, scheme, level)
