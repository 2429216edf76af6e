"""Reading single values of a policy file: mappings, ratios, yuan, dates, level maps.

:class:`PolicyValueReader` checks one value of the parsed YAML document and
raises :class:`PolicyError` naming the file, the field and what would be valid;
the policy loader (:mod:`settlement.policy_loader`) reads whole sections with it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from settlement.errors import PolicyError
from settlement.money import AmountError, parse_ratio_text, parse_yuan_text, shown
from settlement.policy import HOSPITAL_LEVELS
from settlement.strict_yaml import YamlNumber, cut_key
from settlement.strict_yaml import join_field as _join
from settlement.strict_yaml import yaml_kind as _kind

_NAME = re.compile(r"[a-z0-9_]{1,32}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class PolicyValueReader:
    """Checks values of one policy file; every error names the file and the field."""

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
        if isinstance(value, bool) or not isinstance(value, int | YamlNumber):
            raise self.fail(
                field, f"must be a number ({what}), got {_kind(value)} {shown_value(value)}"
            )
        return str(value)

    def day(self, value: Any, field: str) -> date:
        if type(value) is date:
            return value
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(field, f"must be a date written YYYY-MM-DD, got {shown_value(value)}")

    def level_map(self, raw: Any, field: str, read: Any) -> dict[int, int]:
        """A map naming exactly the hospital levels 1, 2 and 3, each value read by ``read``."""
        if isinstance(raw, dict):
            for key in raw:
                if type(key) is not int:
                    raise self.fail(
                        f"{field}.{cut_key(str(key))}",
                        "hospital levels are the plain numbers 1, 2 and 3 (not quoted)",
                    )
        levels = self.mapping(raw, field, HOSPITAL_LEVELS)
        return {level: read(levels[level], f"{field}.{level}") for level in HOSPITAL_LEVELS}

    def ratio_or_levels(self, raw: Any, field: str) -> tuple[int, dict[int, int] | None]:
        """One ratio, or a map of hospital levels to ratios (spec 8.1)."""
        if isinstance(raw, dict):
            return 0, self.level_map(raw, field, self.ratio)
        return self.ratio(raw, field), None

    def named(self, raw: Any, field: str, what: str) -> dict[str, Any]:
        """A mapping whose keys are names of ``[a-z0-9_]{1,32}`` (categories)."""
        if not isinstance(raw, dict):
            raise self.fail(field, f"must be a mapping of {what} names, got {_kind(raw)}")
        for key in raw:
            if not isinstance(key, str) or not _NAME.fullmatch(key):
                raise self.fail(
                    _join(field, key),
                    f"a {what} name is 1-32 characters of a-z, 0-9 and _, got {shown_value(key)}",
                )
        return raw


def shown_value(value: object) -> str:
    """A short repr of a policy value for a message (never a huge one)."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, list | dict):
        return _kind(value)
    return repr(value)
