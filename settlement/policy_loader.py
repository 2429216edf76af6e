"""Strict loader for policy directories (spec section 3).

Refuses unknown, missing and duplicated keys, wrong types, impossible values
and two versions with the same date, naming the file, the field and what would
be valid. Numbers are read from their YAML text, never through a binary float.
Loading is bounded: no anchors or aliases (no "billion laughs"), a nesting
limit, plain keys only, and long number literals kept as text to be refused.
"""

from __future__ import annotations

import re
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from settlement.errors import PolicyError
from settlement.money import (
    MAX_NUMBER_CHARS,
    AmountError,
    parse_ratio_text,
    parse_yuan_text,
    shown,
)
from settlement.policy import (
    CLAIM_TYPES_WITH_RATIO,
    HOSPITAL_LEVELS,
    LTC_SETTINGS,
    SCHEMES,
    ClaimTypeRule,
    PolicyBook,
    PolicyVersion,
    RegionPolicy,
    SchemePolicy,
)

_REGION = re.compile(r"[0-9]{6}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: The largest policy file read, in bytes (a real one is a few KiB).
MAX_POLICY_FILE_BYTES = 8 << 20
#: The deepest nesting of mappings and lists in a policy file (a real one has 6).
MAX_POLICY_DEPTH = 32


class _YamlNumber(str):
    """The literal text of a YAML float, so 0.70 stays exactly 0.70."""

    __slots__ = ()


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int) -> None:
        super().__init__(key, line)
        self.key = key
        self.line = line


