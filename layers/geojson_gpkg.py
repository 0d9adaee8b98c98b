"""A query page read for GeoJSON from a GeoPackage, without turning each value into a Python object first.

:meth:`~layers.store.FeatureStore.query` gives typed values: every DATETIME text parsed
to a ``datetime``, every 0/1 made a ``bool`` by SQLAlchemy's per-value result processors,
only for :mod:`layers.geojson` to write them back as text. For the GeoJSON answer
:func:`read_json_page` selects those columns as they are stored (``type_coerce``, so no
processor runs) and writes each distinct time once in the text orjson would give the
``datetime`` (``2024-05-01T08:00:00.123000+00:00``), so the answer is the same bytes.
Geometries are decoded in bulk as before.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Integer, Text, select, type_coerce

from safemap.layers.backend import Backend
from safemap.layers.catalogue import Field, Layer
from safemap.layers.model import Page
from safemap.layers.tables import Schema
from safemap.layers.transaction import Transaction


@functools.lru_cache(maxsize=8192)
def _time_text(stored: str) -> str:
    """Stored DATETIME text as orjson writes the aware UTC ``datetime`` the store reads from it."""
    value = dt.datetime.fromisoformat(stored).astimezone(dt.UTC)  # as layers.geopackage reads it
    return str(orjson.dumps(value)[1:-1].decode())


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _column(f: Field, col: Any) -> Any:
    if f.type == "datetime":
        return type_coerce(col, Text)
    if f.type == "bool":
        return type_coerce(col, Integer)
    if f.type == "date":
        return type_coerce(col, Text)  # stored as ISO text: what orjson writes for a date
    return col


def read_json_page(
    tx: Transaction,
    schema: Schema,
    backend: Backend,
    layer: Layer,
    where: Sequence[Any],
    order: Sequence[Any],
    limit: int,
    offset: int,
) -> Page:
    """The features of ``layer`` meeting ``where`` as a :class:`Page` for :mod:`layers.geojson` only.

    Times are the final text (not ``datetime``), so the page is for writing GeoJSON, not for computing.
    """
    t = schema.layers[layer.name]
    cols = [_column(f, t.c[f.name]) for f in layer.fields]
    if layer.is_spatial:
        cols.append(backend.geom_select(t.c.geom))
    stmt = select(*cols).where(*where).order_by(*order).offset(offset).limit(limit)
    result = tx.execute(stmt).cursor.fetchall()  # the driver's tuples: no Row objects, no processors
    names = [f.name for f in layer.fields]
    n = len(names)
    rows = [dict(zip(names, r, strict=False)) for r in result]  # zip stops at the fields (geometry last)
    for f in layer.fields:
        if f.type in ("bool", "datetime"):
            convert = _bool if f.type == "bool" else _time_text
            for row in rows:
                value = row[f.name]
                if value is not None:
                    row[f.name] = convert(value)
    if result and layer.is_spatial:
        geoms = backend.decode([r[n] for r in result])
    else:
        geoms = np.full(len(rows), None, dtype=object)
    if layer.children and rows:
        ids = select(t.c.id).where(*where).order_by(*order).offset(offset).limit(limit).scalar_subquery()
        tx.attach_children(layer, rows, ids)
    return Page(layer, rows, geoms)
