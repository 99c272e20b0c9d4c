"""What every format shares: the header mapping and SignalFile, the rows of an opened file."""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from typing import Any, BinaryIO

from api.signals.limits import FileRefused, ImportLimits
from api.signals.parsing.columns import CANONICAL, COLUMNS, EXPORT_NAMES, REQUIRED_COLUMNS
from api.signals.parsing.rows import ParsedRow

_SNIFF_BYTES = 64 * 1024  # how much of a file's start tells its format
_MAX_HEADER_CHARS = 64 * 1024


def _map_header(names: list[str]) -> tuple[dict[str, int], list[str]]:
    """The position of each recognised column by canonical name, and the unrecognised headers.

    Refuses a header without the required columns, or without any way to identify a household.
    """
    positions: dict[str, int] = {}
    unknown: list[str] = []
    duplicates: list[str] = []
    for position, name in enumerate(names):
        if not name:
            continue
        canonical = COLUMNS.get(name.lower())
        if canonical is None:
            unknown.append(name)
        elif canonical in positions:
            duplicates.append(name)
        else:
            positions[canonical] = position
    if duplicates:
        # Two columns for one field leave no way to tell which value is meant: refuse, don't guess.
        raise FileRefused("the header names these fields twice: " + ", ".join(duplicates), slug="duplicate-columns")
    missing = [EXPORT_NAMES[name] for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        raise FileRefused(
            "missing required columns: " + ", ".join(missing) + " (the first line must be the header)",
            slug="missing-columns",
        )
    if "bsn" not in positions and not ("postcode" in positions and "house_number" in positions):
        raise FileRefused(
            "missing columns to identify the household: bsn, or postcode and huisnummer", slug="missing-columns"
        )
    return positions, unknown


def _picker(positions: dict[str, int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """The values in CANONICAL order from a record padded to the header's width plus one empty
    value at the end, which stands in for the columns the file does not have."""
    return itemgetter(*(positions.get(name, -1) for name in CANONICAL))


def _too_many_rows(limit: int) -> FileRefused:
    return FileRefused(f"the file has more than {limit:,} rows, the import limit; split it", slug="too-many-rows")


class SignalFile(ABC):
    """An opened signal file whose header has been checked. Iterating reads the rows from the
    start of the file each time; do not interleave two iterations over one file."""

    format: str
    unknown_columns: list[str]
    _limits: ImportLimits

    def __iter__(self) -> Iterator[ParsedRow]:
        limit = self._limits.rows
        for count, row in enumerate(self._read(), 1):
            if count > limit:
                raise _too_many_rows(limit)
            yield row

    @abstractmethod
    def _read(self) -> Iterator[ParsedRow]:
        """The rows, checked, in the file's order."""


class _Borrowed(io.RawIOBase):
    """The caller's file as a raw stream that TextIOWrapper may close without closing the file."""

    def __init__(self, data: BinaryIO) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _text_stream(data: BinaryIO, encoding: str, *, raw: type[_Borrowed] = _Borrowed) -> io.TextIOWrapper:
    data.seek(0)
    return io.TextIOWrapper(io.BufferedReader(raw(data), 1 << 16), encoding=encoding, newline="")
