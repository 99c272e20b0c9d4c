"""The first sheet of an xlsx workbook as a stream of rows, read in bounded memory whatever the file holds.

openpyxl's read-only mode builds every cell's whole text, holds the shared-strings table as
Python strings and pads each row to its last cell: a 300 KB upload held a 300 MB cell, and one
cell at column XFD made every row 16,384 values. Here the zip's parts are decompressed block by
block (the bytes counted against a limit) and fed to expat; of a cell at most CELL_CHARS
characters are kept, and the shared strings, the one part held whole, sit in one UTF-8 buffer
within a limit of their own. openpyxl still says which number formats are dates and how Excel
counts days.

What openpyxl did, this does: the first worksheet in the workbook's order (workbook.xml and its
relationships, chartsheets and missing parts passed over), shared and inline strings (rich-text
runs joined, phonetic runs left out), booleans, numbers, dates by number format (1900 or 1904
system), the cached value of a formula, error values as their text, the sheet's own row numbers
(a row out of order dropped), and no trust in the recorded dimension.
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
import zlib
from array import array
from collections.abc import Callable, Generator, Iterable, Iterator
from datetime import datetime
from typing import Any, BinaryIO
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel, from_ISO8601
from openpyxl.xml.constants import ARC_CONTENT_TYPES, ARC_STYLE, SHARED_STRINGS, SHEET_MAIN_NS, XLSM, XLSX, XLTM, XLTX

from api.signals.limits import CELL_CHARS, FileRefused, ImportLimits, Overlong

_BLOCK = 64 * 1024
# expat holds a tag with its attributes (or a comment) until it ends. No part of a workbook has
# one near this; a bigger one is a file made to take memory.
_MAX_TOKEN_BYTES = 1024 * 1024
# zipfile reads the whole central directory into objects (a 49 MB zip of a million entries took
# 375 MB before a byte was unpacked). A workbook lists a few dozen parts in some kilobytes.
_MAX_DIRECTORY_BYTES = 1024 * 1024
_MAX_SHEETS = 10_000
_MAX_CELL_FORMATS = 65_536  # Excel's own limit is 65,490
_WORKBOOK_TYPES = (XLTM, XLTX, XLSM, XLSX)  # openpyxl's order of preference

# Names as expat reports them with namespace processing: "namespace local-name".
_MAIN = SHEET_MAIN_NS + " "
_ROW, _C, _V, _IS, _T, _RPH, _SI = (_MAIN + name for name in ("row", "c", "v", "is", "t", "rPh", "si"))
_NAMES = (_ROW, _C, _V, _IS, _T, _RPH, _SI, "r", "t", "s")

# The exceptions a damaged package gives on the way (zip, inflate, XML, a number or reference
# that is none); for an uploaded file they all mean the same thing.
_DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    expat.ExpatError,
    ValueError,
    KeyError,
    IndexError,
    OverflowError,
    TypeError,
    struct.error,
)


class Workbook:
    """An xlsx package opened to read its first worksheet; the shared strings are read here."""

    def __init__(self, data: BinaryIO, *, limits: ImportLimits) -> None:
        self._limits = limits
        self._unpacked = 0
        try:
            _check_directory(data)
            data.seek(0)
            self._zip = zipfile.ZipFile(data)
            names = set(self._zip.namelist())
        except _DAMAGED:
            raise FileRefused("the xlsx file is damaged or incomplete", slug="corrupt-file") from None
        if not any(name.startswith("xl/") for name in names):
            raise FileRefused("the zip file is not an xlsx workbook", slug="unsupported-file-type")
        try:
            self._open(names)
        except FileRefused:
            raise
        except _DAMAGED:
            raise FileRefused("the xlsx file is damaged and cannot be opened", slug="corrupt-file") from None

    def _open(self, names: set[str]) -> None:
        workbook_part, strings_part = self._content_types()
        self._epoch, sheet_ids = self._workbook(workbook_part)
        self._sheet = self._first_sheet(workbook_part, sheet_ids, names)
        # A quick refusal by the sizes the zip's directory declares; the bytes are counted as they unpack all the same.
        if self._unpacked + self._declared([ARC_STYLE if ARC_STYLE in names else None, strings_part, self._sheet]) > (
            self._limits.unpacked_bytes
        ):
            raise _too_large_unpacked(self._limits)
        self._dates, self._timedeltas = self._styles() if ARC_STYLE in names else (frozenset(), frozenset())
        self._strings = self._shared_strings(strings_part) if strings_part else _SharedStrings(0)
        self._opened = self._unpacked  # each reading of the sheet counts on from here

    def rows(self, columns: dict[int, int] | None = None, *, width: int = 0) -> Generator[tuple[int, Any], None, None]:
        """(sheet row number, values) of every row of the first sheet that has a value.

        Without `columns` the values are the row's cells by column number (A is 1), as a dict:
        a list would pad a row with a cell at column XFD to 16,384 values. With them, a list of
        `width` values where `columns` maps a column number to its place; the other cells are read
        only to see whether the row is empty."""
        if self._sheet is None:
            return
        self._unpacked = self._opened
        number = 0
        try:
            for number, values in _sheet_rows(
                self._blocks(self._sheet), self._strings, self._dates, self._timedeltas, self._epoch, columns, width
            ):
                yield number, values
        except FileRefused:
            raise
        except _DAMAGED:
            raise FileRefused(f"the xlsx file is damaged near row {number + 1}", slug="corrupt-file") from None

    # ----------------------------------------------------------------------- the package

    def _declared(self, parts: list[str | None]) -> int:
        return sum(self._zip.getinfo(part).file_size for part in parts if part is not None)

    def _blocks(self, part: str) -> Iterator[bytes]:
        """The decompressed bytes of a part, counted against the limit as they come, whatever the
        zip's directory declares (zipfile stops at the declared size, the count does not rely on it)."""
        with self._zip.open(part) as stream:
            while block := stream.read(_BLOCK):
                self._unpacked += len(block)
                if self._unpacked > self._limits.unpacked_bytes:
                    raise _too_large_unpacked(self._limits)
                yield block

    def _content_types(self) -> tuple[str, str | None]:
        overrides: dict[str, str] = {}
        defaults: set[str] = set()

        def start(name: str, attrs: dict[str, str]) -> None:
            local = name.rpartition(" ")[2]
            content_type = attrs.get("ContentType")
            if local == "Override" and content_type in (*_WORKBOOK_TYPES, SHARED_STRINGS):
                overrides.setdefault(content_type, attrs.get("PartName", ""))
            elif local == "Default" and content_type in _WORKBOOK_TYPES:
                defaults.add(content_type)

        _parse(self._blocks(ARC_CONTENT_TYPES), start)
        workbook = next((overrides[kind] for kind in _WORKBOOK_TYPES if kind in overrides), None)
        if workbook is None and defaults:
            workbook = "/xl/workbook.xml"  # some writers give application/xml's default to the workbook
        if not workbook:
            raise FileRefused("the xlsx file has no workbook part", slug="corrupt-file")
        strings = overrides.get(SHARED_STRINGS)
        return workbook[1:], strings[1:] if strings else None

    def _workbook(self, part: str) -> tuple[datetime, list[str]]:
        date1904 = False
        sheet_ids: list[str] = []

        def start(name: str, attrs: dict[str, str]) -> None:
            nonlocal date1904
            local = name.rpartition(" ")[2]
            if local == "sheet":
                relation = next((v for k, v in attrs.items() if " " in k and k.rpartition(" ")[2] == "id"), None)
                if relation:  # openpyxl passes a sheet without one over
                    if len(sheet_ids) >= _MAX_SHEETS or len(relation) > 255:
                        raise FileRefused("the workbook lists more sheets than a workbook holds", slug="corrupt-file")
                    sheet_ids.append(relation)
            elif local == "workbookPr":
                date1904 = attrs.get("date1904", "") not in ("", "false", "f", "0")

        _parse(self._blocks(part), start)
        return (MAC_EPOCH if date1904 else WINDOWS_EPOCH), sheet_ids

    def _first_sheet(self, workbook_part: str, sheet_ids: list[str], names: set[str]) -> str | None:
        folder, base = posixpath.split(workbook_part)
        wanted = set(sheet_ids)
        relations: dict[str, tuple[str, str]] = {}

        def start(name: str, attrs: dict[str, str]) -> None:
            relation = attrs.get("Id")
            if (
                name.rpartition(" ")[2] == "Relationship"
                and relation in wanted
                and attrs.get("TargetMode") != "External"
            ):
                target = attrs.get("Target", "")
                target = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
                relations[relation] = (attrs.get("Type", ""), target)

        if sheet_ids:
            _parse(self._blocks(posixpath.join(folder, "_rels", base + ".rels")), start)
        for relation in sheet_ids:
            kind, target = relations[relation]  # a sheet without its relationship: damaged
            if target in names and "chartsheet" not in kind:
                return target
        return None

    def _styles(self) -> tuple[frozenset[int], frozenset[int]]:
        """The cell formats (by index) whose number format shows a date, and those showing a duration."""
        custom: dict[int, tuple[bool, bool]] = {}
        cell_formats = array("q")
        inside = 0  # <cellXfs>: its <xf> are the formats cells refer to (those of <cellStyleXfs> are not)

        def start(name: str, attrs: dict[str, str]) -> None:
            nonlocal inside
            local = name.rpartition(" ")[2]
            if local == "xf" and inside:
                if len(cell_formats) >= _MAX_CELL_FORMATS:
                    raise FileRefused("the workbook has more cell formats than Excel allows", slug="corrupt-file")
                cell_formats.append(int(attrs.get("numFmtId", 0)))
            elif local == "numFmt":
                if len(custom) >= _MAX_CELL_FORMATS:
                    raise FileRefused("the workbook has more number formats than Excel allows", slug="corrupt-file")
                code = attrs.get("formatCode")
                custom[int(attrs["numFmtId"])] = (is_date_format(code), is_timedelta_format(code))
            elif local == "cellXfs":
                inside += 1

        def end(name: str) -> None:
            nonlocal inside
            if name.rpartition(" ")[2] == "cellXfs":
                inside -= 1

        _parse(self._blocks(ARC_STYLE), start, end)
        dates, timedeltas = set(), set()
        for index, format_id in enumerate(cell_formats):
            if format_id in custom:
                is_date, is_timedelta = custom[format_id]
            else:
                code = BUILTIN_FORMATS.get(format_id)
                is_date, is_timedelta = is_date_format(code), is_timedelta_format(code)
            if is_date:
                dates.add(index)
            if is_timedelta:
                timedeltas.add(index)
        return frozenset(dates), frozenset(timedeltas)

    def _shared_strings(self, part: str) -> _SharedStrings:
        strings = _SharedStrings(self._limits.shared_strings_bytes)
        text = _Text()
        phonetic = 0
        parser = _parser()

        def start(name: str, attrs: dict[str, str]) -> None:
            nonlocal phonetic
            if name == _T:
                if not phonetic:
                    parser.CharacterDataHandler = text.add
            elif name == _RPH:
                phonetic += 1

        def end(name: str) -> None:
            nonlocal phonetic
            if name == _T:
                parser.CharacterDataHandler = None
            elif name == _SI:
                value = text.take()
                if isinstance(value, str):
                    strings.add(value.replace("x005F_", ""), overlong=False)  # openpyxl's unescaping of "_"
                else:
                    strings.add(value.head.replace("x005F_", ""), overlong=True)
            elif name == _RPH:
                phonetic -= 1

        parser.StartElementHandler = start
        parser.EndElementHandler = end
        for _ in _feed(parser, self._blocks(part)):
            pass
        return strings


