"""The literal text of a non-integer JSON number (see :mod:`settlement.jsonio`).

Kept apart from :mod:`settlement.money` because a subclass of ``str`` cannot be
compiled by mypyc: this module always stays pure Python (see ``setup.py``).
"""

from __future__ import annotations


class JsonNumber(str):
    """The literal text of a non-integer JSON number, e.g. ``"12.50"`` or ``"1e2"``.

    The JSON decoder is told to build these instead of floats, so amounts keep
    every digit the sender wrote.
    """

    __slots__ = ()
