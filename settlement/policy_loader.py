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

from settlement.catalogue_loader import CATALOGUE_SUFFIX, load_catalogue_file
from settlement.errors import PolicyError
from settlement.policy import (
    CLAIM_TYPES_WITH_RATIO,
    FILING_CATEGORIES,
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
from settlement.policy_values import PolicyValueReader, shown_value
from settlement.strict_yaml import (
    MAX_YAML_DEPTH,
    MAX_YAML_FILE_BYTES,
    StrictYamlError,
    read_strict_yaml,
)
from settlement.strict_yaml import yaml_kind as _kind

_REGION = re.compile(r"[0-9]{6}")
_REPEAT_KEYS = ("deductible_repeat_factor", "deductible_year_max")
#: The largest policy file read, in bytes (a real one is a few KiB).
MAX_POLICY_FILE_BYTES = MAX_YAML_FILE_BYTES
#: The deepest nesting of mappings and lists in a policy file (a real one has 6).
MAX_POLICY_DEPTH = MAX_YAML_DEPTH


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
        document = read_strict_yaml(path, MAX_POLICY_FILE_BYTES)
    except StrictYamlError as exc:
        raise PolicyError(file, exc.field, exc.problem) from exc.__cause__
    return _FileReader(file).region_policy(document, expected_region=path.stem)


class _FileReader(PolicyValueReader):
    """Validates one parsed policy document; every error names file and field."""

    def region_policy(self, document: Any, expected_region: str) -> RegionPolicy:
        top = self.mapping(document, "", ("region", "versions"), ("name",))
        region = top["region"]
        if not isinstance(region, str) or not _REGION.fullmatch(region):
            raise self.fail(
                "region", f'must be a quoted 6-digit code like "441800", got {shown_value(region)}'
            )
        if region != expected_region:
            raise self.fail(
                "region",
                f"is {shown_value(region)} but the file is named {expected_region}.yaml;"
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
                        f" got {shown_value(up_to_raw)}",
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