def _too_large_unpacked(limits: ImportLimits) -> FileRefused:
    return FileRefused(
        f"the workbook unpacks to more than {limits.unpacked_bytes:,} bytes, over the import limit",
        slug="too-large-unpacked",
    )


def _check_directory(data: BinaryIO) -> None:
    """Refuse a zip whose central directory is larger than a workbook's, before zipfile reads it.

    Reads the end-of-central-directory record the way zipfile finds it (the last one in the file's
    final 64 KiB), and the zip64 record it points to."""
    data.seek(0, 2)
    size = data.tell()
    start = max(0, size - (22 + 0xFFFF + 20))
    data.seek(start)
    tail = data.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return  # zipfile refuses it as damaged
    directory = struct.unpack_from("<L", tail, at + 12)[0]
    locator = at - 20
    if locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        data.seek(struct.unpack_from("<Q", tail, locator + 8)[0])
        record = data.read(56)
        if len(record) == 56 and record[:4] == b"PK\x06\x06":
            directory = max(directory, struct.unpack_from("<Q", record, 40)[0])
    if directory > _MAX_DIRECTORY_BYTES:
        raise FileRefused(
            f"the zip file's directory takes {directory:,} bytes; a workbook's takes a few thousand",
            slug="corrupt-file",
        )


