"""A one-sheet XLSX workbook written a row at a time, straight into a file: the exports' writer.

openpyxl's write-only workbook spent about a millisecond per row of the case export (an
object, a type check and an XML element per cell, then the sheet copied into the zip):
50,000 cases took 33–55 s. Here a row is one string of cell XML, written a block of rows at a
time into the zip entry as it is deflated, so time and memory stay flat per row.

What the workbook holds is what openpyxl wrote for the export and reads back the same way:
text as inline strings (so a value starting with `=` is text, never a formula; the control
characters XML cannot carry are left out, as openpyxl does), integers as numbers, dates as day
numbers in the 1900 system shown as `yyyy-mm-dd`, no cell for None or empty text. No shared-strings
table: it would have to be held in memory until the end.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import IO
from xml.sax.saxutils import escape

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

Cell = str | int | date | None

_ROWS_PER_WRITE = 500
_EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of the 1900 system from March 1900 on
_DATE_STYLE = 1  # the cellXfs entry below with the number format yyyy-mm-dd

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets>'
    "</workbook>"
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/>'
    "</Relationships>"
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_END = "</sheetData></worksheet>"


def write_workbook(out: IO[bytes], *, sheet: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> None:
    """`header` and then `rows` as the one sheet `sheet` of a workbook written to `out`, which
    stays open. `rows` is consumed as it is written."""
    letters = [get_column_letter(number) for number in range(1, max(len(header), 1) + 1)]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK.format(name=escape(sheet, {'"': "&quot;"})))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(_SHEET_START.encode())
            block = [_row(1, header, letters)]
            for number, cells in enumerate(rows, start=2):
                if len(cells) > len(letters):
                    letters += [get_column_letter(n) for n in range(len(letters) + 1, len(cells) + 1)]
                block.append(_row(number, cells, letters))
                if len(block) >= _ROWS_PER_WRITE:
                    part.write("".join(block).encode())
                    block.clear()
            block.append(_SHEET_END)
            part.write("".join(block).encode())


def _row(number: int, cells: Sequence[Cell], letters: Sequence[str]) -> str:
    xml = [f'<row r="{number}">']
    for letter, value in zip(letters, cells, strict=False):
        if value is None:
            continue
        if isinstance(value, str):
            text = escape(ILLEGAL_CHARACTERS_RE.sub("", value))
            if not text:
                continue  # openpyxl, too, read an empty text back as no value
            space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
            xml.append(f'<c r="{letter}{number}" t="inlineStr"><is><t{space}>{text}</t></is></c>')
        elif isinstance(value, bool):
            xml.append(f'<c r="{letter}{number}" t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, int | float):
            xml.append(f'<c r="{letter}{number}"><v>{value!r}</v></c>')
        elif isinstance(value, datetime):
            raise TypeError("a moment is no cell of an export: give its Dutch day")
        elif isinstance(value, date):
            days = (value - _EXCEL_EPOCH).days
            days -= 0 < days <= 60  # as openpyxl counts: Excel's phantom 29 February 1900
            xml.append(f'<c r="{letter}{number}" s="{_DATE_STYLE}"><v>{days}</v></c>')
        else:
            raise TypeError(f"no cell for {type(value).__name__}")
    xml.append("</row>")
    return "".join(xml)
