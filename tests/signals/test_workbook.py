"""The streaming xlsx reader: what openpyxl read, it reads the same; what no workbook holds, it refuses in bounded memory."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook as OpenpyxlWorkbook
from openpyxl import load_workbook

from api.signals.limits import CELL_CHARS, FileRefused, ImportLimits, Overlong
from api.signals.workbook import Workbook
from tests.signals.helpers import MAIN, PACKAGE, SHEET_TYPE, package

CHART_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/chartsheet"
DEFAULT_LIMITS = ImportLimits()
CHARTSHEET = {  # openpyxl needs a chartsheet's relationships, even none
    "xl/chartsheets/sheet1.xml": f'<chartsheet xmlns="{MAIN}"/>',
    "xl/chartsheets/_rels/sheet1.xml.rels": f'<Relationships xmlns="{PACKAGE}"/>',
}


def rows(data: bytes, columns: dict[int, int] | None = None, *, width: int = 0, limits: ImportLimits = DEFAULT_LIMITS):  # type: ignore[no-untyped-def]
    """The rows read, each a list (by column from A, as openpyxl gave them) when no `columns` are asked for."""
    found = list(Workbook(io.BytesIO(data), limits=limits).rows(columns, width=width))
    return found if columns else [(number, padded(cells)) for number, cells in found]


def padded(cells: dict[int, object]) -> list[object]:
    row: list[object] = [None] * max(cells)
    for column, value in cells.items():
        row[column - 1] = value
    return row


def refusal(data: bytes, *, limits: ImportLimits = DEFAULT_LIMITS) -> FileRefused:
    with pytest.raises(FileRefused) as refused:
        rows(data, limits=limits)
    return refused.value


def openpyxl_rows(data: bytes) -> list[tuple[int, list[object]]]:
    """What the import read with openpyxl's read-only mode until the streaming reader."""
    with warnings.catch_warnings():  # about styles it makes up and dates beyond the calendar
        warnings.simplefilter("ignore")
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        if not book.worksheets:
            return []
        sheet = book.worksheets[0]
        sheet.reset_dimensions()
        found = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for number, row in enumerate(sheet.iter_rows(min_row=1, values_only=True), 1):
                if any(v is not None and (type(v) is not str or v.strip()) for v in row):
                    found.append((number, list(row)))
        return found
    finally:
        book.close()


def stripped(found: list[tuple[int, list[object]]]) -> list[tuple[int, list[object]]]:
    """Every reader of a cell strips it, and the streaming reader drops leading whitespace as it reads."""
    return [(n, [v.strip() if type(v) is str else v for v in values]) for n, values in found]


# --------------------------------------------------------------------------- as openpyxl read it

CELL = st.one_of(
    st.none(),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
)


@given(st.lists(st.lists(CELL, max_size=8), max_size=8), st.booleans())
def test_a_workbook_openpyxl_wrote_reads_as_openpyxl_reads_it(grid, date1904):
    book = OpenpyxlWorkbook()
    book.epoch = datetime(1904, 1, 1) if date1904 else book.epoch
    sheet = book.active
    for values in grid:
        sheet.append([v.replace("\r", " ") if type(v) is str else v for v in values])  # XML carries no CR
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()

    assert stripped(rows(data)) == stripped(openpyxl_rows(data))


def test_shared_strings_rich_text_and_phonetic_runs_as_openpyxl_reads_them():
    data = package(
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
        '<c r="D1" t="inlineStr"><is><r><t>in</t></r><r><rPr><b/></rPr><t xml:space="preserve">line </t></r><rPh sb="0" eb="1"><t>x</t></rPh></is></c></row>',
        strings=[
            "<t>plain</t>",
            '<r><t>Jan</t></r><r><rPr><i/></rPr><t xml:space="preserve">sen </t></r>',
            '<t>山田</t><rPh sb="0" eb="2"><t>ヤマダ</t></rPh>',
        ],
    )
    assert rows(data) == openpyxl_rows(data) == [(1, ["plain", "Jansen ", "山田", "inline "])]