# --------------------------------------------------------------------------- XML


def _refuse_doctype(*_: object) -> None:
    # A DTD could declare entities to expand; an Office Open XML part never has one.
    raise FileRefused("the xlsx file contains a document type declaration, which no workbook has", slug="corrupt-file")


def _parser() -> Any:
    # Names are interned to the constants here, so the handlers' comparisons find them identical at once.
    parser = expat.ParserCreate(namespace_separator=" ", intern={name: name for name in _NAMES})
    parser.buffer_text = True  # a cell's text in one call, not one per line or entity
    parser.StartDoctypeDeclHandler = _refuse_doctype
    return parser


def _feed(parser: Any, blocks: Iterable[bytes]) -> Iterator[None]:
    """Parse block by block, pausing after each; refuses a tag (or comment) that grows beyond
    _MAX_TOKEN_BYTES: expat's position is that of its last event, the rest it holds unfinished."""
    fed = 0
    try:
        for block in blocks:
            parser.Parse(block, False)
            fed += len(block)
            if fed - parser.CurrentByteIndex > _MAX_TOKEN_BYTES:
                raise FileRefused(
                    f"the xlsx file has an XML tag of more than {_MAX_TOKEN_BYTES:,} bytes, which no workbook has",
                    slug="corrupt-file",
                )
            yield
        parser.Parse(b"", True)
        yield
    finally:
        # The handlers are closures that hold the parser: without this the cycle, and what the
        # handlers had gathered, would wait for the garbage collector.
        parser.StartElementHandler = parser.EndElementHandler = parser.CharacterDataHandler = None


