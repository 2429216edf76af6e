"""The rule catalogue loader: the bundled tables load, broken files are refused by name.

Each folder of ``broken_rules/`` holds one broken CSV file laid over a copy of
the bundled catalogue and ``expected.txt``, the start of the message it must
give (file, line, field and problem).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from detection.errors import RuleBookError
from detection.rulebook import LOGICS
from detection.rulebook_loader import BUNDLED_DIR, load_rule_dir
from detection.rules import RULES

BROKEN = Path(__file__).parent / "broken_rules"


def test_bundled_catalogue_covers_every_evaluator_and_is_marked_illustrative() -> None:
    book = load_rule_dir()
    assert {rule.logic for rule in book.rules.values()} == set(LOGICS)
    assert {rule.result for rule in book.rules.values()} == {"certain", "suspicious"}
    assert all("illustrative" in rule.source for rule in book.rules.values())
    rows = [row for entries in book.by_item.values() for e in entries for row in e.national]
    assert rows and all(row.shown["source"].startswith("illustrative") for row in rows)


def test_every_red_flag_has_one_catalogue_code() -> None:
    book = load_rule_dir()
    assert set(book.red_flags) == {rule.code for rule in RULES}
    codes = [flag.rule_code for flag in book.red_flags.values()]
    assert len(set(codes)) == len(codes)
    assert not set(codes) & set(book.rules)
    assert book.red_flag_code("DUPLICATE_BILL") == "YB-RF-001"


@pytest.mark.parametrize("case", sorted(p.name for p in BROKEN.iterdir()), ids=str)
def test_broken_file_is_refused_naming_file_line_and_field(case: str, tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(BUNDLED_DIR, folder)
    for broken in (BROKEN / case).glob("*.csv"):
        shutil.copy(broken, folder / broken.name)
    expected = (BROKEN / case / "expected.txt").read_text(encoding="utf-8").strip()
    with pytest.raises(RuleBookError) as caught:
        load_rule_dir(folder)
    assert str(caught.value).startswith(expected)


def test_missing_rules_file_and_missing_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleBookError, match="not a directory of rule tables"):
        load_rule_dir(tmp_path / "absent")
    with pytest.raises(RuleBookError, match=r"rules\.csv: missing from"):
        load_rule_dir(tmp_path)


def test_tables_are_optional_and_an_empty_catalogue_loads(tmp_path: Path) -> None:
    shutil.copy(BUNDLED_DIR / "rules.csv", tmp_path / "rules.csv")
    book = load_rule_dir(tmp_path)
    assert book.row_count == 0 and not book.by_item and len(book.rules) == 16
