"""Exceptions of the DIP core.

Exception tree::

    DipError
    ├── DipPolicyError     a DIP policy file or directory is broken (file, field, problem)
    └── PairingError       the claims and settlement files do not answer each other

A claim that is not a DIP case is not an exception: it simply gets no case record.
"""

from __future__ import annotations


class DipError(Exception):
    """Base of the DIP core's exceptions."""


class DipPolicyError(DipError):
    """A DIP policy file or directory that the core refuses to use.

    Attributes:
        path: the file (or directory) at fault.
        field: dotted path of the field at fault, e.g. ``versions[0].groups[3].score``.
        problem: what is wrong and what would be right.
    """

    def __init__(self, path: str, field: str, problem: str) -> None:
        self.path = path
        self.field = field
        self.problem = problem
        where = f"{path}: {field}: " if field else f"{path}: "
        super().__init__(where + problem)


class PairingError(DipError):
    """Claim line i and settlement record i do not belong together (count or claim_id)."""
