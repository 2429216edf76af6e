"""Strict, bounded YAML reading for the policy files of settlement and DIP (spec section 3).

:func:`read_strict_yaml` reads one file into plain values or raises
:class:`StrictYamlError` naming the field and the problem. It refuses
duplicate keys, anchors and aliases (no "billion laughs"), nesting deeper
than :data:`MAX_YAML_DEPTH`, keys that are not plain scalars and files over
a size limit; float literals stay text (:class:`YamlNumber`) so ``0.70`` is
read exactly, as do long integer literals and impossible dates, for the
caller's field checks to refuse by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from settlement.money import MAX_NUMBER_CHARS

#: The largest policy file read, in bytes (a real one is a few KiB).
MAX_YAML_FILE_BYTES = 8 << 20
#: The deepest nesting of mappings and lists in a policy file (a real one has 6).
MAX_YAML_DEPTH = 32


class YamlNumber(str):
    """The literal text of a YAML float, so 0.70 stays exactly 0.70."""

    __slots__ = ()


class StrictYamlError(Exception):
    """A file refused by :func:`read_strict_yaml`: the field (``""``: the file) and the problem."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(field, problem)
        self.field = field
        self.problem = problem


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int) -> None:
        super().__init__(key, line)
        self.key = key
        self.line = line


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that keeps float text, refuses duplicate mapping keys, and is bounded.

    Composing refuses anchors and aliases (an alias bomb expands to billions of
    values; a policy is short enough to write out), nesting deeper than
    ``MAX_YAML_DEPTH`` (PyYAML composes recursively) and keys that are lists
    or mappings, each naming the field where it was found.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.field_path: list[str] = []

    def field(self) -> str:
        return "".join(self.field_path).lstrip(".")

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # index: the key node of a mapping value, the position in a list, None for a key.
        if isinstance(index, yaml.ScalarNode):
            self.field_path.append("." + cut_key(str(index.value)))
        elif isinstance(index, int):
            self.field_path.append(f"[{index}]")
        else:
            self.field_path.append("")  # the document, or a key
        try:
            event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise StrictYamlError(
                    self.field() or "(top level)",
                    "YAML anchors and aliases (& and *) are not allowed in a policy file;"
                    " write each value out",
                )
            if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                if isinstance(parent, yaml.MappingNode) and index is None:
                    raise StrictYamlError(  # a key: only a plain scalar can name a field
                        self.field() or "(top level)",
                        "a key must be a plain name or number, not a list or mapping",
                    )
                if len(self.field_path) > MAX_YAML_DEPTH:
                    raise StrictYamlError(
                        self.field(),
                        f"nested deeper than {MAX_YAML_DEPTH} levels; a policy has about 6",
                    )
            return super().compose_node(parent, index)
        finally:
            self.field_path.pop()


def _construct_float_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> YamlNumber:
    return YamlNumber(loader.construct_scalar(node).replace("_", ""))


def _construct_bounded_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    # A long integer literal stays text, so the field check refuses it by name
    # (int() would raise beyond 4300 digits, and sexagesimal 1:2:3... grows fast).
    text = loader.construct_scalar(node)
    if len(text) > MAX_NUMBER_CHARS:
        return YamlNumber(text)
    return loader.construct_yaml_int(node)


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise _DuplicateKey(key, key_node.start_mark.line + 1)
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


def _construct_timestamp_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    # An impossible date such as 2017-13-01 stays text, so the field check can name it.
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_StrictLoader.add_constructor("tag:yaml.org,2002:float", _construct_float_text)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_bounded_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_or_text)
_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def read_strict_yaml(path: Path, max_bytes: int = MAX_YAML_FILE_BYTES) -> Any:
    """Read one YAML file strictly (see the module docstring).

    Args:
        path: the file.
        max_bytes: the largest file read.

    Returns:
        The document: mappings, lists, ``str``, ``int``, ``bool``, ``None``,
        dates and :class:`YamlNumber` for float literals.

    Raises:
        StrictYamlError: the file is too large, unreadable, not UTF-8, not
            valid YAML, or breaks a rule above; ``field`` is ``""`` when the
            problem is the file's as a whole.
    """
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise StrictYamlError("", f"is {size} bytes, over the limit of {max_bytes} bytes")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StrictYamlError("", f"cannot be read: {exc}") from exc
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except StrictYamlError:
        raise
    except _DuplicateKey as exc:
        raise StrictYamlError(
            cut_key(str(exc.key)), f"duplicated key on line {exc.line}; each key may appear once"
        ) from None
    except yaml.YAMLError as exc:
        raise StrictYamlError("", f"is not valid YAML: {exc}") from None
    except (ValueError, RecursionError) as exc:  # a constructor's own failure, still the file's
        raise StrictYamlError("", f"is not valid YAML: {type(exc).__name__}") from None


def cut_key(name: str) -> str:
    """A key as shown in a field path, a huge one cut short."""
    return name if len(name) <= 40 else f"{name[:40]}..."


def join_field(field: str, key: object) -> str:
    """The path of ``key`` inside ``field`` (``schemes.employee``)."""
    return f"{field}.{cut_key(str(key))}" if field else cut_key(str(key))


def yaml_kind(value: object) -> str:
    """What a YAML value is, in words for a message ("a mapping", "a number", "text")."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | YamlNumber):
        return "a number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__