def _parse(blocks: Iterable[bytes], start: Any, end: Any = None, characters: Any = None) -> None:
    parser = _parser()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    for _ in _feed(parser, blocks):
        pass


class _Text:
    """The characters of one value as they arrive: leading whitespace dropped (every reader of a
    cell strips it), then at most CELL_CHARS kept. More is an Overlong value, unless all that
    follows is whitespace, which stripping would drop as well.

    `add` is the parser's character handler while a value is read, and none is set otherwise:
    expat then does not call into Python for the text between elements. `take` hands the value
    over and starts the next."""

    __slots__ = ("parts", "size", "overlong")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.overlong = False

    def add(self, data: str) -> None:
        if not self.size:
            if data[0].isspace():
                data = data.lstrip()
                if not data:
                    return
            if len(data) <= CELL_CHARS:  # the usual value: whole, in one piece
                self.parts.append(data)
                self.size = len(data)
                return
        elif self.overlong:
            return
        room = CELL_CHARS - self.size
        if len(data) <= room:
            self.parts.append(data)
            self.size += len(data)
            return
        if room:
            self.parts.append(data[:room])
            self.size = CELL_CHARS
        if not data[room:].isspace():
            self.overlong = True

    def take(self) -> str | Overlong:
        parts = self.parts
        text = parts[0] if len(parts) == 1 else "".join(parts)
        self.parts = []
        self.size = 0
        if self.overlong:
            self.overlong = False
            return Overlong(text)
        return text


class _SharedStrings:
    """The shared-strings table as UTF-8 in one buffer, with the end of each string: a million
    short strings take some 20 MB, where a list of Python strings takes 70. Within `budget` bytes
    (the text, a flag byte and an 8-byte end per string)."""

    def __init__(self, budget: int) -> None:
        self._text = bytearray()
        self._ends = array("q")
        self._budget = budget
        # Dates, partner types and towns recur on every row: decoding each once spares a third of
        # the lookups' time. Short strings only, and cleared when full: 65,536 of at most 64 characters.
        self._memo: dict[int, str | Overlong] = {}

    def add(self, text: str, *, overlong: bool) -> None:
        self._text += b"\x01" if overlong else b"\x00"
        self._text += text.encode()
        self._ends.append(len(self._text))
        if len(self._text) + 8 * len(self._ends) > self._budget:
            raise FileRefused(
                f"the workbook's shared strings take more than {self._budget:,} bytes, over the import limit",
                slug="too-large-shared-strings",
            )

    def __getitem__(self, index: int) -> str | Overlong:
        found = self._memo.get(index)
        if found is not None:
            return found
        if index < 0:
            raise IndexError(index)  # not from the end, as a Python list would
        end = self._ends[index]
        start = self._ends[index - 1] if index else 0
        text = self._text[start + 1 : end].decode()
        found = Overlong(text) if self._text[start] else text
        if end - start <= 65:
            if len(self._memo) >= 65_536:
                self._memo.clear()
            self._memo[index] = found
        return found


_COLUMN = re.compile(r"\$?([A-Za-z]{1,3})\$?")
_from_iso8601: Callable[[str], datetime] = from_ISO8601  # openpyxl's, untyped

