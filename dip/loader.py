"""Strict loader of DIP policy directories (spec section 3).

Refuses unknown, missing and duplicated keys, duplicated groups, wrong types,
impossible values and YAML anchors, naming the file, the field and what would
be valid. Numbers are read from their YAML text into fixed point, never through
a binary float. The bounded YAML reading (no aliases, a nesting limit, plain
keys, float literals kept as text) is :func:`settlement.strict_yaml.read_strict_yaml`,
shared with the settlement policy loader.
"""

from __future__ import annotations

import re
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from dip.errors import DipPolicyError
from dip.numbers import FOUR, parse_fixed
from dip.policy import (
    COMPREHENSIVE,
    CONSERVATIVE,
    CORE,
    LEVELS,
    OPERATIVE,
    BudgetYear,
    DipBook,
    DipPolicy,
    DipVersion,
    Group,
)
from settlement.strict_yaml import (
    MAX_YAML_FILE_BYTES,
    StrictYamlError,
    YamlNumber,
    read_strict_yaml,
)
from settlement.strict_yaml import join_field as _join
from settlement.strict_yaml import yaml_kind as _kind

_REGION = re.compile(r"[0-9]{6}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_HOSPITAL_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_PROCEDURE = re.compile(r"[0-9]{2}\.[0-9A-Za-z]{1,8}")
_CHAPTER = re.compile(r"[A-Z]")
#: Bounds that no real policy reaches; beyond them a value is a typing mistake.
MAX_DAYS = 36_600
MAX_RATIO = 1000 * FOUR  # low/high/review ratios
MAX_COEFFICIENT = 3 * FOUR
MAX_SCORE = 10_000_000 * FOUR
MAX_AVERAGE_COST_FEN = 9_999_999_999  # 99,999,999.99 yuan, as a claim amount
MAX_BUDGET_FEN = 10**12 * 100  # 10^12 yuan
_VERSION_KEYS = (
    "effective_from",
    "los_exclude_at_most",
    "los_exclude_at_least",
    "low_ratio",
    "high_ratio",
    "review_ratio",
    "hospital_coefficients",
    "groups",
)
_YEAR_KEYS = ("budget", "reserve_rate", "advance_rate", "share_rate", "share_band")
_GROUP_KEYS = {
    CORE: ("code", "kind", "diagnosis", "procedure", "score", "average_cost"),
    COMPREHENSIVE: ("code", "kind", "chapter", "treatment", "score", "average_cost"),
}


def bundled_dip_dir() -> Path:
    """The DIP policy directory shipped with the package (``settlement/dip``)."""
    return Path(str(resources.files("settlement") / "dip"))


def load_dip_dir(directory: str | Path | None = None) -> DipBook:
    """Load every ``<region>.yaml`` of a DIP policy directory.

    Args:
        directory: the folder; None means the bundled DIP policies.

    Raises:
        DipPolicyError: the folder is missing, holds no policy, or a file is broken.
    """
    folder = Path(directory) if directory is not None else bundled_dip_dir()
    if not folder.is_dir():
        raise DipPolicyError(str(folder), "", "is not a directory of <region>.yaml DIP policies")
    regions: dict[str, DipPolicy] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".yml":
            raise DipPolicyError(
                str(path), "", "DIP policy files are named <region>.yaml; rename it"
            )
        if path.suffix != ".yaml":
            continue
        policy = load_dip_file(path)
        regions[policy.region] = policy
    if not regions:
        raise DipPolicyError(str(folder), "", "holds no <region>.yaml DIP policy file")
    return DipBook(regions=regions, source=str(folder))


def load_dip_file(path: str | Path) -> DipPolicy:
    """Load and validate one DIP policy file; errors name the file and the field."""
    path = Path(path)
    file = str(path)
    try:
        document = read_strict_yaml(path, MAX_YAML_FILE_BYTES)
    except StrictYamlError as exc:
        raise DipPolicyError(file, exc.field, exc.problem) from exc.__cause__
    return _Reader(file).policy(document, expected_region=path.stem)


class _Reader:
    """Validates one parsed DIP policy document; every error names file and field."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, field: str, problem: str) -> DipPolicyError:
        return DipPolicyError(self.file, field or "(top level)", problem)

    def mapping(
        self, value: Any, field: str, required: tuple[Any, ...], optional: tuple[Any, ...] = ()
    ) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, f"must be a mapping, got {_kind(value)}")
        allowed = (*required, *optional)
        for key in value:
            if key not in allowed or isinstance(key, bool):
                valid = ", ".join(str(k) for k in allowed)
                raise self.fail(_join(field, key), f"unknown key; valid keys here: {valid}")
        for key in required:
            if key not in value:
                raise self.fail(_join(field, key), "is required but missing")
        return value

    def levels(self, value: Any, field: str) -> dict[Any, Any]:
        """A map of exactly the hospital levels 1, 2 and 3 (plain numbers)."""
        if isinstance(value, dict):
            for key in value:
                if type(key) is not int:
                    raise self.fail(
                        _join(field, key),
                        "hospital levels are the plain numbers 1, 2 and 3 (not quoted)",
                    )
        return self.mapping(value, field, LEVELS)

    def fixed(self, value: Any, field: str, decimals: int, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int | YamlNumber):
            raise self.fail(field, f"must be a number ({what}), got {_kind(value)} {_shown(value)}")
        try:
            return parse_fixed(str(value), decimals)
        except ValueError as exc:
            raise self.fail(field, f"{exc}; it must be {what}") from None

    def four(self, value: Any, field: str, low: int, high: int, what: str) -> int:
        """A number with at most 4 decimals in ten-thousandths, checked to [low, high]."""
        number = self.fixed(value, field, 4, what)
        if not low <= number <= high:
            raise self.fail(field, f"{_shown(value)} is out of range; it must be {what}")
        return number

    def yuan(self, value: Any, field: str, high_fen: int, what: str) -> int:
        """A positive amount in yuan with at most 2 decimals, in fen."""
        fen = self.fixed(value, field, 2, what)
        if not 0 < fen <= high_fen:
            raise self.fail(field, f"{_shown(value)} is out of range; it must be {what}")
        return fen

    def days(self, value: Any, field: str) -> int:
        if type(value) is not int or not 0 <= value <= MAX_DAYS:
            raise self.fail(
                field, f"must be a whole number of days from 0 to {MAX_DAYS}, got {_shown(value)}"
            )
        return value

    def text(self, value: Any, field: str, pattern: re.Pattern[str], what: str) -> str:
        if type(value) is not str or not pattern.fullmatch(value):
            raise self.fail(field, f"must be {what}, got {_kind(value)} {_shown(value)}")
        return value

    def day(self, value: Any, field: str) -> date:
        if type(value) is date:
            return value
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(field, f"must be a date written YYYY-MM-DD, got {_shown(value)}")

    def policy(self, document: Any, expected_region: str) -> DipPolicy:
        top = self.mapping(document, "", ("region", "versions", "years"), ("name",))
        region = top["region"]
        if type(region) is not str or not _REGION.fullmatch(region):
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
        if name is not None and type(name) is not str:
            raise self.fail("name", f"must be text, got {_kind(name)}")
        raw_versions = top["versions"]
        if not isinstance(raw_versions, list) or not raw_versions:
            raise self.fail("versions", "must be a non-empty list of dated versions")
        versions: list[DipVersion] = []
        seen: dict[date, int] = {}
        for index, raw in enumerate(raw_versions):
            version = self.version(raw, f"versions[{index}]", region)
            earlier = seen.get(version.effective_from)
            if earlier is not None:
                raise self.fail(
                    f"versions[{index}].effective_from",
                    f"{version.effective_from} is also the date of versions[{earlier}];"
                    " each version needs its own date",
                )
            seen[version.effective_from] = index
            versions.append(version)
        return DipPolicy(
            region=region,
            name=name,
            versions=versions,
            years=self.years(top["years"]),
            source=self.file,
        )

    def version(self, raw: Any, field: str, region: str) -> DipVersion:
        body = self.mapping(raw, field, _VERSION_KEYS, ("hospital_overrides", "source"))
        at_most = self.days(body["los_exclude_at_most"], f"{field}.los_exclude_at_most")
        at_least = self.days(body["los_exclude_at_least"], f"{field}.los_exclude_at_least")
        if at_most >= at_least:
            raise self.fail(
                f"{field}.los_exclude_at_least",
                f"{at_least} must be more than los_exclude_at_most ({at_most})",
            )
        low = self.four(
            body["low_ratio"], f"{field}.low_ratio", 1, FOUR, "a ratio above 0 and at most 1"
        )
        high = self.four(
            body["high_ratio"],
            f"{field}.high_ratio",
            FOUR,
            MAX_RATIO,
            "a ratio of at least 1 (and at most 1000) with at most 4 decimals",
        )
        review = self.four(
            body["review_ratio"],
            f"{field}.review_ratio",
            high,
            MAX_RATIO,
            "a ratio of at least high_ratio (and at most 1000) with at most 4 decimals",
        )
        coefficient = "a coefficient above 0 and at most 3 with at most 4 decimals"
        levels = self.levels(body["hospital_coefficients"], f"{field}.hospital_coefficients")
        coefficients = {
            level: self.four(
                levels[level],
                f"{field}.hospital_coefficients.{level}",
                1,
                MAX_COEFFICIENT,
                coefficient,
            )
            for level in LEVELS
        }
        overrides: dict[str, int] = {}
        raw_overrides = body.get("hospital_overrides", {})
        if not isinstance(raw_overrides, dict):
            raise self.fail(
                f"{field}.hospital_overrides",
                f"must be a mapping of hospital_id to coefficient, got {_kind(raw_overrides)}",
            )
        for hospital_id, value in raw_overrides.items():
            where = _join(f"{field}.hospital_overrides", hospital_id)
            self.text(
                hospital_id,
                where,
                _HOSPITAL_ID,
                "a hospital_id (1-64 of A-Z a-z 0-9 _ . -; quote one that looks like a number)",
            )
            overrides[hospital_id] = self.four(value, where, 1, MAX_COEFFICIENT, coefficient)
        source = body.get("source")
        if source is not None and type(source) is not str:
            raise self.fail(f"{field}.source", f"must be text, got {_kind(source)}")
        return DipVersion(
            region=region,
            effective_from=self.day(body["effective_from"], f"{field}.effective_from"),
            los_exclude_at_most=at_most,
            los_exclude_at_least=at_least,
            low_ratio=low,
            high_ratio=high,
            review_ratio=review,
            hospital_coefficients=coefficients,
            hospital_overrides=overrides,
            groups=self.groups(body["groups"], f"{field}.groups"),
            source=source,
        )

    def groups(self, raw: Any, field: str) -> list[Group]:
        if not isinstance(raw, list) or not raw:
            raise self.fail(field, "must be a non-empty list of disease groups")
        groups: list[Group] = []
        codes: dict[str, int] = {}
        keys: dict[tuple[str, str | None, str | None], int] = {}
        for index, item in enumerate(raw):
            where = f"{field}[{index}]"
            group = self.group(item, where)
            if group.code in codes:
                raise self.fail(
                    f"{where}.code",
                    f"{_shown(group.code)} is also the code of groups[{codes[group.code]}];"
                    " each group code may appear once",
                )
            key = (
                (group.kind, group.diagnosis, group.procedure)
                if group.kind == CORE
                else (group.kind, group.chapter, group.treatment)
            )
            if key in keys:
                what = "diagnosis and procedure" if group.kind == CORE else "chapter and treatment"
                raise self.fail(
                    where,
                    f"has the same {what} as groups[{keys[key]}]; a case must fall in one group",
                )
            codes[group.code] = index
            keys[key] = index
            groups.append(group)
        return groups

    def group(self, raw: Any, field: str) -> Group:
        if not isinstance(raw, dict):
            raise self.fail(field, f"must be a mapping, got {_kind(raw)}")
        kind = raw.get("kind")
        if kind not in (CORE, COMPREHENSIVE) or type(kind) is not str:
            raise self.fail(
                f"{field}.kind",
                f"must be core or comprehensive, got {_shown(kind)}"
                if "kind" in raw
                else "is required but missing (core or comprehensive)",
            )
        body = self.mapping(raw, field, _GROUP_KEYS[kind])
        code = body["code"]
        if type(code) is not str or not 1 <= len(code) <= 64:
            raise self.fail(f"{field}.code", f"must be text of 1-64 characters, got {_shown(code)}")
        score = self.four(
            body["score"],
            f"{field}.score",
            1,
            MAX_SCORE,
            "a score above 0 with at most 4 decimals",
        )
        levels = self.levels(body["average_cost"], f"{field}.average_cost")
        average = {
            level: self.yuan(
                levels[level],
                f"{field}.average_cost.{level}",
                MAX_AVERAGE_COST_FEN,
                "an amount in yuan above 0 (at most 99999999.99) with at most 2 decimals",
            )
            for level in LEVELS
        }
        if kind == CORE:
            diagnosis = body["diagnosis"]
            if type(diagnosis) is not str or not 1 <= len(diagnosis) <= 16:
                raise self.fail(
                    f"{field}.diagnosis",
                    "must be an ICD-10 code or its 3-character category (1 to 16 characters),"
                    f" got {_kind(diagnosis)} {_shown(diagnosis)}",
                )
            procedure = body["procedure"]
            if procedure is not None:
                self.text(
                    procedure,
                    f"{field}.procedure",
                    _PROCEDURE,
                    'a quoted procedure code like "47.01", or null for none',
                )
            return Group(code, kind, score, average, diagnosis=diagnosis, procedure=procedure)
        chapter = self.text(
            body["chapter"], f"{field}.chapter", _CHAPTER, "one capital letter (an ICD-10 chapter)"
        )
        treatment = body["treatment"]
        if treatment not in (CONSERVATIVE, OPERATIVE) or type(treatment) is not str:
            raise self.fail(
                f"{field}.treatment", f"must be conservative or operative, got {_shown(treatment)}"
            )
        return Group(code, kind, score, average, chapter=chapter, treatment=treatment)

    def years(self, raw: Any) -> dict[int, BudgetYear]:
        if not isinstance(raw, dict):
            raise self.fail(
                "years", f"must be a mapping of budget year to parameters, got {_kind(raw)}"
            )
        years: dict[int, BudgetYear] = {}
        rate = "a ratio from 0 to 1 with at most 4 decimals"
        for year, value in raw.items():
            where = _join("years", year)
            if type(year) is not int or not 1900 <= year <= 9999:
                raise self.fail(where, "a budget year is a plain 4-digit number like 2026")
            body = self.mapping(value, where, _YEAR_KEYS)
            years[year] = BudgetYear(
                budget_fen=self.yuan(
                    body["budget"],
                    f"{where}.budget",
                    MAX_BUDGET_FEN,
                    "an amount in yuan above 0 and at most 10^12, with at most 2 decimals",
                ),
                **{
                    key: self.four(body[key], f"{where}.{key}", 0, FOUR, rate)
                    for key in _YEAR_KEYS[1:]
                },
            )
        return years


def _shown(value: object) -> str:
    if isinstance(value, str):
        text = str(value)
        return repr(text) if len(text) <= 40 else repr(text[:40]) + "..."
    if isinstance(value, list | dict):
        return _kind(value)
    return repr(value)
