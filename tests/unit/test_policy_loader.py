"""The strict policy loader refuses broken files, naming file, field and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from settlement.errors import PolicyError
from settlement.policy_loader import MAX_POLICY_FILE_BYTES, bundled_policy_dir, load_policy_dir

BROKEN = Path(__file__).parent / "broken_policies"
CATALOGUE = "440100.catalogue.csv"

# fixture folder -> (field named in the message, words the message must contain[,
# the file named when it is not 440100.yaml])
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
    # Section 8 (8.0-8.9, 8.11): one broken file per new key.
    "source_not_text": ("versions[0].source", "must be text naming the document"),
    "ratio_level_missing": ("versions[0].schemes.employee.inpatient.ratio.3", "required but"),
    "ratio_level_quoted": (
        "versions[0].schemes.employee.inpatient.ratio.1",
        "plain numbers 1, 2 and 3",
    ),
    "ratio_and_bands": (
        "versions[0].schemes.employee.inpatient.ratio",
        "exactly one of ratio and bands, not both",
    ),
    "bands_not_increasing": (
        "versions[0].schemes.employee.inpatient.bands[1].up_to",
        "strictly increasing",
    ),
    "bands_last_not_null": (
        "versions[0].schemes.employee.inpatient.bands[1].up_to",
        "the last band's up_to must be null",
    ),
    "bands_null_not_last": (
        "versions[0].schemes.employee.inpatient.bands[0].up_to",
        "only the last band has up_to null",
    ),
    "bands_empty": ("versions[0].schemes.employee.inpatient.bands", "must be a non-empty list"),
    "band_ratio_over_one": (
        "versions[0].schemes.employee.inpatient.bands[0].ratio",
        "more than 1",
    ),
    "category_unknown_key": ("versions[0].schemes.employee.categories.retired.copay", "unknown"),
    "category_bad_name": (
        "versions[0].schemes.employee.categories.Retired",
        "a person category name is 1-32 characters",
    ),
    "repeat_factor_on_outpatient": (
        "versions[0].schemes.employee.outpatient.deductible_repeat_factor",
        "unknown key",
    ),
    "repeat_factor_over_one": (
        "versions[0].schemes.employee.inpatient.deductible_repeat_factor",
        "more than 1",
    ),
    "year_max_negative": (
        "versions[0].schemes.employee.inpatient.deductible_year_max",
        "not a non-negative amount",
    ),
    "filing_unknown_category": ("versions[0].intercity_filing.holiday", "unknown key"),
    "filing_both": (
        "versions[0].intercity_filing.temporary",
        "exactly one of subtract and multiply, not both",
    ),
    "filing_multiply_over_one": ("versions[0].intercity_filing.temporary.multiply", "more than"),
    "ltc_copay_ratio_over_one": ("versions[0].ltc_per_diem.home.ratio", "more than 1"),
    "ltc_copay_missing_per_diem": ("versions[0].ltc_per_diem.home.per_diem", "required but"),
    "ci_threshold_negative": (
        "versions[0].schemes.employee.critical_illness.threshold",
        "not a non-negative amount",
    ),
    "ci_band_level_map": (
        "versions[0].schemes.employee.critical_illness.bands[0].ratio",
        "one ratio, not a map of hospital levels",
    ),
    "ci_missing_cap": (
        "versions[0].schemes.employee.critical_illness.annual_cap",
        "required but missing",
    ),
    "assistance_ratio_over_one": ("versions[0].assistance.dibao.ratio", "more than 1"),
    "assistance_unknown_key": ("versions[0].assistance.dibao.limit", "unknown key"),
    # The treatment place's catalogue (spec 8.4, 8.11): the message names the csv file.
    "catalogue_bad_header": ("line 1", "header must be exactly", CATALOGUE),
    "catalogue_bad_category": ("line 2.category", "must be A, B or C", CATALOGUE),
    "catalogue_self_pay_over_one": ("line 2.self_pay", "more than 1", CATALOGUE),
    "catalogue_same_date_twice": ("line 3.effective_from", "one row per date", CATALOGUE),
    "catalogue_ceiling_three_decimals": (
        "line 2.price_ceiling",
        "more than 2 decimal places",
        CATALOGUE,
    ),
    "catalogue_bad_date": ("line 2.effective_from", "YYYY-MM-DD", CATALOGUE),
    "catalogue_short_row": ("line 2", "has 4 columns", CATALOGUE),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_policy_is_refused_with_file_field_and_problem(name: str) -> None:
    field, words, *file = EXPECTED[name]
    with pytest.raises(PolicyError) as caught:
        load_policy_dir(BROKEN / name)
    message = str(caught.value)
    assert str(BROKEN / name / (file[0] if file else "440100.yaml")) in message
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


def test_section_8_keys_load_into_the_policy_model(tmp_path: Path) -> None:
    base = (Path(__file__).parent / "golden_policies" / "440100.yaml").read_text()
    text = (
        base.replace(
            "    category_b_self_pay: 0.20\n",
            "    category_b_self_pay: 0.20\n"
            "    source: illustrative\n"
            "    intercity_filing: {temporary: {multiply: 0.80}, none: {subtract: 0.10}}\n"
            "    assistance: {dibao: {threshold: 0, ratio: 0.70, annual_cap: 50000}}\n",
        )
        .replace(
            "        annual_cap: 600000\n"
            "        inpatient:  {ratio: 0.90, deductible: {1: 400, 2: 700, 3: 1200}}\n",
            "        annual_cap: 600000\n"
            "        inpatient:\n"
            "          bands: [{up_to: 10000, ratio: {1: 0.9, 2: 0.85, 3: 0.8}},"
            " {up_to: null, ratio: 0.95}]\n"
            "          deductible: {1: 400, 2: 700, 3: 1200}\n"
            "          deductible_repeat_factor: 0.5\n"
            "          deductible_year_max: 2000\n"
            "        categories:\n"
            "          retired: {outpatient: {ratio: {1: 0.9, 2: 0.85, 3: 0.8},"
            " deductible: {1: 0, 2: 0, 3: 0}}}\n"
            "        critical_illness:\n"
            "          threshold: 15000\n"
            "          bands: [{up_to: 50000, ratio: 0.6}, {up_to: null, ratio: 0.7}]\n"
            "          annual_cap: 400000\n",
        )
        .replace("home: 110}", "home: {per_diem: 60, ratio: 0.75}}")
    )
    (tmp_path / "440100.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "440100.catalogue.csv").write_text(
        "code,category,self_pay,price_ceiling,effective_from\n"
        "S1,B,0.30,120.50,2026-01-01\nS1,A,,,2025-01-01\n",
        encoding="utf-8",
    )
    from datetime import date

    book = load_policy_dir(tmp_path)
    version = book.regions["440100"].versions[0]
    assert version.provenance == "illustrative"
    assert version.reads_year_totals
    assert version.ltc_per_diem_fen["home"] == 6000 and version.ltc_ratio == {"home": 7500}
    employee = version.schemes["employee"]
    bands = employee.inpatient.bands
    assert bands is not None and [b.up_to_fen for b in bands] == [1000000, None]
    assert bands[0].ratio_at(3) == 8000 and bands[1].ratio_at(3) == 9500
    assert employee.inpatient.deductible_repeat_factor == 5000
    assert employee.categories["retired"].outpatient is not None
    assert employee.categories["retired"].inpatient is None
    assert (
        employee.critical_illness is not None and employee.critical_illness.threshold_fen == 1500000
    )
    assert version.intercity_filing is not None
    assert version.intercity_filing["temporary"].apply(8500) == 6800
    assert version.assistance["dibao"].ratio == 7000
    row = book.catalogues["440100"].row_on("S1", date(2026, 3, 5))
    assert row is not None and (row.category, row.self_pay, row.price_ceiling_fen) == (
        "B",
        3000,
        12050,
    )
    old = book.catalogues["440100"].row_on("S1", date(2025, 6, 1))
    assert old is not None and old.category == "A"
    assert book.catalogues["440100"].row_on("S1", date(2024, 6, 1)) is None


def test_a_catalogue_file_needs_a_region_in_its_name(tmp_path: Path) -> None:
    (tmp_path / "440100.yaml").write_text(
        (Path(__file__).parent / "golden_policies" / "440100.yaml").read_text(), encoding="utf-8"
    )
    (tmp_path / "guangzhou.catalogue.csv").write_text(
        "code,category,self_pay,price_ceiling,effective_from\n", encoding="utf-8"
    )
    with pytest.raises(PolicyError, match=r"named <region>\.catalogue\.csv"):
        load_policy_dir(tmp_path)


def test_every_bundled_version_names_its_source() -> None:
    book = load_policy_dir(bundled_policy_dir())
    for region in book.regions.values():
        for version in region.versions:
            assert version.provenance, f"{version.label} has no source (spec 8.0)"
    from datetime import date

    qingyuan = book.version_for("441800", date(2027, 3, 5))
    assert qingyuan is not None and qingyuan.provenance == "illustrative"
    assert qingyuan.schemes["employee"].categories["retired"].inpatient is not None
    assert qingyuan.schemes["resident"].critical_illness is not None
    assert not book.catalogues  # a bundled catalogue would round every claim treated there per item


def test_a_catalogue_saved_with_a_byte_order_mark_is_refused_saying_so(tmp_path: Path) -> None:
    (tmp_path / "440100.yaml").write_text(
        (Path(__file__).parent / "golden_policies" / "440100.yaml").read_text(), encoding="utf-8"
    )
    (tmp_path / "440100.catalogue.csv").write_text(
        "\ufeffcode,category,self_pay,price_ceiling,effective_from\nX1,B,0.3,,2026-01-01\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match="byte-order mark"):
        load_policy_dir(tmp_path)