def test_dates_follow_the_number_format_and_the_1904_system():
    styles = (
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd\\-mm\\-yyyy"/><numFmt numFmtId="165" formatCode="0.00"/></numFmts>'
        '<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>'
        '<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/><xf numFmtId="46"/></cellXfs>'
    )
    sheet = (
        '<row r="1"><c r="A1"><v>46000</v></c><c r="B1" s="1"><v>46000</v></c><c r="C1" s="2"><v>46000.5</v></c>'
        '<c r="D1" s="3"><v>46000</v></c><c r="E1" s="4"><v>1.5</v></c><c r="F1" s="1"><v>0.25</v></c>'
        '<c r="G1" s="1"><v>99999999999</v></c></row>'
    )
    for date1904 in (False, True):
        data = package(sheet, styles=styles, date1904=date1904)
        assert rows(data) == openpyxl_rows(data)
    assert rows(package(sheet, styles=styles))[0][1][:7] == [
        46000,
        datetime(2025, 12, 9),
        datetime(2025, 12, 9, 12),
        46000,
        timedelta(days=1.5),
        time(6),
        "#VALUE!",
    ]
    assert rows(package(sheet, styles=styles, date1904=True))[0][1][1] == datetime(2029, 12, 10)


def test_booleans_formulas_errors_and_typed_strings_as_openpyxl_reads_them():
    data = package(
        '<row r="1"><c r="A1" t="b"><v>1</v></c><c r="B1" t="b"><v>0</v></c><c r="C1"><f>1+1</f><v>2</v></c>'
        '<c r="D1" t="str"><f>A1&amp;"x"</f><v>TRUEx</v></c><c r="E1" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
        '<c r="F1"><f>NOW()</f></c><c r="G1" t="d"><v>2026-10-25T10:00:00</v></c><c r="H1"><v>1.5E3</v></c></row>'
    )
    assert (
        rows(data)
        == openpyxl_rows(data)
        == [(1, [True, False, 2, "TRUEx", "#DIV/0!", None, datetime(2026, 10, 25, 10), 1500.0])]
    )


def test_row_numbers_are_the_sheets_empty_rows_are_skipped_and_the_dimension_is_not_trusted():
    data = package(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>  </t></is></c><c r="B2"/></row>'
        '<row r="4"><c r="B4"><v>4</v></c></row>'
        "<row><c><v>5</v></c><c><v>5.5</v></c></row>"  # no r: the next row, the next column
        '<row r="3"><c r="A3"><v>3</v></c></row>'  # out of order: openpyxl drops it
        '<row r="9"><c r="C9"><v>9</v></c></row>',
        parts={
            "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{MAIN}"><dimension ref="A1:A2"/><sheetData>'
            '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>'
            '<row r="2"><c r="A2" t="inlineStr"><is><t>  </t></is></c><c r="B2"/></row>'
            '<row r="4"><c r="B4"><v>4</v></c></row>'
            "<row><c><v>5</v></c><c><v>5.5</v></c></row>"
            '<row r="3"><c r="A3"><v>3</v></c></row>'
            '<row r="9"><c r="C9"><v>9</v></c></row></sheetData></worksheet>'
        },
    )
    assert rows(data) == openpyxl_rows(data) == [(1, ["a"]), (4, [None, 4]), (5, [5, 5.5]), (9, [None, None, 9])]


def test_the_first_sheet_is_the_first_worksheet_in_the_workbooks_order():
    second = f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><v>2</v></c></row></sheetData></worksheet>'
    data = package(
        '<row r="1"><c r="A1"><v>1</v></c></row>',
        sheets=[
            ("Grafiek", CHART_TYPE, "chartsheets/sheet1.xml"),
            ("Weg", SHEET_TYPE, "worksheets/missing.xml"),
            ("Tweede", SHEET_TYPE, "/xl/worksheets/sheet2.xml"),
            ("Eerste", SHEET_TYPE, "worksheets/sheet1.xml"),
        ],
        parts={"xl/worksheets/sheet2.xml": second, **CHARTSHEET},
    )
    assert rows(data) == openpyxl_rows(data) == [(1, [2])]


