"""Exact JSON decoding of claims and compact encoding of records.

Non-integer JSON numbers are kept as their literal text (:class:`JsonNumber`)
so amounts are never trusted through a binary float; NaN and Infinity, which
are not JSON, make a line unparseable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from settlement.money import JsonNumber


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_float=JsonNumber, parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def decode_claim(text: str | bytes) -> Any:
    """Decode one JSON document exactly. Raises ValueError when it is not JSON."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8")  # UnicodeDecodeError is a ValueError
    return _DECODER.decode(text)


def encode_record(record: dict[str, Any]) -> str:
    """Encode a record as compact JSON (one line, UTF-8 text)."""
    return _ENCODER.encode(record)


def numbered_lines(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, line)`` for the lines that hold more than white space.

    Lines are split on ``\\n`` in binary, so a line of broken UTF-8 is answered
    on its own instead of stopping the file. Line numbers start at 1 and count
    blank lines too (spec section 5); a UTF-8 byte-order mark is dropped.
    """
    for number, line in enumerate(stream, start=1):
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        if line.strip():
            yield number, line
