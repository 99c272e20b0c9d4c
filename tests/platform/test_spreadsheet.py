"""Exports open in spreadsheets as text: a cell from outside can never become a formula."""

from __future__ import annotations

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from api.platform.spreadsheet import safe_cell
from tests.factories import csv_file, row, upload


@given(st.text())
def test_no_cell_starts_a_formula_and_harmless_text_is_untouched(text: str):
    cell = safe_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell == text or cell == "'" + text


def test_numbers_and_empty_cells_pass_unchanged():
    assert [safe_cell(value) for value in (-12, 3.5, None, "", "Ymere")] == [-12, 3.5, None, "", "Ymere"]


def test_a_quarantined_row_with_a_formula_downloads_as_text(client: TestClient, office):  # type: ignore[no-untyped-def]
    hostile = '=HYPERLINK("http://evil.example","klik")'
    report = upload(
        client, office, csv_file(row("S1"), row("S2", partner="Bakker", creditor=hostile)), mode="accept-valid"
    ).json()
    download = client.get(f"/v1/signals/imports/{report['id']}/quarantine", headers=office).text
    assert "'=HYPERLINK" in download and ";=HYPERLINK" not in download