_COLUMN_NUMBERS: dict[str, int] = {}  # by the letters of a reference: a few hundred in practice, 560,000 at most


def _column_number(reference: str) -> int:
    """1 for "A1" or "$A$1", 16,384 for "XFD3"."""
    letters = reference.rstrip("0123456789")
    number = _COLUMN_NUMBERS.get(letters)
    if number is None:
        match = _COLUMN.fullmatch(letters)
        if match is None or len(letters) == len(reference):
            raise ValueError("not a cell reference")
        number = 0
        for letter in match[1].upper():
            number = number * 26 + ord(letter) - 64
        _COLUMN_NUMBERS[letters] = number
    return number


def _row_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        number = float(text)  # some writers write 3.0
        if not number.is_integer():
            raise
        return int(number)


def _sheet_rows(
    blocks: Iterable[bytes],
    strings: _SharedStrings,
    dates: frozenset[int],
    timedeltas: frozenset[int],
    epoch: datetime,
    columns: dict[int, int] | None,
    width: int,
) -> Iterator[tuple[int, Any]]:
    """The rows of a worksheet part with a value; see Workbook.rows.

    The handlers run for every element of the sheet (seven calls for a cell with an inline string):
    at 100,000 rows of 21 columns they are most of the time, hence their plain shape."""
    parser = _parser()
    text = _Text()
    collect, take = text.add, text.take
    wanted = columns.get if columns is not None else None
    column_numbers = _COLUMN_NUMBERS
    ready: list[tuple[int, Any]] = []
    number = 0  # the row being read, or the last one
    last = 0  # the last row number taken (openpyxl drops a row that comes out of order)
    cells: dict[int, object] = {}  # this row's, without `columns`
    values: list[object] = []
    filled = False
    column = 0
    kind = reference = style = None
    value: str | Overlong | None = None
    inline: str | Overlong | None = None
    phonetic = 0
    inside_inline = False

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal kind, reference, style, value, inline, number, column, cells, values, filled, phonetic, inside_inline
        if name == _C:
            reference, kind, style = attrs.get("r"), attrs.get("t"), attrs.get("s")
            value = inline = None
        elif name == _V:
            parser.CharacterDataHandler = collect
        elif name == _T:
            if inside_inline and not phonetic:
                parser.CharacterDataHandler = collect
        elif name == _IS:
            inside_inline = True
        elif name == _ROW:
            row = attrs.get("r")
            number = _row_number(row) if row else number + 1
            column = 0
            filled = False
            if wanted is None:
                cells = {}
            else:
                values = [None] * width
        elif name == _RPH:
            phonetic += 1

    def end(name: str) -> None:
        nonlocal value, inline, column, filled, last, phonetic, inside_inline
        if name == _C:
            if reference:
                column = column_numbers.get(reference.rstrip("0123456789")) or _column_number(reference)
            else:
                column += 1
            place: int | None
            if wanted is None:
                place = column
            else:
                place = wanted(column)
                if place is None and filled:
                    return  # a column not read, in a row known to have a value
            cell: object
            if kind == "inlineStr":
                cell = inline
            elif not value:
                cell = None
            elif kind == "s":
                cell = strings[int(value)]  # type: ignore[arg-type]  # an Overlong number: damaged
            elif isinstance(value, Overlong):
                cell = value
            elif kind is None or kind == "n":
                number_value = float(value) if "." in value or "e" in value or "E" in value else int(value)
                cell = number_value
                if style and dates and int(style) in dates:
                    try:
                        cell = from_excel(number_value, epoch, timedelta=int(style) in timedeltas)
                    except (OverflowError, ValueError):
                        cell = "#VALUE!"  # what openpyxl makes of a date beyond the calendar
            elif kind == "b":
                cell = bool(int(value))
            elif kind == "d":
                cell = _from_iso8601(value)
            else:  # "str" (a formula's text), "e" (an error such as #N/A)
                cell = value
            if cell is not None and cell != "":
                filled = True
            if place is not None:
                if wanted is None:
                    cells[place] = cell
                else:
                    values[place] = cell
        elif name == _V:
            parser.CharacterDataHandler = None
            value = take()
        elif name == _T:
            parser.CharacterDataHandler = None
        elif name == _IS:
            inside_inline = False
            inline = take()
        elif name == _ROW:
            if number > last:
                last = number
                if filled:
                    ready.append((number, cells if wanted is None else values))
        elif name == _RPH:
            phonetic -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    for _ in _feed(parser, blocks):
        if ready:
            yield from ready
            ready.clear()
