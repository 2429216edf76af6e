"""Exact, bounded JSON decoding of claims and compact encoding of records.

Non-integer JSON numbers are kept as their literal text (:class:`JsonNumber`)
so amounts are never trusted through a binary float; NaN and Infinity, which
are not JSON, make a line unparseable. Every decode is bounded (size, nesting
depth, digits in a number) and raises nothing but ``ValueError``, whatever the
bytes: one hostile line or message must never stop a batch or a stream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, BinaryIO

import orjson

from settlement.money import MAX_NUMBER_CHARS, JsonNumber

#: The largest claim document (a batch line without its newline, or a stream
#: message) that is read, in bytes; larger is ``malformed``. Configurable per
#: call (``max_bytes``, ``max_line_bytes``) and by ``yibao settle --max-line-bytes``.
MAX_DOCUMENT_BYTES = 1 << 20
#: The deepest nesting of arrays and objects in a claim (a real claim has 3).
MAX_DEPTH = 64

# Bytes read at a time while skipping the rest of an over-long line.
_SKIP_CHUNK = 1 << 16
# A JSON string (escapes included), possessive so a broken one cannot backtrack.
_JSON_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = tuple(1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256))


class DocumentLimitError(ValueError):
    """A document refused for its size, depth or a number's length, not its syntax."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _number_literal(text: str) -> JsonNumber:
    if len(text) > MAX_NUMBER_CHARS:
        raise DocumentLimitError(
            f"a number of {len(text)} characters; at most {MAX_NUMBER_CHARS} are read"
        )
    return JsonNumber(text)


def _integer_literal(text: str) -> int:
    # Python refuses more than 4300 digits itself, with a message about
    # sys.set_int_max_str_digits; this names the limit that applies here.
    if len(text) > MAX_NUMBER_CHARS:
        raise DocumentLimitError(
            f"a number of {len(text)} characters; at most {MAX_NUMBER_CHARS} are read"
        )
    return int(text)


_DECODER = json.JSONDecoder(
    parse_float=_number_literal, parse_int=_integer_literal, parse_constant=_reject_constant
)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))


def _too_large(size: int, max_bytes: int) -> DocumentLimitError:
    return DocumentLimitError(f"the claim is {size} bytes, over the limit of {max_bytes} bytes")


def _too_deep() -> DocumentLimitError:
    return DocumentLimitError(f"the claim nests arrays and objects deeper than {MAX_DEPTH} levels")


