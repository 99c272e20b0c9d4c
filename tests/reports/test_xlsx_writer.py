"""The exports' own XLSX writer reads back in openpyxl as openpyxl's write-only workbook did:
the same values, types and date formats, text never a formula."""

from __future__ import annotations

import io
import random
from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from api.platform.xlsx import write_workbook

HEADER = ["text", "number", "day", "maybe"]


def _as_openpyxl_wrote(rows: list[list[object]]) -> bytes:
    """The case export's writer until December 2026 (openpyxl, write-only)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("cases")
    sheet.append(HEADER)
    for cells in rows:
        line = []
        for value in cells:
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
                if value.startswith("="):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"
                    value = cell
            line.append(value)
        sheet.append(line)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _ours(rows: list[list[object]]) -> bytes:
    out = io.BytesIO()
    write_workbook(out, sheet="cases", header=HEADER, rows=rows)  # type: ignore[arg-type]
    return out.getvalue()


def _read(content: bytes) -> list[list[tuple[object, str, str]]]:
    workbook = load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["cases"]
    return [
        [(cell.value, cell.data_type if cell.value is not None else None, cell.number_format) for cell in line]
        for line in workbook["cases"].iter_rows(max_col=len(HEADER))
    ]


def _generated(count: int) -> list[list[object]]:
    rng = random.Random(19)
    texts = [
        "Kinkerstraat",
        "=1+1",
        "+31 6",
        "-",
        "@home",
        " spaced ",
        "a\x00b\x1fc",
        "\x00",
        "é & <b> \"'",
        "",
        "\tTab",
    ]
    return [
        [
            rng.choice(texts),
            rng.choice([0, 1, 3, 12_345_678, -2]),
            date(1900, 1, 1) + timedelta(days=rng.randrange(200 * 365)),
            rng.choice([None, "x", 7, date(2026, 3, 2)]),
        ]
        for _ in range(count)
    ]


def test_a_generated_sheet_reads_back_as_openpyxls_did() -> None:
    rows = _generated(500)
    assert _read(_ours(rows)) == _read(_as_openpyxl_wrote(rows))


@given(
    st.lists(
        st.tuples(st.text(max_size=20), st.integers(-(2**40), 2**40), st.dates(date(1900, 1, 1), date(9998, 12, 31))),
        max_size=20,
    )
)
def test_any_text_number_and_day_reads_back_as_openpyxls_did(rows: list[tuple[str, int, date]]) -> None:
    cells: list[list[object]] = [[text, number, day, None] for text, number, day in rows]
    assert _read(_ours(cells)) == _read(_as_openpyxl_wrote(cells))


def test_text_is_never_a_formula_and_days_are_dates() -> None:
    sheet = load_workbook(io.BytesIO(_ours([["=SUM(A1)", 1, date(2026, 3, 2), None]])))["cases"]
    text, number, day, empty = sheet[2]
    assert (text.value, text.data_type) == ("=SUM(A1)", "s")
    assert (number.value, number.data_type) == (1, "n")
    assert day.value == datetime(2026, 3, 2) and day.number_format == "yyyy-mm-dd"
    assert empty.value is None
