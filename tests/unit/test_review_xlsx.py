"""The Excel workbook writer of the review app's downloads (review.exports)."""

from __future__ import annotations

from review.exports import to_xlsx, xlsx_cell
from tests.xlsx_cells import read_sheet

# an identity number that passes no check; only its shape matters for masking
ID = "11010519491231002X"


def test_cells_are_text_or_numbers_and_never_formulas():
    data = to_xlsx(
        ["claim_id", "score", "note"],
        [
            ['=HYPERLINK("http://x")', 0.9876, "+1 cmd|' /C calc'!A0"],
            ["@SUM(A1)", 12, "-2+3"],
            ["C1", "", f"patient {ID}"],
            ["-12.50", None, "http://example.invalid/"],
        ],
        "queue",
    )
    rows, formulas = read_sheet(data)
    assert formulas == 0
    assert rows[0] == ["claim_id", "score", "note"]
    assert rows[1] == ['\'=HYPERLINK("http://x")', 0.9876, "'+1 cmd|' /C calc'!A0"]
    assert rows[2] == ["'@SUM(A1)", 12.0, "'-2+3"]
    assert rows[3][0] == "C1" and ID not in str(rows[3]) and rows[3][2].startswith("patient ")
    # a plain negative number written as text stays as it is, and is still text
    assert rows[4][0] == "-12.50" and rows[4][2] == "http://example.invalid/"


def test_cell_rules_match_the_csv_downloads():
    assert xlsx_cell("=1+1") == "'=1+1"
    assert xlsx_cell(None) == ""
    assert xlsx_cell(3) == 3
    assert xlsx_cell(True) == "true"
    assert ID not in xlsx_cell(ID)
