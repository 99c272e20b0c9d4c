"""Demo key files under var/: created exactly once, even by replicas that start together."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The file's content; when there is no file yet, `make()`'s, written so that one writer wins.

    Check-then-write lets two processes starting on an empty folder each write a key of their
    own: tokens signed by one replica are then refused by the other, and a BSN encrypted with
    the losing key is lost once the other file stays. Instead the new content goes to a private
    temporary file first (mode 0600, complete and flushed), which is then hard-linked into place:
    the link fails if the name exists, so exactly one writer's file appears, whole, and every
    loser reads the winner's. Readers never see a half-written file.
    """
    try:
        return path.read_text()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, staging = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")  # mode 0600
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(make())
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: use its key
            os.link(staging, path)
    finally:
        os.unlink(staging)
    return path.read_text()
