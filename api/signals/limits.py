"""What one imported file may hold, and the refusal of a file that holds more or cannot be read.

The limits are enforced while the file is read, never after: a file over one is refused
before it has taken the memory or the time it would need.

    FileRefused(reason, slug)       no row of the file is imported
     ├── 415  unsupported-file-type
     ├── 413  too-many-rows, too-large-unpacked, too-large-shared-strings, too-large-json,
     │        too-long-line                                          (TOO_LARGE: over a limit)
     └── 422  empty-file, corrupt-file, missing-columns, duplicate-columns, wrong-municipality
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RefusalSlug = Literal[
    "empty-file",
    "unsupported-file-type",
    "corrupt-file",
    "missing-columns",
    "duplicate-columns",
    "wrong-municipality",
    "too-many-rows",
    "too-large-unpacked",
    "too-large-shared-strings",
    "too-large-json",
    "too-long-line",
]
TOO_LARGE: frozenset[str] = frozenset(
    {"too-many-rows", "too-large-unpacked", "too-large-shared-strings", "too-large-json", "too-long-line"}
)

# Of a cell, the xlsx reader keeps at most this many characters (after leading whitespace): more
# than any column's limit, so a longer value is an error of its row whatever its column.
CELL_CHARS = 1024


class FileRefused(Exception):
    """The file as a whole cannot be read; no row of it is imported."""

    def __init__(self, reason: str, *, slug: RefusalSlug) -> None:
        super().__init__(reason)
        self.reason = reason
        self.slug = slug


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """Per file. The defaults are the settings' defaults (`DOORSTEP_MAX_IMPORT_*`, see the README)."""

    # Rows with a value, counted while reading, in every format: a month's delivery for the largest
    # municipality is some 10,000 signals.
    rows: int = 500_000
    # XLSX: the decompressed bytes of the parts read, counted while decompressing. An export with
    # inline strings takes 1.1 KB a row (500,000 rows: 550 MB); a zip bomb gets no further than this.
    unpacked_bytes: int = 1024 * 1024 * 1024
    # XLSX: the shared-strings table, the one part held whole (cells refer to it by number): its
    # text in UTF-8 plus 9 bytes a string. 500,000 rows of a platform export need some 35 MB.
    shared_strings_bytes: int = 64 * 1024 * 1024
    # DDAS JSON is parsed whole: a delivery takes 5.4 times its size in memory, a hostile file
    # (a list of empty lists) 26 times. 5 MiB keeps either under 150 MB (some 14,000 signals).
    json_bytes: int = 5 * 1024 * 1024


class Overlong:
    """A cell longer than CELL_CHARS characters, of which only the beginning was read."""

    __slots__ = ("head",)

    def __init__(self, head: str) -> None:
        self.head = head

    def __str__(self) -> str:
        return self.head

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Overlong) and other.head == self.head

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Overlong({self.head[:20]!r}…)"
