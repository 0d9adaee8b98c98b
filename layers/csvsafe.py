"""CSV cells that a spreadsheet will not run as formulas (OWASP "CSV injection"), and back.

Excel, WPS and LibreOffice treat a cell whose text begins with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return as a formula: a contact ``=HYPERLINK("http://x/","点击")`` or
``+cmd|' /C calc'!A0`` typed into a layer would run on the PC that opens the export.
Every CSV the app writes (layer exports, report and coverage tables, the CLI's files)
goes through :func:`safe_cell` — through :func:`csv_writer` or :func:`safe_row` — which
prefixes such text with a single quote ``'``, the OWASP rule; spreadsheets show the
quote-prefixed text as text.

Only text is changed: numbers (``int``, ``float``, ``Decimal``, NumPy numbers) are written
as numbers, so a negative value such as ``-3.5`` stays ``-3.5``. Callers pass numeric
values as numbers, not as already formatted strings.

The import side (:mod:`safemap.layers.csvfiles`) applies :func:`restore_cell`, the inverse:
a cell of one or more ``'`` followed by one of those characters loses one ``'``. Export
also adds a ``'`` to text that already has that shape (``'=x`` is written ``''=x``), so an
export → import round trip gives back exactly the stored text, and a foreign file whose
cells begin with ``=`` (no quote) is read unchanged.
"""

from __future__ import annotations

import csv
import numbers
from collections.abc import Iterable
from typing import Any, Protocol

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""
QUOTE = "'"


class _Writer(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...


def _needs_quote(text: str) -> bool:
    return text.lstrip(QUOTE).startswith(TRIGGERS)


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell no spreadsheet runs: formula-like text gets a leading ``'``.

    Parameters
    ----------
    value
        A cell. ``None`` and numbers (``bool`` included) are returned as they are; any other
        value is taken as its text (``str(value)``).

    Returns
    -------
    Any
        ``value`` unchanged, or its text prefixed with ``'`` when the text (after any
        leading ``'``) begins with ``=``, ``+``, ``-``, ``@``, tab or carriage return.
    """
    if value is None or isinstance(value, numbers.Number):
        return value
    text = value if isinstance(value, str) else str(value)
    return QUOTE + text if _needs_quote(text) else text


def restore_cell(text: str) -> str:
    """The inverse of :func:`safe_cell` for a cell read back from CSV: drop the added ``'``."""
    if text.startswith(QUOTE) and _needs_quote(text):
        return text[1:]
    return text


def safe_row(row: Iterable[Any]) -> list[Any]:
    """Every cell of ``row`` through :func:`safe_cell`."""
    return [safe_cell(v) for v in row]


class SafeWriter:
    """A :func:`csv.writer` whose rows pass through :func:`safe_row` (header rows too)."""

    def __init__(self, writer: _Writer) -> None:
        self._writer = writer

    def writerow(self, row: Iterable[Any]) -> Any:
        """Write one row, neutralised."""
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write many rows, neutralised."""
        for row in rows:
            self.writerow(row)


def csv_writer(fh: Any, **fmtparams: Any) -> SafeWriter:
    """``csv.writer(fh, **fmtparams)`` that neutralises every cell; use it for every CSV written."""
    return SafeWriter(csv.writer(fh, **fmtparams))
