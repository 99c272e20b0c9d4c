"""Work handed to a thread of its own, one item at a time, so that it overlaps the caller's.

The import reads, checks and encrypts a chunk while the previous one is being written: the
database's round trips release the GIL (the driver waits on its socket), so the caller's Python
runs beside PostgreSQL. The work owns whatever it touches (the session, for the import) for as
long as the handoff is open: the caller must not use that meanwhile.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")


class _Done:
    """The end of the items."""


_DONE = _Done()


class Handoff(Generic[T]):
    """`work(item)` for each item `put`, in order, on one thread; used as a context manager.

    At most `depth` items wait while one is being worked on: `put` blocks beyond that, so memory
    stays bounded whatever the number of items. An exception of the work is raised again in the
    caller, by the next `put` or at the end of the `with`; the items after it are not worked on.
    Leaving the `with` (normally or by an exception) waits until the thread has stopped, so the
    caller has what the work touched to itself again; on an exception the items still waiting are
    dropped unworked. The thread runs in a copy of the caller's context (request id, metrics)."""

    def __init__(self, work: Callable[[T], None], *, depth: int = 1, name: str = "handoff") -> None:
        self._work = work
        self._queue: queue.Queue[T | _Done] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._dropping = False
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._run,), name=name, daemon=True)

    def __enter__(self) -> Handoff[T]:
        self._thread.start()
        return self

    def put(self, item: T) -> None:
        """Hand `item` over (waiting while `depth` items wait); raises what the work raised so far."""
        self._raise()
        self._queue.put(item)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc is not None:
            self._dropping = True
        self._queue.put(_DONE)
        self._thread.join()
        if exc is None:
            self._raise()

    def _run(self) -> None:
        while not isinstance(item := self._queue.get(), _Done):
            if self._error is not None or self._dropping:
                continue
            try:
                self._work(item)
            except BaseException as error:  # raised again in the caller's thread
                self._error = error

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error
