"""SELECT statements of the feature store: a layer's columns and the conditions of a query.

Pure statement building (SQLAlchemy Core), no connection: :class:`~layers.store.FeatureStore`
runs them for :meth:`~layers.store.FeatureStore.query`, and
:class:`~layers.transaction.Transaction` for reads inside a transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, case, false, func, or_, select

from safemap.layers.backend import Backend
from safemap.layers.catalogue import Layer
from safemap.layers.errors import BadQuery
from safemap.layers.model import BBox, TimeRange
from safemap.layers.row_access import owner_clause
from safemap.layers.tables import Schema


def select_features(schema: Schema, backend: Backend, layer: Layer) -> Select[Any]:
    """Every field of ``layer`` in catalogue order, then the geometry bytes (spatial layers)."""
    t = schema.layers[layer.name]
    cols = [t.c[f.name] for f in layer.fields]
    if not layer.is_spatial:
        return select(*cols)
    return select(*cols, backend.geom_select(t.c.geom))


def where_clauses(
    schema: Schema,
    backend: Backend,
    layer: Layer,
    *,
    bbox: BBox | None = None,
    filters: Mapping[str, Sequence[Any]] | None = None,
    q: str | None = None,
    ids: Sequence[int] | None = None,
    time_range: TimeRange | None = None,
    owner: int | None = None,
    counties: Sequence[str] | None = None,
) -> list[Any]:
    """The conditions of a query on ``layer``, all of which a feature must meet.

    Parameters
    ----------
    bbox
        The geometry intersects it (lon/lat); :class:`BadQuery` for a layer without geometry.
    filters
        Field -> accepted typed values (``None`` matches an empty field).
    q
        Case-insensitive literal substring of ``name``.
    ids
        Feature ids.
    time_range
        Inclusive bounds on the layer's temporal field.
    owner
        An enterprise id: only that enterprise's rows (:mod:`layers.row_access`); a layer
        no enterprise owns then matches nothing.
    counties
        行政区划代码 the reader may see (row-level): only those counties' rows; ``None`` for all.
    """
    t = schema.layers[layer.name]
    where: list[Any] = []
    if owner is not None:
        clause = owner_clause(schema, layer, owner)
        where.append(clause if clause is not None else false())
    if counties is not None:
        where.append(t.c.county_code.in_(list(counties)))
    if bbox is not None:
        if not layer.is_spatial:
            raise BadQuery(f"bbox: {layer.label}没有几何图形，不能按范围查询")
        where.append(backend.bbox_clause(t, bbox))
    for name, values in (filters or {}).items():
        layer.field(name)
        non_null = [v for v in values if v is not None]
        conds = [t.c[name].in_(non_null)] if non_null else []
        if len(non_null) < len(values):
            conds.append(t.c[name].is_(None))
        where.append(or_(*conds))
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(func.lower(t.c.name).like(f"%{escaped.lower()}%", escape="\\"))
    if ids is not None:
        where.append(t.c.id.in_(list(ids)))
    if time_range is not None:
        col = t.c[layer.temporal]
        start, end = time_range
        if start is not None:
            where.append(col >= start)
        if end is not None:
            where.append(col <= end)
    return where


def parse_sort(layer: Layer, sort: str | None) -> list[tuple[str, bool]]:
    """``name,-updated_at`` as ``[(field, descending), …]``, each a field of ``layer``.

    :class:`BadQuery` (400) for an unknown field; the message names the layer's fields in Chinese.
    """
    keys: list[tuple[str, bool]] = []
    for part in (sort or "").split(","):
        part = part.strip()
        if not part:
            continue
        descending = part.startswith("-")
        name = part.lstrip("+-").strip()
        if not layer.has_field(name):
            known = "、".join(f"{f.label}（{f.name}）" for f in layer.fields)
            raise BadQuery(f"排序（sort）：{layer.label}图层没有字段 {name!r}，无法按其排序；可排序字段：{known}")
        keys.append((name, descending))
    return keys


def order_clauses(schema: Schema, layer: Layer, sort: Sequence[tuple[str, bool]] = ()) -> list[Any]:
    """ORDER BY terms for ``sort`` (see :func:`parse_sort`), then the id; empty values last.

    Enumerations sort in their display order (红 before 橙 …), not by code; the same on
    both backends (``NULLS LAST`` written as a leading ``IS NULL`` term).
    """
    t = schema.layers[layer.name]
    terms: list[Any] = []
    for name, descending in sort:
        col = t.c[name]
        f = layer.field(name)
        key: Any = col
        if f.enum is not None:
            key = case({code: i for i, code in enumerate(f.enum.codes)}, value=col, else_=len(f.enum.codes))
        terms.append(col.is_(None))
        terms.append(key.desc() if descending else key.asc())
    terms.append(t.c.id)
    return terms
