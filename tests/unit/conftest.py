"""Collects the golden settlement cases in ``tests/unit/golden/*.yaml``.

Each case is readable by a clerk: ``claims`` list only what differs from the
base claim of ``base_claim.py`` (``__absent__`` removes a field, ``line`` gives a raw input
line), ``policy`` overrides fields of every version of a region, and
``expected`` lists per input record only the fields that matter, amounts in
yuan to the fen. ``error_codes`` lists a rejected record's codes in order;
``clearing`` lists the expected inter-city clearing rows of a month.
``catalogues`` gives a treatment region's catalogue (spec 8.4) as CSV text,
written beside the policies as ``<region>.catalogue.csv``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from settlement.batch import settle_lines
from settlement.clearing import clear_period
from settlement.engine import Settler
from settlement.policy_loader import load_policy_dir

from .base_claim import BASE_CLAIM, GOLDEN_POLICIES, merge


def write_policies(
    target: Path, overrides: dict[str, Any], catalogues: dict[str, str] | None = None
) -> Path:
    """Copy the golden policies into ``target`` with overrides applied to each version."""
    target.mkdir(parents=True, exist_ok=True)
    for region, text in (catalogues or {}).items():
        (target / f"{region}.catalogue.csv").write_text(text, encoding="utf-8")
    for source in GOLDEN_POLICIES.glob("*.yaml"):
        text = source.read_text(encoding="utf-8")
        region_override = overrides.get(source.stem)
        if region_override:
            document = yaml.safe_load(text)
            document["versions"] = [merge(v, region_override) for v in document["versions"]]
            text = yaml.safe_dump(document, sort_keys=False)
        (target / source.name).write_text(text, encoding="utf-8")
    return target


def input_lines(case: dict[str, Any]) -> list[str]:
    lines = []
    for index, entry in enumerate(case.get("claims", []), start=1):
        if isinstance(entry, dict) and "line" in entry and len(entry) == 1:
            lines.append(entry["line"])
            continue
        claim = merge(BASE_CLAIM, entry)
        if "claim_id" not in entry:
            claim["claim_id"] = f"G{index}"
        lines.append(json.dumps(claim, ensure_ascii=False))
    return lines


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix == ".yaml" and file_path.parent.name == "golden":
        return GoldenFile.from_parent(parent, path=file_path)
    return None


class GoldenFile(pytest.File):
    def collect(self):  # type: ignore[no-untyped-def]
        cases = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        for case in cases:
            yield GoldenCase.from_parent(self, name=case["name"], case=case)


class GoldenCase(pytest.Item):
    def __init__(self, *, case: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        tmp = Path(self.config._tmp_path_factory.mktemp("policies"))  # type: ignore[attr-defined]
        book = load_policy_dir(
            write_policies(tmp, self.case.get("policy", {}), self.case.get("catalogues"))
        )
        source = io.BytesIO("\n".join(input_lines(self.case)).encode("utf-8") + b"\n")
        records = list(settle_lines(Settler(book), source))
        expected = self.case["expected"]
        assert len(records) == len(expected), f"{len(records)} records for {len(expected)} expected"
        for number, (record, want) in enumerate(zip(records, expected, strict=True), start=1):
            for key, value in want.items():
                if key == "error_codes":
                    got = [error["code"] for error in record.get("errors", [])]
                else:
                    got = record.get(key)
                assert got == value, f"record {number}: {key} is {got!r}, expected {value!r}"
            if record["status"] == "rejected":
                assert set(record) == {"claim_id", "status", "errors"}, f"record {number}: {record}"
                assert all(error["message"] for error in record["errors"])
        for period, rows in self.case.get("clearing", {}).items():
            assert clear_period(records, period) == rows

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return f"golden case {self.name!r} in {self.path.name}: {excinfo.value}"

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"golden: {self.name}"
