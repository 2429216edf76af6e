"""The strict DIP policy loader refuses broken files, naming file, field and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from dip.errors import DipPolicyError
from dip.loader import bundled_dip_dir, load_dip_dir, load_dip_file
from dip.policy import COMPREHENSIVE, CORE

BROKEN = Path(__file__).parent / "broken_dip"
G1 = "versions[0].groups[1]"

# fixture folder -> (field named in the error, words the message must contain)
EXPECTED = {
    "alias": ("versions[0].hospital_coefficients", "anchors and aliases (& and *) are not allowed"),
    "average_cost_missing_level": (f"{G1}.average_cost.3", "required but missing"),
    "average_cost_zero": (
        f"{G1}.average_cost.1",
        "out of range; it must be an amount in yuan above 0",
    ),
    "budget_over_limit": ("years.2026.budget", "above 0 and at most 10^12"),
    "budget_three_decimals": ("years.2026.budget", "more than 2 decimal places"),
    "chapter_lowercase": ("versions[0].groups[2].chapter", "one capital letter"),
    "coefficient_over_three": ("versions[0].hospital_coefficients.3", "above 0 and at most 3"),
    "comprehensive_with_diagnosis": ("versions[0].groups[2].diagnosis", "unknown key"),
    "duplicate_comprehensive": ("versions[0].groups[3]", "same chapter and treatment as groups[2]"),
    "duplicate_group_code": ("versions[0].groups[2].code", "also the code of groups[1]"),
    "duplicate_group_key": ("versions[0].groups[2]", "same diagnosis and procedure as groups[1]"),
    "duplicate_key": ("high_ratio", "duplicated key on line 9"),
    "high_ratio_below_one": ("versions[0].high_ratio", "at least 1"),
    "kind_unknown": ("versions[0].groups[2].kind", "must be core or comprehensive"),
    "los_not_whole": ("versions[0].los_exclude_at_most", "whole number of days"),
    "los_order": ("versions[0].los_exclude_at_least", "must be more than los_exclude_at_most"),
    "low_ratio_over_one": ("versions[0].low_ratio", "above 0 and at most 1"),
    "missing_key": ("versions[0].review_ratio", "required but missing"),
    "no_groups": ("versions[0].groups", "non-empty list of disease groups"),
    "no_years": ("years", "required but missing"),
    "not_yaml": ("", "not valid YAML"),
    "override_bad_id": ("versions[0].hospital_overrides.H441800 01", "must be a hospital_id"),
    "procedure_unquoted": (
        "versions[0].groups[0].procedure",
        'a quoted procedure code like "47.01"',
    ),
    "quoted_level": ("versions[0].hospital_coefficients.1", "plain numbers 1, 2 and 3"),
    "rate_boolean": ("years.2026.advance_rate", "must be a number"),
    "rate_over_one": ("years.2026.reserve_rate", "a ratio from 0 to 1"),
    "region_mismatch": ("region", "they must match"),
    "region_unquoted": ("region", "quoted 6-digit code"),
    "review_below_high": ("versions[0].review_ratio", "at least high_ratio"),
    "same_date_twice": ("versions[1].effective_from", "also the date of versions[0]"),
    "score_exponent": (f"{G1}.score", "not a plain non-negative decimal"),
    "score_five_decimals": (f"{G1}.score", "more than 4 decimal places"),
    "score_zero": (f"{G1}.score", "out of range; it must be a score above 0"),
    "treatment_unknown": ("versions[0].groups[2].treatment", "conservative or operative"),
    "unknown_key": ("versions[0].lowest_ratio", "unknown key; valid keys here"),
    "year_quoted": ("years.2026", "plain 4-digit number"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_dip_policy_is_refused_with_file_field_and_problem(name: str) -> None:
    field, words = EXPECTED[name]
    with pytest.raises(DipPolicyError) as caught:
        load_dip_dir(BROKEN / name)
    message = str(caught.value)
    assert str(BROKEN / name / "441800.yaml") in message
    assert caught.value.field == field
    assert words in message


def test_every_fixture_folder_is_checked() -> None:
    assert {p.name for p in BROKEN.iterdir() if p.is_dir()} == set(EXPECTED)


def test_numbers_are_read_exactly_into_fixed_point(tmp_path: Path) -> None:
    text = (
        (BROKEN / "unknown_key" / "441800.yaml").read_text().replace("    lowest_ratio: 0.1\n", "")
    )
    (tmp_path / "441800.yaml").write_text(text.replace("score: 812.5,", "score: 812.5001,"))
    policy = load_dip_file(tmp_path / "441800.yaml")
    version = policy.versions[0]
    assert (version.low_ratio, version.high_ratio, version.review_ratio) == (5000, 20000, 50000)
    assert version.hospital_coefficients == {1: 5500, 2: 7200, 3: 9300}
    assert version.hospital_overrides == {"H441800-01": 9500}
    core, _, comprehensive = version.groups
    assert (core.kind, core.score, core.procedure) == (CORE, 8125001, "47.01")
    assert core.average_cost_fen == {1: 650000, 2: 780000, 3: 990000}
    assert (comprehensive.kind, comprehensive.chapter) == (COMPREHENSIVE, "K")
    year = policy.years[2026]
    assert year.budget_fen == 12_000_000_000
    assert (year.reserve_rate, year.advance_rate, year.share_rate, year.share_band) == (
        500,
        9000,
        5000,
        2000,
    )


def test_a_missing_folder_and_an_empty_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DipPolicyError, match="is not a directory"):
        load_dip_dir(tmp_path / "absent")
    with pytest.raises(DipPolicyError, match=r"holds no <region>\.yaml DIP policy file"):
        load_dip_dir(tmp_path)


def test_the_bundled_dip_policies_load_and_are_marked_illustrative() -> None:
    book = load_dip_dir()
    assert book.regions
    for region, policy in book.regions.items():
        assert (bundled_dip_dir() / f"{region}.yaml").is_file()
        assert policy.name is not None and "illustrative" in policy.name
        assert all(version.source == "illustrative" for version in policy.versions)
