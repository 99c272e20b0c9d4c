"""XLSX workbooks: the first sheet, its first row the header."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from api.signals.limits import FileRefused, ImportLimits
from api.signals.parsing.base import _MAX_HEADER_CHARS, SignalFile, _map_header
from api.signals.parsing.columns import CANONICAL
from api.signals.parsing.rows import ParsedRow, _normalise
from api.signals.parsing.values import _raw_text
from api.signals.workbook import Workbook


class _XlsxFile(SignalFile):
    format = "xlsx"

    def __init__(self, data: BinaryIO, limits: ImportLimits) -> None:
        self._workbook = Workbook(data, limits=limits)
        self._limits = limits
        rows = self._workbook.rows()
        try:
            header = next(rows, None)
            if header is None:
                raise FileRefused("the workbook's first sheet is empty", slug="empty-file")
            names = [""] * max(header[1])
            for column, cell in header[1].items():
                names[column - 1] = "" if cell is None else _raw_text(cell).strip()
            if sum(map(len, names)) > _MAX_HEADER_CHARS:  # as for a CSV header: the report lists unknown names
                raise FileRefused("the first row is too long to be a header", slug="corrupt-file")
            positions, self.unknown_columns = _map_header(names)
            # Sheet column (A is 1) to place in CANONICAL order: the reader keeps no other cells.
            self._columns = {position + 1: CANONICAL.index(name) for name, position in positions.items()}
            if next(rows, None) is None:
                raise FileRefused("the workbook has a header but no signals", slug="empty-file")
        finally:
            rows.close()

    def _read(self) -> Iterator[ParsedRow]:
        rows = self._workbook.rows(self._columns, width=len(CANONICAL))
        next(rows)  # the header
        for number, values in rows:
            yield _normalise(values, number)
