"""Pure security helpers of the review app: output masking, masking on write, CSV cells,
local redirects, trusted proxies."""

from __future__ import annotations

import ipaddress

from markupsafe import Markup

from review.indicators import neutralise_cell, to_csv
from review.ingest import claim_row
from review.security import client_view, parse_networks, safe_local_path
from review.templating import mask_output

TYPED = "110101199003077777"


def test_every_rendered_value_is_masked_markup_stays_markup():
    assert mask_output(f"q={TYPED}") == "q=110101********7777"
    shown = mask_output(Markup(f"<svg><title>{TYPED}</title></svg>"))
    assert isinstance(shown, Markup) and TYPED not in shown and shown.startswith("<svg>")
    assert mask_output(3) == 3 and mask_output(None) is None
    assert mask_output(110101199003077777) == "110101********7777"


def test_identity_numbers_in_other_claim_fields_are_masked_on_write():
    claim = {
        "claim_id": "C1",
        "patient": {"person_id": "440103199001011234"},
        "hospital": {"hospital_id": TYPED},
        "diagnosis": TYPED,
        "items": [{"code": TYPED, "amount": "1.00"}, {"code": 110101199003077777}],
    }
    row = claim_row(claim, b"salt")
    assert TYPED not in str(row) and "110101199003077777" not in str(row)
    assert row["hospital_id"] == "110101********7777"
    assert len(row["diagnosis"]) <= 16
    assert claim["items"][0]["code"] == TYPED  # the caller's object is untouched


def test_csv_cells_that_start_like_a_formula_are_neutralised():
    for bad in ("=1+2", "+1", "-A1", "@SUM(A1)", "\tx", "\rx", "-1+2"):
        assert neutralise_cell(bad) == "'" + bad
    for fine in ("-12.50", "-3", "abc", 5, None, ""):
        assert neutralise_cell(fine) == fine
    text = to_csv([{"=h": "=cmd", "n": -1}])
    assert text.splitlines() == ["'=h,n", "'=cmd,-1"]


def test_redirect_targets_stay_on_this_site():
    for bad in ("//evil.example/x", "https://evil.example", "/\\evil", "evil", "", None, "/a\nb"):
        assert safe_local_path(bad) == "/queue"
    assert safe_local_path("/queue?page=2&status=open") == "/queue?page=2&status=open"


def test_forwarded_headers_count_only_from_trusted_proxies():
    trusted = parse_networks("10.0.0.1, 10.1.0.0/16")
    assert trusted == (ipaddress.ip_network("10.0.0.1/32"), ipaddress.ip_network("10.1.0.0/16"))
    headers = {"x-forwarded-for": "1.2.3.4, 10.1.2.3", "x-forwarded-proto": "https"}
    assert client_view("10.0.0.1", headers, trusted) == ("1.2.3.4", True)
    assert client_view("192.0.2.1", headers, trusted) == ("192.0.2.1", False)
    assert client_view("10.0.0.1", headers, ()) == ("10.0.0.1", False)
    assert client_view("10.0.0.1", {}, trusted) == ("10.0.0.1", False)


def test_sparse_months_at_the_ends_of_an_axis_are_left_off():
    from review.charts import plausible_months

    counts = {"2016-01": 1, "2026-01": 400, "2026-02": 2, "2026-03": 380, "2026-04": 3}
    assert plausible_months(counts) == {"2026-01", "2026-02", "2026-03"}
    assert plausible_months({"2026-01": 1}) == {"2026-01"}
    assert plausible_months({}) == set()
