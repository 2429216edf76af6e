"""Read labelled claims files into claim facts, skipping what settlement rejects.

Claims are validated with the settlement contract (``settlement.claim.parse_claim``);
a rejected claim or a repeated ``claim_id`` is skipped and counted. A labels
file (rows ``{"claim_id", "is_fraud", "fraud_type"}`` from the review app)
overrides the labels carried by the claims themselves.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from detection.errors import ClaimFactsError
from detection.facts import ClaimFacts, facts_from_claim

log = logging.getLogger(__name__)

UNMATCHED_EXAMPLES = 5  # label ids shown when labels name claims the file does not hold


@dataclass
class LoadedClaims:
    """Valid claims as facts, plus what was skipped and why."""

    facts: list[ClaimFacts]
    skipped: int = 0
    skipped_by_code: Counter[str] = field(default_factory=Counter)
    relabelled: int = 0
    unmatched_labels: int = 0  # label rows naming no valid claim of the file
    unmatched_examples: list[str] = field(default_factory=list)  # a few, identity numbers masked
    fingerprint: str = ""  # sha256 of the claims file (and labels file)


def file_sha256(paths: Iterable[Path]) -> str:
    """sha256 over the bytes of the files, in order: the data's fingerprint."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_labels(path: Path) -> dict[str, tuple[bool, str | None]]:
    """Labels by claim_id from a JSONL file of ``{"claim_id", "is_fraud", "fraud_type"}``."""
    labels: dict[str, tuple[bool, str | None]] = {}
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("claim_id"), str):
                raise ValueError(f"{path}:{number}: expected an object with a claim_id")
            labels[row["claim_id"]] = (bool(row.get("is_fraud")), row.get("fraud_type"))
    return labels


@functools.lru_cache(maxsize=1)
def bundled_book() -> object:
    """The policies shipped with yibao, loaded once per process (when no book is given)."""
    from settlement.policy_loader import load_policy_dir

    return load_policy_dir(None)


def parse_lines(lines: Iterable[bytes | str], book: object | None = None) -> LoadedClaims:
    """Validate JSONL lines and reduce the valid claims to facts.

    Args:
        lines: one claim per line (blank lines ignored).
        book: a settlement ``PolicyBook`` (the command line passes the configured
            one); None uses the bundled policies.

    Returns:
        The facts of every valid, first-seen claim and the skip counts.
    """
    out = LoadedClaims(facts=[])
    out.facts.extend(valid_facts(lines, out, book))
    return out


def valid_facts(
    lines: Iterable[bytes | str], out: LoadedClaims, book: object | None = None
) -> Iterator[ClaimFacts]:
    """The facts of every valid, first-seen claim, one at a time, in file order.

    What is skipped is counted into ``out`` (its ``facts`` are left alone), so a
    caller can stream a file of any size; only the claim ids seen so far are held.

    Args:
        lines: one claim per line (blank lines ignored).
        out: receives the skip counts.
        book: a settlement ``PolicyBook``; None uses the bundled policies.
    """
    from settlement.claim import parse_claim
    from settlement.jsonio import decode_claim

    if book is None:
        book = bundled_book()
    seen: set[str] = set()
    for line in lines:
        if not line.strip():
            continue
        try:
            obj = decode_claim(line)
        except ValueError:
            out.skipped += 1
            out.skipped_by_code["malformed"] += 1
            continue
        check = parse_claim(obj, book)  # type: ignore[arg-type]
        claim = check.claim
        if claim is None:
            out.skipped += 1
            for issue in check.issues[:1]:
                out.skipped_by_code[issue.code] += 1
            continue
        if claim.claim_id in seen:
            out.skipped += 1
            out.skipped_by_code["duplicate_claim_id"] += 1
            continue
        seen.add(claim.claim_id)
        try:
            facts = facts_from_claim(claim)
        except ClaimFactsError as exc:
            out.skipped += 1
            out.skipped_by_code["unusable"] += 1
            log.debug("skipped %s: %s", claim.claim_id, exc)
            continue
        yield facts


def load_claims(path: Path, labels: Path | None = None, book: object | None = None) -> LoadedClaims:
    """Load a claims JSONL file, optionally overriding its labels from a labels file.

    Args:
        path: claims in the spec format (labels ``is_fraud``/``fraud_type`` optional).
        labels: review-app export; its rows replace the labels of the claims they name.

    Returns:
        The loaded claims with skip counts and the data fingerprint.
    """
    with open(path, "rb") as fh:
        loaded = parse_lines(fh, book)
    paths = [path]
    if labels is not None:
        paths.append(labels)
        table = read_labels(labels)
        loaded.facts = [relabel(fact, table, loaded) for fact in loaded.facts]
        count_unmatched(loaded, table, {fact.claim_id for fact in loaded.facts})
    loaded.fingerprint = file_sha256(paths)
    if loaded.skipped:
        log.info("skipped %d claims: %s", loaded.skipped, dict(loaded.skipped_by_code))
    return loaded


def relabel(
    fact: ClaimFacts, table: dict[str, tuple[bool, str | None]], loaded: LoadedClaims
) -> ClaimFacts:
    """The claim with the labels file's label when the file names it (counted in ``loaded``)."""
    row = table.get(fact.claim_id)
    if row is None:
        return fact
    loaded.relabelled += 1
    return dataclasses.replace(fact, is_fraud=row[0], fraud_type=row[1])


def count_unmatched(
    loaded: LoadedClaims, table: dict[str, tuple[bool, str | None]], known: Container[str]
) -> None:
    """Count label rows whose claim_id is not in ``known`` (the file's valid claims), log a few.

    A clerk's decision on a claim the file does not hold (another period's file, a
    claim settlement rejected) teaches nothing; saying how many keeps a wrong join
    (labels of another file) from passing as a training run on the claims' own
    labels. Claim ids are free text from the submitting system and could embed an
    identity number, so the examples are masked.
    """
    from settlement.idnumber import mask_identity_numbers

    unmatched = sorted(claim_id for claim_id in table if claim_id not in known)
    loaded.unmatched_labels = len(unmatched)
    loaded.unmatched_examples = [mask_identity_numbers(c) for c in unmatched[:UNMATCHED_EXAMPLES]]
    if unmatched:
        log.warning(
            "%d label rows match no claim of the file (e.g. %s)",
            len(unmatched),
            ", ".join(loaded.unmatched_examples),
        )
