"""CSV, as the platforms and Excel write it: UTF-8, Windows-1252 or UTF-16; ; , or tab separated."""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections.abc import Generator, Iterator
from typing import Any, BinaryIO

from api.signals.limits import FileRefused, ImportLimits
from api.signals.parsing.base import (
    _MAX_HEADER_CHARS,
    _SNIFF_BYTES,
    SignalFile,
    _Borrowed,
    _map_header,
    _picker,
    _text_stream,
)
from api.signals.parsing.rows import ParsedRow, RowError, _normalise_text

_SEPARATORS = (";", ",", "\t")
# A physical line of a CSV file is read at most this far: a row of every column at its limit is
# under 2,000 characters, and a 100 MB line (no newline at all) must not be read into memory whole.
MAX_LINE_BYTES = 64 * 1024
_LINE_END = re.compile(rb"[\r\n]")
# Control bytes that no CSV export contains (tab, newlines, form feed and DOS end-of-file aside).
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")


class _LineBounded(_Borrowed):
    """…that refuses a physical line longer than MAX_LINE_BYTES as the bytes go by.

    Checked per block read, not per line: the text layer and csv then iterate lines at C speed
    (a generator calling readline(limit) per line cost the import 5%). A line ends at CR or LF;
    quoted newlines inside a value end a physical line too (csv joins them again, and bounds a
    value at 128 Ki characters)."""

    def __init__(self, data: BinaryIO) -> None:
        super().__init__(data)
        self._open = 0  # bytes since the last line end
        self._line = 1

    def readinto(self, buffer: Any) -> int:
        block = self._data.read(len(buffer))
        first = _LINE_END.search(block)
        # A line within one block is shorter than the limit (blocks are 64 KiB); a longer one
        # runs over a block's end, into the next block or beyond.
        if self._open + (len(block) if first is None else first.start()) > MAX_LINE_BYTES:
            raise FileRefused(
                f"line {self._line} is longer than {MAX_LINE_BYTES:,} bytes, which no row of signals is",
                slug="too-long-line",
            )
        if first is None:
            self._open += len(block)
        else:
            self._line += block.count(b"\n")
            self._open = len(block) - 1 - max(block.rfind(b"\n"), block.rfind(b"\r"))
        buffer[: len(block)] = block
        return len(block)


def _separator(header_line: str) -> str:
    counts = dict.fromkeys(_SEPARATORS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return max(_SEPARATORS, key=counts.__getitem__)  # ties go to ";", what Dutch Excel writes


def _encoding_name(encoding: str) -> str:
    return {"utf-8-sig": "UTF-8", "cp1252": "Windows-1252", "utf-16": "UTF-16"}[encoding]


def _line_of_first_undecodable(data: BinaryIO, encoding: str) -> int:
    """The text layer decodes ahead of the CSV reader, so its position says little: count again."""
    data.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    while chunk := data.read(_SNIFF_BYTES):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as error:
            return line + chunk.count(b"\n", 0, max(error.start, 0))
        line += chunk.count(b"\n")
    return line


def _text_encoding(head: bytes) -> str | None:
    """utf-8-sig when the first 64 KiB are UTF-8, cp1252 when they are not, None for binary."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text" export
    if _BINARY_BYTES.search(head):
        return None
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return None


class _CsvFile(SignalFile):
    format = "csv"

    def __init__(self, data: BinaryIO, encoding: str, limits: ImportLimits) -> None:
        self._data = data
        self._encoding = encoding
        self._limits = limits
        records = self._records()
        try:
            header = next(records, None)
            if header is None:
                raise FileRefused("the file is empty", slug="empty-file")
            positions, self.unknown_columns = _map_header([name.strip() for name in header[1]])
            self._pick = _picker(positions)
            self._width = len(header[1])
            if not any(True for _ in records):
                raise FileRefused("the file has a header but no signals", slug="empty-file")
        finally:
            records.close()

    def _records(self) -> Generator[tuple[int, list[str]], None, None]:
        """(line where the record starts, fields) of each non-blank record, the header first."""
        text = _text_stream(self._data, self._encoding, raw=_LineBounded)
        blank_lines = 0  # before the header
        reader = None
        try:
            header_line = text.readline(_MAX_HEADER_CHARS)
            while header_line and not header_line.strip():
                blank_lines += 1
                header_line = text.readline(_MAX_HEADER_CHARS)
            if not header_line:
                return
            if len(header_line) == _MAX_HEADER_CHARS:
                raise FileRefused("the first line is too long to be a header", slug="corrupt-file")
            reader = csv.reader(
                itertools.chain((header_line,), text), delimiter=_separator(header_line), skipinitialspace=True
            )
            line_before = 0
            for record in reader:
                start = line_before + 1 + blank_lines
                line_before = reader.line_num
                if "".join(record).strip():
                    yield start, record
        except UnicodeDecodeError:
            line = _line_of_first_undecodable(self._data, self._encoding)
            raise FileRefused(
                f"the file is not valid {_encoding_name(self._encoding)} near line {line}", slug="corrupt-file"
            ) from None
        except csv.Error as error:
            line = (reader.line_num if reader else 0) + blank_lines
            raise FileRefused(f"unreadable CSV near line {line}: {error}", slug="corrupt-file") from None

    def _read(self) -> Iterator[ParsedRow]:
        pick, width = self._pick, self._width
        padding = [""] * width
        records = self._records()
        next(records)  # the header
        for line, record in records:
            count = len(record)
            if count < width:
                record.extend(padding[count:])
            record.append("")
            parsed = _normalise_text(pick(record), line)
            if count > width and any(value.strip() for value in record[width:count]):
                # Usually an unquoted separator inside a value (1,50 in a comma file): every value
                # after it sits in the wrong column.
                reason = f"the row has {count} values but the header has {width} columns"
                parsed.errors.append(RowError(line, None, reason))
                parsed.signal = None
            yield parsed
