"""The hot loop of ``yibao dip cases``: pair, assess and write each case record.

Kept in the core (and compiled with the other hot DIP modules) so the per-case
work runs as one compiled loop, like :func:`settlement.batch.settle_file`.
"""

from __future__ import annotations

from typing import BinaryIO

from dip.cases import assess, case_record
from dip.pairing import PairingCounts, dip_cases
from dip.policy import DipBook
from settlement.jsonio import encode_record_bytes


def write_case_records(
    claims: BinaryIO, settlements: BinaryIO, book: DipBook, counts: PairingCounts, out: BinaryIO
) -> int:
    """Write one section-5 case record a line for each DIP case; return how many.

    Raises:
        PairingError: the two files do not answer each other.
    """
    written = 0
    write = out.write
    for case, version in dip_cases(claims, settlements, book, counts):
        write(encode_record_bytes(case_record(assess(case, version))))
        write(b"\n")
        written += 1
    return written
