"""What one imported file may hold, and the refusal of a file that holds more or cannot be read.

The limits are enforced while the file is read, never after: a file over one is refused
before it has taken the memory or the time it would need.

    FileRefused(reason, slug)       no row of the file is imported
     ├── 415  unsupported-file-type
     ├── 413  too-many-rows, too-large-json, too-long-line        (TOO_LARGE: over a limit)
     └── 422  empty-file, corrupt-file, missing-columns, duplicate-columns, wrong-municipality
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RefusalSlug = Literal[
    "empty-file", "unsupported-file-type", "corrupt-file", "missing-columns", "duplicate-columns", "wrong-municipality",
    "too-many-rows", "too-large-json", "too-long-line",
]
TOO_LARGE: frozenset[str] = frozenset({"too-many-rows", "too-large-json", "too-long-line"})


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
    # DDAS JSON is parsed whole: a delivery takes 5.4 times its size in memory, a hostile file
    # (a list of empty lists) 26 times. 5 MiB keeps either under 150 MB (some 14,000 signals).
    json_bytes: int = 5 * 1024 * 1024