def test_a_workbook_without_a_worksheet_has_no_rows():
    data = package("", sheets=[("Grafiek", CHART_TYPE, "chartsheets/sheet1.xml")], parts=CHARTSHEET)
    assert rows(data) == openpyxl_rows(data) == []


# --------------------------------------------------------------------------- bounded


def test_only_the_columns_asked_for_are_kept_and_a_cell_at_xfd_pads_nothing():
    data = package(
        '<row r="1"><c r="A1"><v>1</v></c><c r="C1"><v>3</v></c><c r="XFD1"><v>16384</v></c></row>'
        '<row r="2"><c r="XFD2"><v>1</v></c></row>'
    )
    assert rows(data, {3: 0, 1: 1}, width=2) == [(1, [3, 1]), (2, [None, None])]  # row 2 has a value, far out
    assert list(Workbook(io.BytesIO(data), limits=ImportLimits()).rows()) == [
        (1, {1: 1, 3: 3, 16384: 16384}),
        (2, {16384: 1}),
    ]


@pytest.mark.parametrize("where", ["shared", "inline", "value", "formula text"])
def test_a_cell_longer_than_the_limit_is_read_only_as_far_as_the_limit(where):
    long = "x" * (CELL_CHARS * 50)
    cell = {
        "shared": '<c r="A1" t="s"><v>0</v></c>',
        "inline": f'<c r="A1" t="inlineStr"><is><t>{long}</t></is></c>',
        "value": f'<c r="A1"><v>{"9" * (CELL_CHARS * 50)}</v></c>',
        "formula text": f'<c r="A1" t="str"><v>{long}</v></c>',
    }[where]
    [(_, [value])] = rows(package(f'<row r="1">{cell}</row>', strings=[f"<t>{long}</t>"]))
    assert type(value) is Overlong and len(value.head) == CELL_CHARS


def test_whitespace_around_a_long_value_is_not_what_makes_it_too_long():
    padded = " " * (3 * CELL_CHARS) + "Jansen" + " " * (3 * CELL_CHARS)
    spoilt = "Jansen" + " " * (3 * CELL_CHARS) + "x"
    data = package(
        f'<row r="1"><c r="A1" t="inlineStr"><is><t>{padded}</t></is></c><c r="B1" t="s"><v>0</v></c></row>',
        strings=[f'<t xml:space="preserve">{spoilt}</t>'],
    )
    [(_, [first, second])] = rows(data)
    assert first.strip() == "Jansen" and type(second) is Overlong and second.head.startswith("Jansen ")


def test_the_shared_strings_are_held_within_their_limit():
    strings = [f"<t>{n:08d}</t>" for n in range(1000)]  # 8 bytes of text and 9 of bookkeeping each
    data = package('<row r="1"><c r="A1" t="s"><v>999</v></c></row>', strings=strings)
    assert rows(data, limits=ImportLimits(shared_strings_bytes=17_000)) == [(1, ["00000999"])]
    refused = refusal(data, limits=ImportLimits(shared_strings_bytes=16_999))
    assert refused.slug == "too-large-shared-strings"


def test_a_workbook_unpacking_beyond_the_limit_is_refused_by_its_declared_size():
    data = package('<row r="1"><c r="A1"><v>1</v></c></row>' * 2000)
    refused = refusal(data, limits=ImportLimits(unpacked_bytes=50_000))
    assert refused.slug == "too-large-unpacked" and "50,000 bytes" in refused.reason


