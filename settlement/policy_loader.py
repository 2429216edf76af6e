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

from settlement.catalogue_loader import CATALOGUE_SUFFIX, load_catalogue_file
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
    FILING_CATEGORIES,
    HOSPITAL_LEVELS,
    LTC_SETTINGS,
    SCHEMES,
    Assistance,
    Band,
    CategoryPolicy,
    ClaimTypeRule,
    CriticalIllness,
    FilingReduction,
    PolicyBook,
    PolicyVersion,
    RegionPolicy,
    SchemePolicy,
)

_REGION = re.compile(r"[0-9]{6}")
_NAME = re.compile(r"[a-z0-9_]{1,32}")
_REPEAT_KEYS = ("deductible_repeat_factor", "deductible_year_max")
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
    catalogues = {}
    for path in sorted(folder.iterdir()):
        if path.name.endswith(CATALOGUE_SUFFIX):
            catalogue = load_catalogue_file(path)
            catalogues[catalogue.region] = catalogue
            continue
        if path.suffix == ".yml":
            raise PolicyError(str(path), "", "policy files are named <region>.yaml; rename it")
        if path.suffix != ".yaml":
            continue
        region_policy = load_policy_file(path)
        regions[region_policy.region] = region_policy
    if not regions:
        raise PolicyError(str(folder), "", "holds no <region>.yaml policy file")
    return PolicyBook(regions=regions, source=str(folder), catalogues=catalogues)


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
        body = self.mapping(raw, field, keys, ("source", "intercity_filing", "assistance"))
        per_diem_raw = self.mapping(body["ltc_per_diem"], f"{field}.ltc_per_diem", LTC_SETTINGS)
        schemes_raw = self.mapping(body["schemes"], f"{field}.schemes", SCHEMES)
        per_diem: dict[str, int] = {}
        ltc_ratio: dict[str, int] = {}
        for setting in LTC_SETTINGS:
            where = f"{field}.ltc_per_diem.{setting}"
            entry = per_diem_raw[setting]
            if isinstance(entry, dict):  # spec 8.7: {per_diem, ratio}
                parts = self.mapping(entry, where, ("per_diem", "ratio"))
                per_diem[setting] = self.yuan(parts["per_diem"], f"{where}.per_diem")
                ltc_ratio[setting] = self.ratio(parts["ratio"], f"{where}.ratio")
            else:
                per_diem[setting] = self.yuan(entry, where)
        provenance = body.get("source")
        if "source" in body and (not isinstance(provenance, str) or not provenance.strip()):
            raise self.fail(
                f"{field}.source",
                "must be text naming the document the numbers come from, or illustrative;"
                f" got {_kind(provenance)}",
            )
        filing = None
        if "intercity_filing" in body:
            filing = self.intercity_filing(body["intercity_filing"], f"{field}.intercity_filing")
        assistance = {}
        if "assistance" in body:
            assistance = self.assistance(body["assistance"], f"{field}.assistance")
        schemes = {
            scheme: self.scheme(schemes_raw[scheme], f"{field}.schemes.{scheme}")
            for scheme in SCHEMES
        }
        reads_totals = bool(assistance) or any(
            scheme.critical_illness is not None
            or _repeats(scheme.inpatient)
            or any(_repeats(c.inpatient) for c in scheme.categories.values())
            for scheme in schemes.values()
        )
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
            ltc_per_diem_fen=per_diem,
            schemes=schemes,
            source=self.file,
            provenance=provenance,
            ltc_ratio=ltc_ratio,
            intercity_filing=filing,
            assistance=assistance,
            reads_year_totals=reads_totals,
        )

    def scheme(self, raw: Any, field: str) -> SchemePolicy:
        body = self.mapping(
            raw,
            field,
            ("annual_cap", *CLAIM_TYPES_WITH_RATIO),
            ("categories", "critical_illness"),
        )
        categories: dict[str, CategoryPolicy] = {}
        if "categories" in body:
            where = f"{field}.categories"
            for name, entry in self.named(body["categories"], where, "person category").items():
                categories[name] = self.category(entry, f"{where}.{name}")
        critical = None
        if "critical_illness" in body:
            critical = self.critical_illness(body["critical_illness"], f"{field}.critical_illness")
        return SchemePolicy(
            annual_cap_fen=self.yuan(body["annual_cap"], f"{field}.annual_cap"),
            inpatient=self.claim_type_rule(body["inpatient"], f"{field}.inpatient", True),
            outpatient=self.claim_type_rule(body["outpatient"], f"{field}.outpatient", False),
            categories=categories,
            critical_illness=critical,
        )

    def category(self, raw: Any, field: str) -> CategoryPolicy:
        body = self.mapping(raw, field, (), ("inpatient", "outpatient", "annual_cap"))
        return CategoryPolicy(
            inpatient=(
                self.claim_type_rule(body["inpatient"], f"{field}.inpatient", True)
                if "inpatient" in body
                else None
            ),
            outpatient=(
                self.claim_type_rule(body["outpatient"], f"{field}.outpatient", False)
                if "outpatient" in body
                else None
            ),
            annual_cap_fen=(
                self.yuan(body["annual_cap"], f"{field}.annual_cap")
                if "annual_cap" in body
                else None
            ),
        )

    def claim_type_rule(self, raw: Any, field: str, inpatient: bool) -> ClaimTypeRule:
        optional = ("ratio", "bands", *(_REPEAT_KEYS if inpatient else ()))
        body = self.mapping(raw, field, ("deductible",), optional)
        if ("ratio" in body) == ("bands" in body):
            raise self.fail(
                f"{field}.ratio",
                "a claim-type block holds exactly one of ratio and bands"
                + (", not both" if "ratio" in body else "; neither is given"),
            )
        ratio, level_ratio, bands = 0, None, None
        if "ratio" in body:
            ratio, level_ratio = self.ratio_or_levels(body["ratio"], f"{field}.ratio")
        else:
            bands = self.bands(body["bands"], f"{field}.bands", level_maps=True)
        return ClaimTypeRule(
            ratio=ratio,
            deductible_fen=self.level_map(body["deductible"], f"{field}.deductible", self.yuan),
            level_ratio=level_ratio,
            bands=bands,
            deductible_repeat_factor=(
                self.ratio(body["deductible_repeat_factor"], f"{field}.deductible_repeat_factor")
                if "deductible_repeat_factor" in body
                else None
            ),
            deductible_year_max_fen=(
                self.yuan(body["deductible_year_max"], f"{field}.deductible_year_max")
                if "deductible_year_max" in body
                else None
            ),
        )

    def level_map(self, raw: Any, field: str, read: Any) -> dict[int, int]:
        """A map naming exactly the hospital levels 1, 2 and 3, each value read by ``read``."""
        if isinstance(raw, dict):
            for key in raw:
                if type(key) is not int:
                    raise self.fail(
                        f"{field}.{_cut(str(key))}",
                        "hospital levels are the plain numbers 1, 2 and 3 (not quoted)",
                    )
        levels = self.mapping(raw, field, HOSPITAL_LEVELS)
        return {level: read(levels[level], f"{field}.{level}") for level in HOSPITAL_LEVELS}

    def ratio_or_levels(self, raw: Any, field: str) -> tuple[int, dict[int, int] | None]:
        """One ratio, or a map of hospital levels to ratios (spec 8.1)."""
        if isinstance(raw, dict):
            return 0, self.level_map(raw, field, self.ratio)
        return self.ratio(raw, field), None

    def bands(self, raw: Any, field: str, level_maps: bool) -> tuple[Band, ...]:
        """Marginal bands (spec 8.2; 8.8 without level maps)."""
        if not isinstance(raw, list) or not raw:
            raise self.fail(
                field,
                "must be a non-empty list of {up_to: <yuan or null>, ratio: ...},"
                f" the last one's up_to null; got {_kind(raw)}",
            )
        out: list[Band] = []
        previous = -1
        last = len(raw) - 1
        for index, entry in enumerate(raw):
            where = f"{field}[{index}]"
            body = self.mapping(entry, where, ("up_to", "ratio"))
            up_to_raw = body["up_to"]
            up_to = None
            if up_to_raw is None:
                if index != last:
                    raise self.fail(
                        f"{where}.up_to",
                        "only the last band has up_to null; give this band's upper end in yuan",
                    )
            else:
                if index == last:
                    raise self.fail(
                        f"{where}.up_to",
                        "the last band's up_to must be null (no upper end),"
                        f" got {_shown(up_to_raw)}",
                    )
                up_to = self.yuan(up_to_raw, f"{where}.up_to")
                if up_to <= previous:
                    raise self.fail(
                        f"{where}.up_to",
                        "must be greater than the previous band's up_to (strictly increasing)",
                    )
                previous = up_to
            if level_maps:
                ratio, level_ratio = self.ratio_or_levels(body["ratio"], f"{where}.ratio")
            else:
                if isinstance(body["ratio"], dict):
                    raise self.fail(
                        f"{where}.ratio",
                        "critical-illness bands take one ratio, not a map of hospital levels",
                    )
                ratio, level_ratio = self.ratio(body["ratio"], f"{where}.ratio"), None
            out.append(Band(up_to, ratio, level_ratio))
        return tuple(out)

    def named(self, raw: Any, field: str, what: str) -> dict[str, Any]:
        """A mapping whose keys are names of ``[a-z0-9_]{1,32}`` (categories)."""
        if not isinstance(raw, dict):
            raise self.fail(field, f"must be a mapping of {what} names, got {_kind(raw)}")
        for key in raw:
            if not isinstance(key, str) or not _NAME.fullmatch(key):
                raise self.fail(
                    _join(field, key),
                    f"a {what} name is 1-32 characters of a-z, 0-9 and _, got {_shown(key)}",
                )
        return raw

    def critical_illness(self, raw: Any, field: str) -> CriticalIllness:
        body = self.mapping(raw, field, ("threshold", "bands", "annual_cap"))
        return CriticalIllness(
            threshold_fen=self.yuan(body["threshold"], f"{field}.threshold"),
            bands=self.bands(body["bands"], f"{field}.bands", level_maps=False),
            annual_cap_fen=self.yuan(body["annual_cap"], f"{field}.annual_cap"),
        )

    def assistance(self, raw: Any, field: str) -> dict[str, Assistance]:
        out = {}
        for name, entry in self.named(raw, field, "assistance category").items():
            where = f"{field}.{name}"
            body = self.mapping(entry, where, ("threshold", "ratio", "annual_cap"))
            out[name] = Assistance(
                threshold_fen=self.yuan(body["threshold"], f"{where}.threshold"),
                ratio=self.ratio(body["ratio"], f"{where}.ratio"),
                annual_cap_fen=self.yuan(body["annual_cap"], f"{where}.annual_cap"),
            )
        return out

    def intercity_filing(self, raw: Any, field: str) -> dict[str, FilingReduction]:
        body = self.mapping(raw, field, (), FILING_CATEGORIES)
        out = {}
        for name, entry in body.items():
            where = f"{field}.{name}"
            parts = self.mapping(entry, where, (), ("subtract", "multiply"))
            if len(parts) != 1:
                raise self.fail(
                    where,
                    "holds exactly one of subtract and multiply"
                    + (", not both" if parts else "; neither is given"),
                )
            subtract = multiply = None
            if "subtract" in parts:
                subtract = self.ratio(parts["subtract"], f"{where}.subtract")
            else:
                multiply = self.ratio(parts["multiply"], f"{where}.multiply")
            out[name] = FilingReduction(subtract, multiply)
        return out


def _repeats(rule: ClaimTypeRule | None) -> bool:
    """True when an in-patient rule counts earlier admissions (spec 8.5)."""
    return rule is not None and (
        rule.deductible_repeat_factor is not None or rule.deductible_year_max_fen is not None
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