class _Refused(Exception):
    """A policy document refused while it is composed, before any value is built."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(field, problem)
        self.field = field
        self.problem = problem


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that keeps float text, refuses duplicate mapping keys, and is bounded.

    Composing refuses anchors and aliases (an alias bomb expands to billions of
    values; a policy is short enough to write out), nesting deeper than
    ``MAX_POLICY_DEPTH`` (PyYAML composes recursively) and keys that are lists
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
            self.field_path.append("." + _cut(str(index.value)))
        elif isinstance(index, int):
            self.field_path.append(f"[{index}]")
        else:
            self.field_path.append("")  # the document, or a key
        try:
            event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise _Refused(
                    self.field() or "(top level)",
                    "YAML anchors and aliases (& and *) are not allowed in a policy file;"
                    " write each value out",
                )
            if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                if isinstance(parent, yaml.MappingNode) and index is None:
                    raise _Refused(  # a key: only a plain scalar can name a field
                        self.field() or "(top level)",
                        "a key must be a plain name or number, not a list or mapping",
                    )
                if len(self.field_path) > MAX_POLICY_DEPTH:
                    raise _Refused(
                        self.field(),
                        f"nested deeper than {MAX_POLICY_DEPTH} levels; a policy has about 6",
                    )
            return super().compose_node(parent, index)
        finally:
            self.field_path.pop()


def _construct_float_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> _YamlNumber:
    return _YamlNumber(loader.construct_scalar(node).replace("_", ""))


def _construct_bounded_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    # A long integer literal stays text, so the field check refuses it by name
    # (int() would raise beyond 4300 digits, and sexagesimal 1:2:3... grows fast).
    text = loader.construct_scalar(node)
    if len(text) > MAX_NUMBER_CHARS:
        return _YamlNumber(text)
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


def bundled_policy_dir() -> Path:
    """The policy directory shipped with the package (``settlement/policies``)."""
    return Path(str(resources.files("settlement") / "policies"))


def load_policy_dir(directory: str | Path | None = None) -> PolicyBook:
    """Load every ``<region>.yaml`` of a policy directory.

    Args:
        directory: the folder; None means the bundled policies.

    Raises:
        PolicyError: the folder is missing or empty, or any file is broken.
    """
    folder = Path(directory) if directory is not None else bundled_policy_dir()
    if not folder.is_dir():
        raise PolicyError(str(folder), "", "is not a directory of <region>.yaml policy files")
    regions: dict[str, RegionPolicy] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".yml":
            raise PolicyError(str(path), "", "policy files are named <region>.yaml; rename it")
        if path.suffix != ".yaml":
            continue
        region_policy = load_policy_file(path)
        regions[region_policy.region] = region_policy
    if not regions:
        raise PolicyError(str(folder), "", "holds no <region>.yaml policy file")
    return PolicyBook(regions=regions, source=str(folder))


def load_policy_file(path: str | Path) -> RegionPolicy:
    """Load and validate one policy file. Raises PolicyError naming file and field."""
    path = Path(path)
    file = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_POLICY_FILE_BYTES:
            raise PolicyError(
                file, "", f"is {size} bytes, over the limit of {MAX_POLICY_FILE_BYTES} bytes"
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(file, "", f"cannot be read: {exc}") from exc
    try:
        document = yaml.load(text, Loader=_StrictLoader)
    except _Refused as exc:
        raise PolicyError(file, exc.field, exc.problem) from None
    except _DuplicateKey as exc:
        raise PolicyError(
            file,
            _cut(str(exc.key)),
            f"duplicated key on line {exc.line}; each key may appear once",
        ) from None
    except yaml.YAMLError as exc:
        raise PolicyError(file, "", f"is not valid YAML: {exc}") from None
    except (ValueError, RecursionError) as exc:  # a constructor's own failure, still the file's
        raise PolicyError(file, "", f"is not valid YAML: {type(exc).__name__}") from None
    return _FileReader(file).region_policy(document, expected_region=path.stem)


class _FileReader:
    """Validates one parsed policy document; every error names file and field."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, field: str, problem: str) -> PolicyError:
        return PolicyError(self.file, field, problem)

    def mapping(
        self, value: Any, field: str, required: tuple[Any, ...], optional: tuple[Any, ...] = ()
    ) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise self.fail(field or "(top level)", f"must be a mapping, got {_kind(value)}")
        allowed = set(required) | set(optional)
        for key in value:
            if key not in allowed:
                valid = ", ".join(str(k) for k in (*required, *optional))
                raise self.fail(_join(field, key), f"unknown key; valid keys here: {valid}")
        for key in required:
            if key not in value:
                raise self.fail(_join(field, key), "is required but missing")
        return value

    def ratio(self, value: Any, field: str) -> int:
        text = self.number_text(value, field, "a ratio from 0 to 1 with at most 4 decimals")
        try:
            return parse_ratio_text(text)
        except AmountError as exc:
            raise self.fail(
                field, f"{exc}; a ratio is from 0 to 1 with at most 4 decimals"
            ) from None

    def yuan(self, value: Any, field: str) -> int:
        text = self.number_text(value, field, "an amount in yuan with at most 2 decimals")
        try:
            return parse_yuan_text(text)
        except AmountError as exc:
            raise self.fail(
                field, f"{exc}; an amount is 0 to 99999999.99 yuan with at most 2 decimals"
            ) from None

    def number_text(self, value: Any, field: str, what: str) -> str:
        if isinstance(value, bool) or not isinstance(value, int | _YamlNumber):
            raise self.fail(field, f"must be a number ({what}), got {_kind(value)} {_shown(value)}")
        return str(value)

    def day(self, value: Any, field: str) -> date:
        if type(value) is date:
            return value
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(field, f"must be a date written YYYY-MM-DD, got {_shown(value)}")

    def region_policy(self, document: Any, expected_region: str) -> RegionPolicy:
        top = self.mapping(document, "", ("region", "versions"), ("name",))
        region = top["region"]
        if not isinstance(region, str) or not _REGION.fullmatch(region):
            raise self.fail(
                "region", f'must be a quoted 6-digit code like "441800", got {_shown(region)}'
            )
        if region != expected_region:
            raise self.fail(
                "region",
                f"is {_shown(region)} but the file is named {expected_region}.yaml;"
                " they must match",
            )
        name = top.get("name")
        if name is not None and not isinstance(name, str):
            raise self.fail("name", f"must be text, got {_kind(name)}")
        versions = top["versions"]
        if not isinstance(versions, list) or not versions:
            raise self.fail("versions", "must be a non-empty list of dated versions")
        parsed: list[PolicyVersion] = []
        seen: dict[date, int] = {}
        for index, raw in enumerate(versions):
            version = self.version(raw, f"versions[{index}]", region)
            earlier = seen.get(version.effective_from)
            if earlier is not None:
                raise self.fail(
                    f"versions[{index}].effective_from",
                    f"{version.effective_from} is also the date of versions[{earlier}];"
                    " each version needs its own date",
                )
            seen[version.effective_from] = index
            parsed.append(version)
        return RegionPolicy(region=region, name=name, versions=parsed)

    def version(self, raw: Any, field: str, region: str) -> PolicyVersion:
        keys = (
            "effective_from",
            "category_b_self_pay",
            "intercity_unregistered_reduction",
            "ltc_per_diem",
            "schemes",
        )
        body = self.mapping(raw, field, keys)
        per_diem_raw = self.mapping(body["ltc_per_diem"], f"{field}.ltc_per_diem", LTC_SETTINGS)
        schemes_raw = self.mapping(body["schemes"], f"{field}.schemes", SCHEMES)
        return PolicyVersion(
            region=region,
            effective_from=self.day(body["effective_from"], f"{field}.effective_from"),
            category_b_self_pay=self.ratio(
                body["category_b_self_pay"], f"{field}.category_b_self_pay"
            ),
            intercity_unregistered_reduction=self.ratio(
                body["intercity_unregistered_reduction"],
                f"{field}.intercity_unregistered_reduction",
            ),
            ltc_per_diem_fen={
                setting: self.yuan(per_diem_raw[setting], f"{field}.ltc_per_diem.{setting}")
                for setting in LTC_SETTINGS
            },
            schemes={
                scheme: self.scheme(schemes_raw[scheme], f"{field}.schemes.{scheme}")
                for scheme in SCHEMES
            },
            source=self.file,
        )

    def scheme(self, raw: Any, field: str) -> SchemePolicy:
        body = self.mapping(raw, field, ("annual_cap", *CLAIM_TYPES_WITH_RATIO))
        return SchemePolicy(
            annual_cap_fen=self.yuan(body["annual_cap"], f"{field}.annual_cap"),
            inpatient=self.claim_type_rule(body["inpatient"], f"{field}.inpatient"),
            outpatient=self.claim_type_rule(body["outpatient"], f"{field}.outpatient"),
        )

    def claim_type_rule(self, raw: Any, field: str) -> ClaimTypeRule:
        body = self.mapping(raw, field, ("ratio", "deductible"))
        deductible = body["deductible"]
        if isinstance(deductible, dict):
            for key in deductible:
                if type(key) is not int:
                    raise self.fail(
                        f"{field}.deductible.{key}",
                        "hospital levels are the plain numbers 1, 2 and 3 (not quoted)",
                    )
        levels = self.mapping(deductible, f"{field}.deductible", HOSPITAL_LEVELS)
        return ClaimTypeRule(
            ratio=self.ratio(body["ratio"], f"{field}.ratio"),
            deductible_fen={
                level: self.yuan(levels[level], f"{field}.deductible.{level}")
                for level in HOSPITAL_LEVELS
            },
        )


def _join(field: str, key: object) -> str:
    return f"{field}.{_cut(str(key))}" if field else _cut(str(key))


def _cut(name: str) -> str:
    """A key as shown in a field path, a huge one cut short."""
    return name if len(name) <= 40 else f"{name[:40]}..."


def _shown(value: object) -> str:
    """A short repr of a policy value for a message (never a huge one)."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, list | dict):
        return _kind(value)
    return repr(value)


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | _YamlNumber):
        return "a number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__
