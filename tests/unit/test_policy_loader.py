"""The strict policy loader refuses broken files, naming file, field and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from settlement.errors import PolicyError
from settlement.policy_loader import MAX_POLICY_FILE_BYTES, bundled_policy_dir, load_policy_dir

BROKEN = Path(__file__).parent / "broken_policies"

# fixture folder -> (field named in the message, words the message must contain)
EXPECTED = {
    "unknown_key": ("versions[0].copay_bonus", "unknown key"),
    "missing_key": ("versions[0].intercity_unregistered_reduction", "required but missing"),
    "duplicate_key": ("category_b_self_pay", "duplicated key on line"),
    "ratio_over_one": ("versions[0].schemes.employee.inpatient.ratio", "more than 1"),
    "ratio_five_decimals": (
        "versions[0].schemes.employee.outpatient.ratio",
        "more than 4 decimal places",
    ),
    "ratio_boolean": ("versions[0].schemes.employee.inpatient.ratio", "must be a number"),
    "cap_not_number": ("versions[0].schemes.employee.annual_cap", "must be a number"),
    "cap_negative": ("versions[0].schemes.resident.annual_cap", "not a non-negative amount"),
    "deductible_three_decimals": (
        "versions[0].schemes.employee.inpatient.deductible.3",
        "more than 2 decimal places",
    ),
    "deductible_missing_level": (
        "versions[0].schemes.employee.inpatient.deductible.3",
        "required but missing",
    ),
    "deductible_quoted_levels": (
        "versions[0].schemes.employee.inpatient.deductible.1",
        "plain numbers 1, 2 and 3",
    ),
    "per_diem_unknown_setting": ("versions[0].ltc_per_diem.hospice", "unknown key"),
    "region_mismatch": ("region", "they must match"),
    "region_unquoted": ("region", "quoted 6-digit code"),
    "bad_date": ("versions[0].effective_from", "must be a date written YYYY-MM-DD"),
    "same_date_twice": ("versions[1].effective_from", "also the date of versions[0]"),
    "no_versions": ("versions", "non-empty list"),
    "not_yaml": ("", "not valid YAML"),
    "scheme_misspelt": ("versions[0].schemes.residents", "unknown key"),
    # Bounded loading: each of these used to run out of memory or end in a traceback.
    "alias_bomb": ("name", "anchors and aliases (& and *) are not allowed"),
    "deep_nesting": (
        "versions[0].schemes.employee.annual_cap" + "[0]" * 27,
        "nested deeper than 32 levels",
    ),
    "list_key": ("versions[0].ltc_per_diem", "a key must be a plain name or number"),
    "dict_key": ("versions[0].schemes.employee", "a key must be a plain name or number"),
    "huge_integer": (
        "versions[0].schemes.employee.annual_cap",
        "(5000 characters) is longer than 100 characters",
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_policy_is_refused_with_file_field_and_problem(name: str) -> None:
    field, words = EXPECTED[name]
    with pytest.raises(PolicyError) as caught:
        load_policy_dir(BROKEN / name)
    message = str(caught.value)
    assert str(BROKEN / name / "440100.yaml") in message
    assert caught.value.field == field or (not field and words in message)
    assert words in message


def test_a_huge_policy_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    (tmp_path / "440100.yaml").write_bytes(b"#" * (MAX_POLICY_FILE_BYTES + 1))
    with pytest.raises(PolicyError, match="over the limit of 8388608 bytes"):
        load_policy_dir(tmp_path)


def test_every_fixture_folder_is_checked() -> None:
    folders = {p.name for p in BROKEN.iterdir() if p.is_dir()} - {"empty_dir"}
    assert folders == set(EXPECTED)


def test_a_folder_without_policy_files_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"holds no <region>\.yaml policy file"):
        load_policy_dir(BROKEN / "empty_dir")


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="is not a directory"):
        load_policy_dir(tmp_path / "nowhere")


def test_yml_files_are_not_silently_ignored(tmp_path: Path) -> None:
    (tmp_path / "440100.yml").write_text("region: '440100'\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="rename it"):
        load_policy_dir(tmp_path)


def test_bundled_policies_load_exactly() -> None:
    book = load_policy_dir(bundled_policy_dir())
    assert {"441800", "440100", "440300", "440600", "441900"} <= set(book.regions)
    from datetime import date

    qingyuan = book.version_for("441800", date(2026, 3, 5))
    assert qingyuan is not None
    assert qingyuan.label == "441800@2026-01-01"
    assert qingyuan.schemes["employee"].inpatient.ratio == 8522
    assert qingyuan.schemes["resident"].inpatient.ratio == 6095
    assert qingyuan.schemes["employee"].outpatient.ratio == 7000  # 0.70 read exactly
    assert qingyuan.ltc_per_diem_fen == {"institutional": 13500, "home": 10000}
    assert book.version_for("441800", date(2016, 12, 31)) is None
