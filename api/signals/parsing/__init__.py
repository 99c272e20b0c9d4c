"""Read the platforms' monthly signal files (CSV, XLSX, DDAS JSON) row by row into checked signal input. Pure.

    columns     the column table: canonical and exported names, parsers, limits
    values      the value parsers, one per column
    rows        one row to a SignalInput or its RowErrors: the definition, and the fast path for text
    base        the header mapping; SignalFile, the rows of an opened file
    csvfile, xlsxfile, ddasjson
                the formats
    (here)      open_signal_file, which recognises the format

Names with a leading underscore are the package's own: its modules share them, nothing outside
imports them (the tests of the two paths through a row aside).
"""

from __future__ import annotations

import codecs
from typing import BinaryIO

from api.signals.limits import FileRefused, ImportLimits  # FileRefused: the readers' callers catch it from here
from api.signals.parsing.base import _SNIFF_BYTES, SignalFile
from api.signals.parsing.columns import CANONICAL, COLUMNS, CORRECTABLE, EXPORT_NAMES, MAX_CHARS, parse_field
from api.signals.parsing.csvfile import MAX_LINE_BYTES, _CsvFile, _text_encoding
from api.signals.parsing.ddasjson import _DdasJsonFile
from api.signals.parsing.rows import ParsedRow, RowError, SignalInput, normalise_row
from api.signals.parsing.xlsxfile import _XlsxFile
from api.signals.rules import PARTNER_TYPES

__all__ = [
    "CANONICAL",
    "COLUMNS",
    "CORRECTABLE",
    "EXPORT_NAMES",
    "MAX_CHARS",
    "MAX_LINE_BYTES",
    "PARTNER_TYPES",
    "FileRefused",
    "ParsedRow",
    "parse_field",
    "RowError",
    "SignalFile",
    "SignalInput",
    "normalise_row",
    "open_signal_file",
]


_DEFAULT_LIMITS = ImportLimits()


def open_signal_file(
    data: BinaryIO, *, filename: str, municipality_code: str, limits: ImportLimits = _DEFAULT_LIMITS
) -> SignalFile:
    """Recognise the format by content (the file name is only a hint) and check the header.

    Raises FileRefused for a file that cannot be imported at all, or that is over one of `limits`;
    rows are checked while iterating (and counted: one too many is a FileRefused as well).
    """
    data.seek(0)
    head = data.read(_SNIFF_BYTES)
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if not head.strip():
        raise FileRefused("the file is empty", slug="empty-file")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _XlsxFile(data, limits)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(
            "old Excel 97-2003 (.xls) files are not supported: save as .xlsx or CSV", slug="unsupported-file-type"
        )
    if head.startswith(b"%PDF"):
        raise FileRefused(
            "a PDF cannot be imported: use the platform's CSV, XLSX or DDAS JSON export", slug="unsupported-file-type"
        )
    text_start = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if not text_start:
        raise FileRefused("the file is empty", slug="empty-file")
    if text_start[:1] in (b"{", b"["):
        return _DdasJsonFile(data, municipality_code, limits)
    encoding = _text_encoding(head)
    if encoding is None:
        raise FileRefused(
            "the file is neither CSV text nor an xlsx workbook nor DDAS JSON", slug="unsupported-file-type"
        )
    if extension == "json":
        raise FileRefused("the file is named .json but is not valid JSON", slug="corrupt-file")
    if text_start[:1] == b"<":
        raise FileRefused(
            "HTML or XML cannot be imported: use the platform's CSV or XLSX export", slug="unsupported-file-type"
        )
    return _CsvFile(data, encoding, limits)
