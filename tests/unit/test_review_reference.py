"""The review app's reference data: shipped names cover the codes in use; the loader is strict."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from review.errors import ReferenceDataError
from review.reference import DATA_DIR, load_reference

RULE_TABLES = Path(__file__).resolve().parents[2] / "detection" / "rule_tables"


def test_every_simulated_item_has_its_names_and_catalogue_price():
    from simulator.items import CATALOGUE, NAMES

    ref = load_reference()
    assert set(ref.items) == set(CATALOGUE)
    for code, (category, base_fen, _kind) in CATALOGUE.items():
        item = ref.items[code]
        assert (item.zh, item.en) == NAMES[code], code
        assert (item.category, item.unit_price_fen) == (category, base_fen), code


def test_every_rule_table_item_is_named():
    ref = load_reference()
    for path in RULE_TABLES.glob("*.csv"):
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                for column in ("item_code", "excluded_code", "required_code"):
                    if row.get(column):
                        assert ref.item(row[column]) is not None, (path.name, row[column])


def test_every_simulated_diagnosis_and_indication_is_named():
    from simulator.diagnoses import DIAGNOSES
    from simulator.dip_coding import COMORBIDITIES, COMPLICATIONS

    codes = {d.code for d in DIAGNOSES} | {d.upcode for d in DIAGNOSES if d.upcode}
    codes |= {code for code, _ in COMORBIDITIES}
    codes |= {code for pairs in COMPLICATIONS.values() for code, _ in pairs}
    with (RULE_TABLES / "restriction.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            codes |= {c for c in row["indications"].split(";") if c}
    ref = load_reference()
    missing = {code for code in codes if code not in ref.diagnoses}
    assert not missing
    found = ref.diagnosis("J18.9")
    assert found is not None and found.text() == "肺炎 pneumonia, unspecified"
    # A code under a named category gets the category's name; others none.
    category = ref.diagnosis("I63.5")
    assert category is not None and category.code == "I63"
    assert ref.diagnosis("Q99.9") is None and ref.diagnosis(None) is None


def test_hospitals_are_placed_by_the_area_code_of_their_id():
    from simulator.regions import REGIONS

    ref = load_reference()
    for region in REGIONS.values():
        for area in (region.code, *region.districts):
            assert ref.area(area) is not None, area
    found = ref.hospital_area("H44010600037")
    assert found is not None and found.text() == "天河区 Tianhe District"
    assert ref.hospital_area("H440100-06") is not None  # the test data's ids: the city
    assert ref.hospital_area("X1") is None and ref.hospital_area("H999999123") is None


def broken(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "items.csv",
            "code,name_zh,name_en,category,unit_price_yuan\nX1,a,b,A,1.00\n",
            "items.csv: line 1: the header must name exactly code, name_zh, name_en, category,"
            " unit_price_yuan, source",
        ),
        (
            "items.csv",
            "code,name_zh,name_en,category,unit_price_yuan,source\nX1,a,b,A,1.005,x\n",
            "items.csv: line 2: unit_price_yuan: '1.005' is not an amount in yuan",
        ),
        (
            "items.csv",
            "code,name_zh,name_en,category,unit_price_yuan,source\nX1,a,b,A,-1,x\n",
            "items.csv: line 2: unit_price_yuan: '-1' is not an amount",
        ),
        (
            "diagnoses.csv",
            "code,name_zh,name_en,source\nJ18.9,a,b,x\nJ18.9,c,d,x\n",
            "diagnoses.csv: line 3: code: J18.9 is given twice",
        ),
        (
            "diagnoses.csv",
            "code,name_zh,name_en,source\nj18 9,a,b,x\n",
            "diagnoses.csv: line 2: code: 'j18 9' is not a code",
        ),
        (
            "areas.csv",
            "code,name_zh,name_en,source\n440100,,,x\n",
            "areas.csv: line 2: name_zh, name_en: both empty",
        ),
        (
            "areas.csv",
            "code,name_zh,name_en,source\n440100,a,b\n",
            "areas.csv: line 2: 3 cells, the header has 4",
        ),
        (
            "areas.csv",
            "code,name_zh,name_en,source\n440100,a,b,\n",
            "areas.csv: line 2: source: required",
        ),
    ],
)
def test_a_broken_file_is_refused_naming_file_line_and_field(tmp_path, name, text, message):
    with pytest.raises(ReferenceDataError) as caught:
        load_reference(broken(tmp_path, name, text))
    assert str(caught.value).startswith(message)


def test_the_shipped_files_are_the_default():
    assert DATA_DIR.name == "reference_data"
    assert {p.name for p in DATA_DIR.glob("*.csv")} == {"items.csv", "diagnoses.csv", "areas.csv"}
