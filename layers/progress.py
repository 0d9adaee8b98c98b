"""Progress of long work (an import, the demo build, an OSM extract), for whoever shows it.

Library code marks its long loops with :func:`track` or :func:`stage`; nothing is shown
unless a caller installed a reporter with :func:`reporting` (the CLI does, drawing bars on a
terminal). The reporter lives in a context variable, so no function has to pass it on and
the HTTP server, which installs none, pays one lookup per loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol, TypeVar

T = TypeVar("T")


class Reporter(Protocol):
    """What shows progress: one stage at a time (a label and, when known, how many steps)."""

    def start(self, label: str, total: int | None) -> None:
        """A stage begins: ``label`` in Chinese, ``total`` steps (``None``: unknown)."""

    def advance(self, steps: int = 1) -> None:
        """``steps`` more steps of the current stage are done."""

    def finish(self) -> None:
        """The current stage is over."""


_reporter: ContextVar[Reporter | None] = ContextVar("safemap_progress", default=None)


def _nothing(steps: int = 1) -> None:
    return None


@contextmanager
def reporting(reporter: Reporter) -> Iterator[Reporter]:
    """Show the progress of the work done inside the ``with`` block with ``reporter``."""
    token = _reporter.set(reporter)
    try:
        yield reporter
    finally:
        _reporter.reset(token)


@contextmanager
def stage(label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A stage of long work; yields ``advance(steps=1)`` (a no-op when nobody shows progress)."""
    reporter = _reporter.get()
    if reporter is None:
        yield _nothing
        return
    reporter.start(label, total)
    try:
        yield reporter.advance
    finally:
        reporter.finish()


def track(items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``items`` as one stage, a step per item (``total`` defaults to ``len(items)``)."""
    if _reporter.get() is None:
        yield from items
        return
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with stage(label, total) as advance:
        for item in items:
            yield item
            advance(1)