def test_the_bytes_are_counted_as_they_unpack_whatever_the_directory_declares(monkeypatch):
    data = package('<row r="1"><c r="A1"><v>1</v></c></row>' * 2000)
    monkeypatch.setattr(Workbook, "_declared", lambda self, parts: 0)
    refused = refusal(data, limits=ImportLimits(unpacked_bytes=50_000))
    assert refused.slug == "too-large-unpacked"


def test_a_workbook_whose_directory_understates_the_sizes_is_refused_while_unpacking():
    """Sizes in the zip's directory are the sender's word: the bytes are counted as they unpack."""
    sheet = '<row r="1"><c r="A1"><v>1</v></c></row>' * 2000
    data = bytearray(package(sheet))
    name = b"xl/worksheets/sheet1.xml"
    for header, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header and directory entry
        at = data.find(header + b"")
        while at >= 0:
            name_length = struct.unpack_from("<H", data, at + (26 if header == b"PK\x03\x04" else 28))[0]
            name_at = at + (30 if header == b"PK\x03\x04" else 46)
            if bytes(data[name_at : name_at + name_length]) == name:
                struct.pack_into("<L", data, at + size_at, 100)  # "100 bytes unpacked"
            at = data.find(header, at + 4)
    refused = refusal(bytes(data), limits=ImportLimits(unpacked_bytes=50_000))
    # zipfile itself stops at the declared size and then finds the checksum wrong: refused either way.
    assert refused.slug in ("too-large-unpacked", "corrupt-file")


def test_a_zip_with_a_directory_no_workbook_has_is_refused_before_it_is_read():
    entry = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0) + b"x/1"
    directory = entry * 30_000
    data = (
        b"PK\x03\x04"
        + bytes(26)
        + directory
        + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 30_000, 30_000, len(directory), 30, 0)
    )
    refused = refusal(data)
    assert refused.slug == "corrupt-file" and "directory" in refused.reason


@pytest.mark.parametrize(
    "sheet",
    [
        '<row r="1"><c r="A1" t="inlineStr" x="' + "y" * (2 * 1024 * 1024) + '"><is><t>a</t></is></c></row>',
        '<row r="1"><c r="A1"><v>1</v></c></row><!--' + "y" * (2 * 1024 * 1024) + "-->",
    ],
    ids=["attribute", "comment"],
)
def test_an_xml_tag_larger_than_any_workbook_has_is_refused(sheet):
    refused = refusal(package(sheet))
    assert refused.slug == "corrupt-file" and "XML tag" in refused.reason


def test_a_document_type_declaration_is_refused():
    doctype = '<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">]>'
    data = package(
        "", parts={"xl/worksheets/sheet1.xml": doctype + f'<worksheet xmlns="{MAIN}"><sheetData/></worksheet>'}
    )
    assert refusal(data).slug == "corrupt-file"


@pytest.mark.parametrize(
    "sheet",
    [
        '<row r="1"><c r="A1"><v>abc</v></c></row>',
        '<row r="1"><c r="A1" t="s"><v>7</v></c></row>',
        '<row r="1"><c r="A1" t="s"><v>-1</v></c></row>',
        '<row r="1"><c r="1A"><v>1</v></c></row>',
        '<row r="x"><c r="A1"><v>1</v></c></row>',
        '<row r="1"><c r="A1"><v>1</v></c>',
    ],
    ids=["not a number", "no such string", "negative string index", "bad reference", "bad row number", "unclosed"],
)
def test_a_damaged_sheet_is_refused_as_corrupt_with_the_row(sheet):
    refused = refusal(package(sheet, strings=["<t>a</t>"]))
    assert refused.slug == "corrupt-file" and "row" in refused.reason


def test_parts_missing_from_the_package_make_it_corrupt():
    data = package('<row r="1"><c r="A1"><v>1</v></c></row>')
    with zipfile.ZipFile(io.BytesIO(data)) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    for missing in ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, content in parts.items():
                if name != missing:
                    archive.writestr(name, content)
        assert refusal(buffer.getvalue()).slug == "corrupt-file", missing