def nesting_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in ``raw``, without recursion.

    Strings are cut out first (a bracket in a string does not nest); what is
    left is reduced to its brackets and summed in C (``accumulate``), so a
    5,000-deep line costs microseconds, not a Python loop per character. For
    broken JSON the result bounds how deep a recursive decoder would go.
    """
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


def decode_claim(text: str | bytes, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """Decode one JSON document exactly, within the limits.

    Args:
        text: the document, UTF-8 bytes or text (text is measured in characters).
        max_bytes: the largest document read (default ``MAX_DOCUMENT_BYTES``).

    Raises:
        ValueError: not JSON, not UTF-8, or beyond a limit (then a
            :class:`DocumentLimitError`); never anything else.
    """
    if len(text) > max_bytes:
        raise _too_large(len(text), max_bytes)
    raw = b""
    if isinstance(text, str):
        doc = text
    else:
        raw = bytes(text)
        try:
            doc = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"not UTF-8: byte {raw[exc.start]:#04x} at position {exc.start} ({exc.reason})"
            ) from None
    # The stdlib decoder recurses once per level (RecursionError near 1,000):
    # a document with few brackets cannot be deep, others are measured first.
    if doc.count("[") + doc.count("{") > MAX_DEPTH:
        if not raw:
            raw = doc.encode("utf-8", "surrogatepass")
        if nesting_depth(raw) > MAX_DEPTH:
            raise _too_deep()
    try:
        return _DECODER.decode(doc)
    except RecursionError:  # not expected after the depth check; still only ValueError
        raise _too_deep() from None


def decode_claim_fast(raw: bytes, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """``decode_claim(raw)``, the same value or error, mostly through orjson (stream hot path).

    orjson reads a document faster than the stdlib decoder (with the float
    check below, about 5 us a simulator claim against 9-12 us) but turns
    non-integer numbers into binary floats. So a document is taken from orjson
    only when it holds no float at all (amounts as strings or integers, the
    usual case) and is within the depth limit, both seen in one walk. One with
    a float, or one orjson refuses (not JSON, broken UTF-8, an integer beyond
    64 bits, deeper than 1,024...), goes through :func:`decode_claim`, which
    keeps every literal, checks the limits without recursion and gives the
    error text.
    """
    if len(raw) > max_bytes:
        raise _too_large(len(raw), max_bytes)
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return decode_claim(raw, max_bytes)
    found = _float_or_too_deep(obj, 1)
    if found == _TOO_DEEP:
        raise _too_deep()
    if found == _FLOAT:
        return decode_claim(raw, max_bytes)
    return obj


_PLAIN, _FLOAT, _TOO_DEEP = 0, 1, 2


def _float_or_too_deep(value: Any, depth: int) -> int:
    """_FLOAT at the first float, _TOO_DEEP past ``MAX_DEPTH`` levels, else _PLAIN."""
    if isinstance(value, float):
        return _FLOAT
    if isinstance(value, dict):
        if depth > MAX_DEPTH:
            return _TOO_DEEP
        for item in value.values():
            found = _float_or_too_deep(item, depth + 1)
            if found:
                return found
    elif isinstance(value, list):
        if depth > MAX_DEPTH:
            return _TOO_DEEP
        for item in value:
            found = _float_or_too_deep(item, depth + 1)
            if found:
                return found
    return _PLAIN


def malformed_message(exc: ValueError) -> str:
    """The ``malformed`` message for a document the decoders refused."""
    if isinstance(exc, DocumentLimitError):
        return str(exc)
    return f"not valid JSON: {exc}"


def encode_record(record: dict[str, Any]) -> str:
    """Encode a record as compact JSON (one line, UTF-8 text).

    A lone surrogate echoed from input cannot be written as UTF-8: such a
    record (rare; checked only when the text is not ASCII) is written with
    ASCII escapes instead, still valid JSON with the same value.
    """
    text: str = _ENCODER.encode(record)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return _ASCII_ENCODER.encode(record)
    return text


def encode_record_bytes(record: Any) -> bytes:
    """``encode_record(record).encode()``, byte for byte, five times faster (orjson).

    The stream encodes every answer and changelog entry on its hot path. orjson
    writes records of strings, integers, booleans, lists and dicts exactly as
    the stdlib encoder above does (tested); what it refuses (a lone surrogate
    echoed from input, an integer beyond 64 bits) goes through the stdlib
    encoder with ASCII escapes, still valid UTF-8 JSON.
    """
    try:
        encoded: bytes = orjson.dumps(record)
    except TypeError:  # orjson.JSONEncodeError
        return _ASCII_ENCODER.encode(record).encode()
    return encoded


@dataclass(frozen=True, slots=True)
class OverlongLine:
    """A line longer than the limit: skipped unread, answered ``malformed``."""

    length: int  # bytes, without the line ending
    limit: int

    def message(self) -> str:
        return (
            f"the line is {self.length} bytes, over the limit of {self.limit} bytes;"
            " it was not read"
        )


def numbered_lines(
    stream: BinaryIO, max_line_bytes: int = MAX_DOCUMENT_BYTES
) -> Iterator[tuple[int, bytes | OverlongLine]]:
    """Yield ``(line_number, line)`` for the lines that hold more than white space.

    Lines are split on ``\\n`` in binary, so a line of broken UTF-8 is answered
    on its own instead of stopping the file. Line numbers start at 1 and count
    blank lines too (spec section 5); a UTF-8 byte-order mark is dropped. A
    line longer than ``max_line_bytes`` (not counting ``\\n``) is never held
    whole: it is skipped in chunks to its newline and yielded as an
    :class:`OverlongLine`.
    """
    readline = stream.readline
    limit = max_line_bytes + 1  # room for the newline
    number = 0
    while True:
        line = readline(limit)
        if not line:
            return
        number += 1
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        if len(line) == limit and not line.endswith(b"\n"):
            length, blank = len(line), not line.strip()
            while line and not line.endswith(b"\n"):
                line = readline(_SKIP_CHUNK)
                length += len(line)
                blank = blank and not line.strip()
            if not blank:
                yield number, OverlongLine(length - line.endswith(b"\n"), max_line_bytes)
        elif line.strip():
            yield number, line
