"""What one imported file may hold, and the refusal of a file that holds more or cannot be read.

The limits are enforced while the file is read, never after: a file over one is refused
before it has taken the memory or the time it would need.

    FileRefused(reason, slug)       no row of the file is imported
     ├── 415  unsupported-file-type
     ├── 413  too-long-line                        (TOO_LARGE: over a limit)
     └── 422  empty-file, corrupt-file, missing-columns, duplicate-columns, wrong-municipality
"""

from __future__ import annotations

from typing import Literal

RefusalSlug = Literal[
    "empty-file", "unsupported-file-type", "corrupt-file", "missing-columns", "duplicate-columns", "wrong-municipality",
    "too-long-line",
]
TOO_LARGE: frozenset[str] = frozenset({"too-long-line"})


class FileRefused(Exception):
    """The file as a whole cannot be read; no row of it is imported."""

    def __init__(self, reason: str, *, slug: RefusalSlug) -> None:
        super().__init__(reason)
        self.reason = reason
        self.slug = slug
